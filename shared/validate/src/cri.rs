//! Strict: containerd CRI configuration parts (`/etc/cri/conf.d/*.part`), which Talos merges
//! into containerd's CRI configuration on the node (a broken part breaks the container runtime,
//! not the image, so it is found here instead).
//!
//! A part must be TOML (the parser's message gives the line and column), set only keys under
//! `plugins."io.containerd.*"`, proxy plugins (`proxy_plugins.<name>` with a known `type` and an
//! absolute `address`) and the schema `version` (2 or 3), and every runtime it declares under
//! `plugins."io.containerd.cri.v1.runtime".containerd.runtimes.<name>` (or the containerd 1.x
//! `plugins."io.containerd.grpc.v1.cri".containerd.runtimes.<name>`) must be a table with a
//! `runtime_type` like `io.containerd.runc.v2` and, when it names one, an absolute
//! `options.BinaryName`. Findings name the file, the line and the key.

use toml::{Table, Value};

/// The directory Talos reads CRI configuration parts from, relative to the tree.
pub const CRI_PART_DIR: &str = "rootfs/etc/cri/conf.d/";

/// The plugin tables that hold containerd's runtimes (containerd 2, then containerd 1.x).
pub const RUNTIME_PLUGINS: &[&str] = &["io.containerd.cri.v1.runtime", "io.containerd.grpc.v1.cri"];

/// A file directly in [`CRI_PART_DIR`].
pub fn is_cri_part_path(path: &str) -> bool {
    path.strip_prefix(CRI_PART_DIR).is_some_and(|name| !name.is_empty() && !name.contains('/'))
}

/// The problems of one part (`name` is its file name, for messages), each with its line when
/// known.
pub fn check(name: &str, bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    if !name.ends_with(".part") {
        out.push(format!("{name}: Talos merges only `*.part` files of /etc/cri/conf.d, so this one is ignored"));
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        out.push(format!("{name}: not UTF-8 text, so not TOML"));
        return out;
    };
    let table: Table = match toml::from_str(text) {
        Ok(t) => t,
        Err(e) => {
            let line = e.span().map(|s| format!("line {}: ", line_at(text, s.start))).unwrap_or_default();
            out.push(format!("{name}: {line}not valid TOML: {}", e.message()));
            return out;
        }
    };
    if table.is_empty() {
        out.push(format!("{name}: sets no containerd keys"));
    }
    for (key, value) in &table {
        match key.as_str() {
            "plugins" => {}
            "proxy_plugins" => {
                check_proxy_plugins(name, text, value, &mut out);
                continue;
            }
            // containerd merges every imported file by its own schema version (2 or 3).
            "version" => {
                if !matches!(value.as_integer(), Some(2 | 3)) {
                    out.push(format!(
                        "{name}: line {}: `version` = {value} is not a containerd configuration version (2 or 3)",
                        line_of(text, key)
                    ));
                }
                continue;
            }
            _ => {
                out.push(format!(
                    "{name}: line {}: top-level key `{key}`: a CRI part sets containerd plugin keys (`plugins.\"io.containerd.…\"`, `proxy_plugins.<name>`, `version`)",
                    line_of(text, key)
                ));
                continue;
            }
        }
        let Some(plugins) = value.as_table() else {
            out.push(format!("{name}: line {}: `plugins` is not a table", line_of(text, "plugins")));
            continue;
        };
        for (plugin, config) in plugins {
            if !plugin.starts_with("io.containerd.") {
                out.push(format!(
                    "{name}: line {}: `plugins.\"{plugin}\"` is not a containerd plugin id (`io.containerd.<type>.<version>.<name>`)",
                    line_of(text, plugin)
                ));
                continue;
            }
            if RUNTIME_PLUGINS.contains(&plugin.as_str()) {
                check_runtimes(name, text, plugin, config, &mut out);
            }
        }
    }
    out
}

/// The `options.ConfigPath` of every runtime a part declares (a runtime's own configuration file,
/// such as gVisor's `runsc.toml`), as written. A part that does not parse names none.
pub fn config_paths(bytes: &[u8]) -> Vec<String> {
    let Some(table) = std::str::from_utf8(bytes).ok().and_then(|t| toml::from_str::<Table>(t).ok()) else {
        return Vec::new();
    };
    let plugins = table.get("plugins").and_then(Value::as_table);
    let runtimes = RUNTIME_PLUGINS
        .iter()
        .filter_map(|p| plugins?.get(*p)?.get("containerd")?.get("runtimes")?.as_table())
        .flat_map(|r| r.values());
    runtimes.filter_map(|spec| spec.get("options")?.get("ConfigPath")?.as_str().map(str::to_string)).collect()
}

/// The problems of a runtime's own configuration file that a part names as `ConfigPath`: it
/// must be TOML (its keys belong to the runtime, not to containerd).
pub fn check_runtime_config(name: &str, bytes: &[u8]) -> Vec<String> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return vec![format!("{name}: a runtime configuration (a part's `ConfigPath`) that is not UTF-8 text")];
    };
    match toml::from_str::<Table>(text) {
        Ok(_) => Vec::new(),
        Err(e) => {
            let line = e.span().map(|s| format!("line {}: ", line_at(text, s.start))).unwrap_or_default();
            vec![format!(
                "{name}: {line}a runtime configuration (a part's `ConfigPath`) that is not valid TOML: {}",
                e.message()
            )]
        }
    }
}

/// The kinds of proxy plugin containerd loads (`proxy_plugins.<name>.type`).
pub const PROXY_PLUGIN_TYPES: &[&str] = &["snapshot", "content", "sandbox", "diff"];

/// `proxy_plugins.<name>`: a plugin served by another process (a snapshotter such as stargz or
/// SOCI), each a table with a known `type` and an absolute `address` (its socket).
fn check_proxy_plugins(name: &str, text: &str, value: &Value, out: &mut Vec<String>) {
    let Some(plugins) = value.as_table() else {
        out.push(format!("{name}: line {}: `proxy_plugins` is not a table", line_of(text, "proxy_plugins")));
        return;
    };
    for (plugin, spec) in plugins {
        let key = format!("proxy_plugins.{plugin}");
        let line = line_of(text, &key);
        let Some(spec) = spec.as_table() else {
            out.push(format!("{name}: line {line}: `{key}` is not a table"));
            continue;
        };
        match spec.get("type").and_then(Value::as_str) {
            Some(t) if PROXY_PLUGIN_TYPES.contains(&t) => {}
            Some(t) => out.push(format!(
                "{name}: line {line}: `{key}.type` = \"{t}\" is not a proxy plugin type ({})",
                PROXY_PLUGIN_TYPES.join(", ")
            )),
            None => out.push(format!("{name}: line {line}: `{key}` has no `type`")),
        }
        match spec.get("address").and_then(Value::as_str) {
            Some(a) if a.starts_with('/') => {}
            Some(a) => {
                out.push(format!("{name}: line {line}: `{key}.address` = \"{a}\" is not an absolute socket path"))
            }
            None => out.push(format!("{name}: line {line}: `{key}` has no `address` (its socket)")),
        }
    }
}

/// `plugins."<plugin>".containerd.runtimes.*` of one runtime plugin table.
fn check_runtimes(name: &str, text: &str, plugin: &str, config: &Value, out: &mut Vec<String>) {
    let Some(runtimes) = config.get("containerd").and_then(|c| c.get("runtimes")) else { return };
    let prefix = format!("plugins.\"{plugin}\".containerd.runtimes");
    let Some(runtimes) = runtimes.as_table() else {
        out.push(format!("{name}: line {}: `{prefix}` is not a table", line_of(text, "runtimes")));
        return;
    };
    for (runtime, spec) in runtimes {
        let key = format!("{prefix}.{runtime}");
        let line = line_of(text, &format!("runtimes.{runtime}"));
        let Some(spec) = spec.as_table() else {
            out.push(format!("{name}: line {line}: `{key}` is not a table"));
            continue;
        };
        match spec.get("runtime_type") {
            None => {
                out.push(format!("{name}: line {line}: `{key}` has no `runtime_type` (e.g. `io.containerd.runc.v2`)"))
            }
            Some(Value::String(t)) if is_runtime_type(t) => {}
            Some(other) => out.push(format!(
                "{name}: line {}: `{key}.runtime_type` = {other} is not a shim name like `io.containerd.runc.v2`",
                line_of(text, "runtime_type")
            )),
        }
        if let Some(binary) = spec.get("options").and_then(|o| o.get("BinaryName"))
            && !binary.as_str().is_some_and(|b| b.starts_with('/'))
        {
            out.push(format!(
                "{name}: line {}: `{key}.options.BinaryName` = {binary} is not an absolute path",
                line_of(text, "BinaryName")
            ));
        }
    }
}

/// `io.containerd.<name>.v<N>`: how containerd names a shim (`containerd-shim-<name>-v<N>`).
fn is_runtime_type(t: &str) -> bool {
    let Some(rest) = t.strip_prefix("io.containerd.") else { return false };
    let Some((shim, version)) = rest.rsplit_once(".v") else { return false };
    !shim.is_empty()
        && shim.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !version.is_empty()
        && version.bytes().all(|b| b.is_ascii_digit())
}

/// The 1-based line of byte offset `at`.
fn line_at(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// The 1-based line where `needle` first appears (the line of its key), or 1.
fn line_of(text: &str, needle: &str) -> usize {
    text.find(needle).map(|at| line_at(text, at)).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CRUN: &str = "[plugins]\n  [plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.crun]\n    runtime_type = \"io.containerd.runc.v2\"\n    [plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.crun.options]\n      BinaryName = \"/usr/local/bin/crun\"\n";

    #[test]
    fn cri_part_paths() {
        assert!(is_cri_part_path("rootfs/etc/cri/conf.d/10-crun.part"));
        assert!(!is_cri_part_path("rootfs/etc/cri/conf.d/sub/10-crun.part"));
        assert!(!is_cri_part_path("rootfs/etc/cri/conf.d/"));
        assert!(!is_cri_part_path("rootfs/usr/local/etc/cri/conf.d/x.part"));
    }

    #[test]
    fn a_runtime_part_passes() {
        assert_eq!(check("10-crun.part", CRUN.as_bytes()), Vec::<String>::new());
        let v1 = "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.spin]\nruntime_type = \"io.containerd.spin.v2\"\n";
        assert_eq!(check("10-spin.part", v1.as_bytes()), Vec::<String>::new());
    }

    #[test]
    fn broken_parts_are_named_with_line_and_key() {
        let broken = CRUN.replace("runtime_type = \"io.containerd.runc.v2\"", "runtime_type = \"io.containerd.runc.v2");
        let found = check("10-crun.part", broken.as_bytes());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("10-crun.part: line 3: not valid TOML"), "{found:?}");

        let no_type = CRUN.replace("runtime_type", "runtime_typ");
        let found = check("10-crun.part", no_type.as_bytes());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("line 2:")
                && found[0].contains(
                    "`plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.crun` has no `runtime_type`"
                ),
            "{found:?}"
        );

        let bad = CRUN.replace("io.containerd.runc.v2", "runc").replace("/usr/local/bin/crun", "crun");
        let found = check("10-crun.part", bad.as_bytes());
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("line 3:") && found[0].contains("\"runc\" is not a shim name"), "{found:?}");
        assert!(found[1].contains("line 5:") && found[1].contains("BinaryName` = \"crun\" is not an absolute path"));

        let found = check("crun.toml", b"version = 4\n[debug]\nlevel = \"info\"\n");
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("only `*.part`"), "{found:?}");
        assert!(found[1].contains("line 2: top-level key `debug`"), "{found:?}");
        assert!(found[2].contains("line 1: `version` = 4 is not a containerd configuration version"), "{found:?}");

        // A proxy snapshotter (stargz, SOCI): a known type and an absolute socket.
        let soci = "version = 3\n[proxy_plugins.soci]\n  type = \"snapshot\"\n  address = \"/run/soci/soci.sock\"\n\
                    [proxy_plugins.soci.exports]\n  root = \"/var/lib/soci/\"\n";
        assert_eq!(check("10-soci.part", soci.as_bytes()), Vec::<String>::new());
        let bad = soci.replace("\"snapshot\"", "\"snapshotter\"").replace("/run/soci/soci.sock", "soci.sock");
        let found = check("10-soci.part", bad.as_bytes());
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("line 2:") && found[0].contains("`proxy_plugins.soci.type` = \"snapshotter\""));
        assert!(found[1].contains("`proxy_plugins.soci.address` = \"soci.sock\" is not an absolute socket path"));
        let found = check("10-soci.part", b"[proxy_plugins.soci]\n");
        assert!(found.iter().any(|f| f.contains("has no `type`")) && found.iter().any(|f| f.contains("no `address`")));

        let found = check("x.part", b"[plugins.cri]\nfoo = 1\n");
        assert!(found[0].contains("`plugins.\"cri\"` is not a containerd plugin id"), "{found:?}");
        assert_eq!(check("x.part", b""), ["x.part: sets no containerd keys"]);
    }

    #[test]
    fn the_strict_validator_reports_a_broken_part_with_its_file() {
        use crate::{Entry, Options, Rule, Tree, validate};
        let manifest = "version: v1alpha1\nmetadata:\n  name: crun\n  version: 1.29\n  author: a\n  description: d\n";
        let tree = |part: &str| {
            Tree::from_entries(vec![
                Entry::file("manifest.yaml", 0o644, manifest.as_bytes()),
                Entry::dir("rootfs", 0o755),
                Entry::dir("rootfs/etc", 0o755),
                Entry::dir("rootfs/etc/cri", 0o755),
                Entry::dir("rootfs/etc/cri/conf.d", 0o755),
                Entry::file("rootfs/etc/cri/conf.d/10-crun.part", 0o644, part.as_bytes()),
            ])
        };
        let opts = |strict| Options { strict, pkg_name: None, talos_version: "v1.14.0".into(), kernel: None };
        assert!(validate(&tree(CRUN), &opts(true)).is_ok(), "{}", validate(&tree(CRUN), &opts(true)));
        let broken = tree("[plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.crun\n");
        assert!(validate(&broken, &opts(false)).is_ok(), "Talos' own rules do not read CRI parts");
        let report = validate(&broken, &opts(true));
        assert_eq!(report.findings.len(), 1, "{report}");
        let f = &report.findings[0];
        assert_eq!((f.rule, f.path.as_str()), (Rule::CriPart, "/etc/cri/conf.d/10-crun.part"));
        assert!(f.message.starts_with("10-crun.part: line 1: not valid TOML"), "{}", f.message);
    }

    #[test]
    fn a_runtime_configuration_a_part_names_is_checked_as_such() {
        use crate::{Entry, Options, Rule, Tree, validate};
        let manifest =
            "version: v1alpha1\nmetadata:\n  name: gvisor\n  version: 1.0.0\n  author: a\n  description: d\n";
        let part = "[plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.runsc]\n  runtime_type = \"io.containerd.runsc.v1\"\n[plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.runsc.options]\n  TypeUrl = \"io.containerd.runsc.v1.options\"\n  ConfigPath = \"/etc/cri/conf.d/runsc.toml\"\n";
        assert_eq!(config_paths(part.as_bytes()), ["/etc/cri/conf.d/runsc.toml"]);
        let tree = |files: &[(&str, &str)]| {
            let mut entries = vec![
                Entry::file("manifest.yaml", 0o644, manifest.as_bytes()),
                Entry::dir("rootfs", 0o755),
                Entry::dir("rootfs/etc", 0o755),
                Entry::dir("rootfs/etc/cri", 0o755),
                Entry::dir("rootfs/etc/cri/conf.d", 0o755),
            ];
            for (name, text) in files {
                entries.push(Entry::file(&format!("rootfs/etc/cri/conf.d/{name}"), 0o644, text.as_bytes()));
            }
            Tree::from_entries(entries)
        };
        let opts = Options { strict: true, pkg_name: None, talos_version: "v1.14.0".into(), kernel: None };
        let good = tree(&[("10-gvisor.part", part), ("runsc.toml", "[runsc_config]\n  platform = \"kvm\"\n")]);
        assert!(validate(&good, &opts).is_ok(), "{}", validate(&good, &opts));

        let missing = validate(&tree(&[("10-gvisor.part", part)]), &opts);
        assert_eq!(missing.findings.len(), 1, "{missing}");
        let f = &missing.findings[0];
        assert_eq!((f.rule, f.path.as_str()), (Rule::CriPart, "/etc/cri/conf.d/10-gvisor.part"));
        assert!(
            f.message.contains("names /etc/cri/conf.d/runsc.toml, which the extension does not ship"),
            "{}",
            f.message
        );

        let broken = validate(&tree(&[("10-gvisor.part", part), ("runsc.toml", "[runsc_config\n")]), &opts);
        assert_eq!(broken.findings.len(), 1, "{broken}");
        assert!(broken.findings[0].message.starts_with("runsc.toml: line 1: a runtime configuration"), "{broken}");

        // Not named by any part: an ignored file, as before.
        let stray = validate(&tree(&[("runsc.toml", "[runsc_config]\n")]), &opts);
        assert!(stray.findings.iter().any(|f| f.message.contains("only `*.part`")), "{stray}");
    }
}
