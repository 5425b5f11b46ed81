//! The rules themselves: [`validate`] runs them over a [`Tree`] in extensions-validator's order
//! (layout and manifest, package name, version format, service specs, compatibility, contents),
//! collecting every finding instead of stopping at the first.
//!
//! Messages are Talos' own where Talos has one (`unexpected file "etc"`, `path "/x" is not allowed
//! in extensions`, ...). Content rules see each entry under `rootfs/` as Talos does, as `/` + its
//! path relative to `rootfs`.

use std::borrow::Cow;
use std::convert::Infallible;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use talos_ext_model::constraint::{Constraint, TalosVersion};
use talos_ext_model::yaml_keys::{Schema, unknown_keys};
use talos_ext_model::{MANIFEST_VERSION, Manifest};

use crate::modules::{self, KernelExpectation};
use crate::report::{Finding, Report, Rule};
use crate::tree::{self, Entry, EntryKind, Error, Stat, Tree};
use crate::{go_quote, service};

/// Talos' `AllowedPaths` (`pkg/machinery/extensions/extensions.go`), in source order. Talos
/// matches them with a bare string prefix test.
pub const ALLOWED_PATHS: &[&str] = &[
    "/etc/cri/conf.d",
    "/usr/lib/firmware",
    "/usr/lib/modules",
    "/usr/lib/ld-linux-x86-64.so.2",
    "/usr/lib/ld-linux-aarch64.so.1",
    "/usr/bin/ldconfig",
    "/etc/ld.so.conf",
    "/etc/ld.so.cache",
    "/usr/bin/nvidia-modprobe",
    "/usr/bin/nvidia-pcc",
    "/usr/bin/nvidia-smi",
    "/usr/bin/nvidia-ctk",
    "/usr/bin/nvidia-cdi-hook",
    "/usr/bin/nvme",
    "/usr/lib/udev/rules.d",
    "/usr/local",
    "/usr/share/glvnd",
    "/usr/share/egl",
    "/etc/vulkan",
];

/// How to validate. There is deliberately no `Default`: the caller decides every field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Also run the strict-only rules.
    pub strict: bool,
    /// `metadata.name` must equal this (extensions-validator's `--pkg-name`); `None` or empty skips.
    pub pkg_name: Option<String>,
    /// The Talos tag the compatibility constraint is checked against, e.g. `v1.14.0-beta.1`.
    pub talos_version: String,
    /// The kernel the modules under `/usr/lib/modules` must match (strict mode; see
    /// [`crate::modules`]). `None` still checks, in strict mode, that module signatures are
    /// well-formed and that all modules share one release directory.
    pub kernel: Option<KernelExpectation>,
}

/// Runs every rule over the tree. The module checks read the kept contents of each `.ko`
/// ([`Tree::from_dir_with`] / [`Tree::from_tar_with`] with [`modules::is_module_path`]); a
/// module whose contents were not kept is a finding.
pub fn validate(tree: &Tree, opts: &Options) -> Report {
    match validate_with(tree, opts, |entry| Ok::<_, Infallible>(entry.contents.as_deref().map(Cow::Borrowed))) {
        Ok(report) => report,
        Err(never) => match never {},
    }
}

/// [`validate`], with `read` supplying module bytes on demand.
fn validate_with<E>(
    tree: &Tree,
    opts: &Options,
    read: impl for<'e> FnMut(&'e Entry) -> Result<Option<Cow<'e, [u8]>>, E>,
) -> Result<Report, E> {
    let mut out = Findings::default();
    let manifest = check_layout_and_manifest(tree, opts.strict, &mut out);
    if let Some(manifest) = &manifest {
        check_metadata(manifest, opts, &mut out);
    }
    check_service_specs(tree, opts.strict, &mut out);
    if let Some(manifest) = &manifest {
        check_compatibility(manifest, opts, &mut out);
    }
    check_contents(tree, opts.strict, &mut out);
    if opts.strict {
        for path in tree.duplicates() {
            out.push(
                display_path(path),
                Rule::DuplicateEntry,
                format!("duplicate tar entry {}: only the first one is kept when layers are flattened", go_quote(path)),
            );
        }
        check_cri_parts(tree, &mut out);
        modules::check(tree, opts.kernel.as_ref(), read, &mut out)?;
    }
    Ok(Report { findings: out.0 })
}

/// Reads a directory holding `manifest.yaml` + `rootfs/` and validates it.
///
/// It reads what the rules need and no more: the directory listings, `manifest.yaml` and the
/// service specs; in strict mode also each entry's mode and link count (one `lstat` relative to
/// its open directory), and each module when it is checked (dropped afterwards, so at most one is
/// in memory). Talos' own rules look only at types and paths, so without `strict` nothing is
/// `lstat`ed.
pub fn validate_dir(path: &Path, opts: &Options) -> Result<Report, Error> {
    let stat = if opts.strict { Stat::Full } else { Stat::TypesOnly };
    let tree = Tree::from_dir_reading(path, &|_| false, stat)?;
    validate_with(&tree, opts, |entry| {
        if let Some(kept) = entry.contents.as_deref() {
            return Ok(Some(Cow::Borrowed(kept)));
        }
        let file = path.join(&entry.path);
        std::fs::read(&file).map(|bytes| Some(Cow::Owned(bytes))).map_err(|cause| Error::Io { path: file, cause })
    })
}

/// Reads an uncompressed tar stream of `manifest.yaml` + `rootfs/` and validates it. In strict
/// mode the tree keeps the contents of every `.ko` for the module checks.
pub fn validate_tar(reader: impl std::io::Read, opts: &Options) -> Result<Report, Error> {
    let tree = Tree::from_tar_with(reader, &|path| opts.strict && modules::is_module_path(path))?;
    Ok(validate(&tree, opts))
}

#[derive(Default)]
pub(crate) struct Findings(Vec<Finding>);

impl Findings {
    pub(crate) fn push(&mut self, path: impl Into<String>, rule: Rule, message: impl Into<String>) {
        self.0.push(Finding { path: path.into(), rule, message: message.into() });
    }
}

const MANIFEST: &str = "manifest.yaml";
const ROOTFS: &str = "rootfs";

/// A tree path as findings show it: in-rootfs paths absolute, others as they are.
pub(crate) fn display_path(path: &str) -> String {
    if path == ROOTFS {
        "/".to_string()
    } else if let Some(rest) = path.strip_prefix("rootfs/") {
        format!("/{rest}")
    } else {
        path.to_string()
    }
}

/// Talos' `Load`: the top level, then the manifest and its version (and, strict, its keys).
/// Returns the manifest when it parses.
fn check_layout_and_manifest(tree: &Tree, strict: bool, out: &mut Findings) -> Option<Manifest> {
    let mut manifest_entry = None;
    let mut rootfs_seen = false;
    for entry in tree.entries().iter().filter(|e| !e.path.contains('/')) {
        match entry.path.as_str() {
            MANIFEST => {
                if matches!(entry.kind, EntryKind::File | EntryKind::Hardlink(_)) {
                    manifest_entry = Some(entry);
                } else {
                    out.push(MANIFEST, Rule::Layout, "manifest.yaml is not a regular file");
                }
            }
            ROOTFS => {
                rootfs_seen = true;
                if entry.kind != EntryKind::Dir {
                    out.push(ROOTFS, Rule::Layout, "rootfs is not a directory");
                }
            }
            name => out.push(name, Rule::Layout, format!("unexpected file {}", go_quote(name))),
        }
    }
    if manifest_entry.is_none() && tree.get(MANIFEST).is_none() {
        out.push(MANIFEST, Rule::Layout, "extension manifest is missing");
    }
    if !rootfs_seen {
        out.push(ROOTFS, Rule::Layout, "extension rootfs is missing");
    }

    let entry = manifest_entry?;
    let Some(bytes) = entry.contents.as_deref() else {
        out.push(MANIFEST, Rule::ManifestParse, "the contents of manifest.yaml were not read");
        return None;
    };
    let manifest = match std::str::from_utf8(bytes) {
        Err(e) => Err(format!("manifest.yaml is not UTF-8: {e}")),
        Ok(text) => Manifest::parse(text).map(|m| (m, text)).map_err(|e| e.to_string()),
    };
    match manifest {
        Err(message) => {
            out.push(MANIFEST, Rule::ManifestParse, message);
            None
        }
        Ok((manifest, text)) => {
            if strict {
                check_keys(MANIFEST, text, &Manifest::SCHEMA, out);
            }
            if manifest.version != MANIFEST_VERSION {
                out.push(
                    MANIFEST,
                    Rule::ManifestVersion,
                    format!("unsupported manifest version: {}", go_quote(&manifest.version)),
                );
            }
            Some(manifest)
        }
    }
}

/// extensions-validator's `--pkg-name` and version checks.
fn check_metadata(manifest: &Manifest, opts: &Options, out: &mut Findings) {
    let meta = &manifest.metadata;
    if let Some(pkg) = opts.pkg_name.as_deref().filter(|p| !p.is_empty() && *p != meta.name) {
        out.push(MANIFEST, Rule::PkgName, format!("pkg name does not match extension name: {pkg} != {}", meta.name));
    }
    if !version_format_ok(&meta.version) {
        out.push(
            MANIFEST,
            Rule::VersionFormat,
            format!("invalid version format {} for extension: {}", meta.version, meta.name),
        );
    }
}

/// extensions-validator's five version patterns, with Go's ASCII-only `\d` spelled `[0-9]`.
static VERSION_PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    const PRE: &str = r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?";
    const BUILD_ARG_TAIL: &str = r"(-([0-9]+)-g([0-9a-f]+)(-dirty)?)?";
    [
        format!(r"^v?([0-9]+\.[0-9]+\.[0-9]+{PRE})$"),
        r"^[0-9]{8}(\.[0-9])?$".to_string(),
        format!(r"^([0-9]+\.[0-9]+\.[0-9]+)-v([0-9]+\.[0-9]+\.[0-9]+{PRE}){BUILD_ARG_TAIL}$"),
        format!(r"^([0-9a-f]+)-v([0-9]+\.[0-9]+\.[0-9]+{PRE}){BUILD_ARG_TAIL}$"),
        r"^v?([0-9]+\.[0-9]+)$".to_string(),
    ]
    .iter()
    .map(|p| Regex::new(p).expect("the version patterns are valid regexes"))
    .collect()
});

/// Whether `metadata.version` matches one of extensions-validator's patterns.
pub fn version_format_ok(version: &str) -> bool {
    VERSION_PATTERNS.iter().any(|re| re.is_match(version))
}

/// Talos' `validateConstraints`: an empty constraint is no constraint.
fn check_compatibility(manifest: &Manifest, opts: &Options, out: &mut Findings) {
    let text = &manifest.metadata.compatibility.talos.version;
    if text.is_empty() {
        return;
    }
    let constraint = match Constraint::parse(text) {
        Ok(c) => c,
        Err(e) => {
            out.push(
                MANIFEST,
                Rule::ConstraintInvalid,
                format!("error parsing Talos version constraint: {}", e.message),
            );
            return;
        }
    };
    match TalosVersion::parse(&opts.talos_version) {
        Err(e) => out.push(MANIFEST, Rule::ConstraintUnsatisfied, format!("cannot check compatibility: {e}")),
        Ok(talos) => {
            if let Err(e) = constraint.check(&talos) {
                out.push(MANIFEST, Rule::ConstraintUnsatisfied, e.to_string());
            }
        }
    }
}

/// Every `rootfs/usr/local/etc/containers/*.yaml`: decode, then `Validate()` (and, strict, the
/// keys).
fn check_service_specs(tree: &Tree, strict: bool, out: &mut Findings) {
    for entry in tree.entries().iter().filter(|e| tree::is_service_spec_path(&e.path)) {
        let path = display_path(&entry.path);
        let base = entry.path.rsplit('/').next().unwrap_or_default();
        let bytes = match (&entry.kind, entry.contents.as_deref()) {
            (_, Some(bytes)) => bytes,
            (EntryKind::Dir, None) => {
                out.push(&path, Rule::ServiceSpec, format!("error reading service spec file {path}: is a directory"));
                continue;
            }
            (EntryKind::Symlink(target), None) => {
                let message = format!("error reading service spec file {path}: symlink to {target} is not followed");
                out.push(&path, Rule::ServiceSpec, message);
                continue;
            }
            (_, None) => {
                out.push(
                    &path,
                    Rule::ServiceSpec,
                    format!("error reading service spec file {path}: not a regular file"),
                );
                continue;
            }
        };
        match service::parse(bytes) {
            Err(e) => out.push(&path, Rule::ServiceSpec, format!("error unmarshalling service spec file {base}: {e}")),
            Ok(spec) => {
                for e in service::check(&spec) {
                    out.push(&path, Rule::ServiceSpec, format!("error validating service spec file {base}: {e}"));
                }
                // It parsed, so it is UTF-8.
                if strict && let Ok(text) = std::str::from_utf8(bytes) {
                    check_keys(&path, text, &service::SCHEMA, out);
                }
            }
        }
    }
}

/// Strict: the containerd CRI configuration parts ([`crate::cri`]), one finding per problem. A
/// file beside them that a part names as a runtime's `options.ConfigPath` (gVisor's
/// `runsc.toml`) is that runtime's configuration, not a part: it must be TOML, and a
/// `ConfigPath` in this directory must name a file the tree ships.
fn check_cri_parts(tree: &Tree, out: &mut Findings) {
    let mut config_paths = Vec::new();
    for entry in tree.entries().iter().filter(|e| crate::cri::is_cri_part_path(&e.path) && e.path.ends_with(".part")) {
        if let Some(bytes) = entry.contents.as_deref() {
            for config in crate::cri::config_paths(bytes) {
                config_paths.push((display_path(&entry.path), config));
            }
        }
    }
    for entry in tree.entries().iter().filter(|e| crate::cri::is_cri_part_path(&e.path)) {
        let path = display_path(&entry.path);
        let name = entry.path.rsplit('/').next().unwrap_or_default();
        let referenced = config_paths.iter().any(|(_, c)| c.as_str() == path);
        let problems = match (&entry.kind, entry.contents.as_deref()) {
            (EntryKind::Dir, _) => continue,
            (_, Some(bytes)) if referenced => crate::cri::check_runtime_config(name, bytes),
            (_, Some(bytes)) => crate::cri::check(name, bytes),
            (kind, None) => vec![format!("{name}: a CRI part must be a regular file, not {kind:?}")],
        };
        for problem in problems {
            out.push(&path, Rule::CriPart, problem);
        }
    }
    for (part, config) in &config_paths {
        let in_dir = config.strip_prefix(crate::cri::CRI_PART_DIR.trim_start_matches("rootfs")).is_some();
        let shipped = tree.entries().iter().any(|e| display_path(&e.path) == *config && e.contents.is_some());
        if in_dir && !shipped {
            out.push(
                part,
                Rule::CriPart,
                format!("a runtime's `options.ConfigPath` names {config}, which the extension does not ship"),
            );
        }
    }
}

/// Strict: every key of a YAML file that Talos' schema does not have, each with its path and
/// line. Talos decodes these files leniently, so such a key is dropped without a word.
fn check_keys(file: &str, text: &str, schema: &Schema, out: &mut Findings) {
    let keys = match unknown_keys(text, schema) {
        Ok(keys) => keys,
        Err(e) => {
            out.push(file, Rule::UnknownKey, e.to_string());
            return;
        }
    };
    for key in keys {
        let at = match key.position {
            Some((line, column)) => format!("line {line}, column {column}: "),
            None => String::new(),
        };
        let hint = match closest(&key.key, &key.allowed) {
            Some(known) => format!("; hint: did you mean {}?", go_quote(known)),
            None => String::new(),
        };
        out.push(
            file,
            Rule::UnknownKey,
            format!(
                "{at}unknown key {}: Talos ignores it, so its setting is silently dropped (keys allowed there: {}){hint}",
                go_quote(&key.path),
                key.allowed.join(", ")
            ),
        );
    }
}

/// The allowed key a misspelt one most likely meant: the nearest by edit distance (ignoring case),
/// if it is near enough.
fn closest<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let key = key.to_lowercase();
    allowed
        .iter()
        .map(|known| (edit_distance(&key, &known.to_lowercase()), *known))
        .filter(|(d, known)| *d <= (known.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, known)| known)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != *cb)).min(row[j] + 1).min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Talos' `validateContents` plus the strict content rules. Per entry this is string work on
/// the path and the kept metadata only: no allocation unless there is a finding.
fn check_contents(tree: &Tree, strict: bool, out: &mut Findings) {
    if tree.get(ROOTFS).is_none_or(|e| e.kind != EntryKind::Dir) {
        return;
    }
    let in_rootfs = |e: &&Entry| e.path == ROOTFS || e.path.starts_with("rootfs/");
    for entry in tree.entries().iter().filter(in_rootfs) {
        let path = rootfs_path(&entry.path);
        if entry.kind == EntryKind::Dir {
            if strict && entry.mode & 0o002 != 0 {
                out.push(
                    path,
                    Rule::WorldWritable,
                    format!("world-writeable directories are not allowed: {}", go_quote(path)),
                );
            }
            continue;
        }

        // Symlink permissions mean nothing on Linux (always 0777).
        let is_symlink = matches!(entry.kind, EntryKind::Symlink(_));
        if strict && !is_symlink && entry.mode & 0o002 != 0 {
            out.push(path, Rule::WorldWritable, format!("world-writeable files are not allowed: {}", go_quote(path)));
        }
        if entry.kind.is_special() {
            out.push(path, Rule::SpecialFile, format!("special files are not allowed: {}", go_quote(path)));
        }

        if !ALLOWED_PATHS.iter().any(|a| path.starts_with(a)) {
            out.push(path, Rule::PathNotAllowed, format!("path {} is not allowed in extensions", go_quote(path)));
        } else if strict && !is_allowed(path) {
            let lookalike = ALLOWED_PATHS.iter().find(|a| path.starts_with(**a)).copied().unwrap_or_default();
            out.push(
                path,
                Rule::AllowlistBoundary,
                format!(
                    "path {} matches allowed path {} only as a string prefix, not on a path component boundary",
                    go_quote(path),
                    go_quote(lookalike)
                ),
            );
        }

        if !strict {
            continue;
        }
        match &entry.kind {
            EntryKind::Hardlink(target) => out.push(
                path,
                Rule::Hardlink,
                format!("hardlinks are not allowed: {} links to {}", go_quote(path), go_quote(&display_path(target))),
            ),
            EntryKind::File if entry.nlink > 1 => out.push(
                path,
                Rule::Hardlink,
                format!("hardlinks are not allowed: {} has {} links", go_quote(path), entry.nlink),
            ),
            EntryKind::Symlink(target) => check_symlink(path, target, out),
            _ => {}
        }
        if matches!(entry.kind, EntryKind::File | EntryKind::Hardlink(_)) && entry.mode & 0o6000 != 0 {
            out.push(
                path,
                Rule::Setuid,
                format!("setuid/setgid files are not allowed: {} (mode {:04o})", go_quote(path), entry.mode),
            );
        }
    }
}

/// An in-rootfs tree path as Talos sees it, borrowed: `rootfs` is `/`, `rootfs/usr/x` is `/usr/x`.
fn rootfs_path(path: &str) -> &str {
    if path == ROOTFS { "/" } else { &path[ROOTFS.len()..] }
}

/// The strict symlink rules. A target is resolved lexically (as Go's `filepath.Clean` would,
/// without following other links), relative ones from the link's directory:
///
/// - a relative target that climbs above the rootfs is [`Rule::SymlinkEscape`];
/// - any other target, relative or absolute, that lands outside the allowed hierarchies (on a
///   component boundary) is [`Rule::SymlinkTarget`]: on the node the extension is overlaid on `/`,
///   so `/usr/local/redir -> /etc` and `/usr/local/redir -> ../../etc` both open the host's own
///   `/etc`, which no extension may ship. Every link is checked on its own, so a chain that leaves
///   the allowed paths is caught at the link that leaves.
///
/// Inside a service's container rootfs (`/usr/local/lib/containers/<name>/...`) an absolute
/// target resolves against the container's root, where the service follows it, so it stays in
/// the extension; relative targets there are resolved like any other.
fn check_symlink(link: &str, target: &str, out: &mut Findings) {
    let Some(resolved) = resolve_symlink(link, target) else {
        out.push(
            link,
            Rule::SymlinkEscape,
            format!("symlink {} -> {} escapes the extension rootfs", go_quote(link), go_quote(target)),
        );
        return;
    };
    if target.starts_with('/') && container_root(link).is_some() {
        return;
    }
    if !is_allowed(&resolved) {
        let resolves =
            if resolved == target { String::new() } else { format!(" resolves to {},", go_quote(&resolved)) };
        out.push(
            link,
            Rule::SymlinkTarget,
            format!(
                "symlink {} -> {}{resolves} points outside the paths an extension may ship: on the node it opens the host's own {resolved}; hint: point it into /usr/local (or another allowed path), or ship the file itself",
                go_quote(link),
                go_quote(target),
            ),
        );
    }
}

/// `path` is an allowed path or below one, on a component boundary.
fn is_allowed(path: &str) -> bool {
    ALLOWED_PATHS.iter().any(|a| on_boundary(path, a))
}

/// `path` is `allowed` or below it.
fn on_boundary(path: &str, allowed: &str) -> bool {
    path.strip_prefix(allowed).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The container rootfs a path is in: `/usr/local/lib/containers/<name>` for paths below it.
fn container_root(path: &str) -> Option<&str> {
    const CONTAINERS: &str = "/usr/local/lib/containers/";
    let rest = path.strip_prefix(CONTAINERS)?;
    let (name, _) = rest.split_once('/')?;
    Some(&path[..CONTAINERS.len() + name.len()])
}

/// The absolute in-rootfs path a symlink at the absolute in-rootfs `link` points to, cleaned
/// lexically; `None` when a relative `target` climbs above the rootfs. An absolute target that
/// climbs (`/..`) stays at `/`, as the kernel resolves it.
fn resolve_symlink(link: &str, target: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    if !target.starts_with('/') {
        parts.extend(link.split('/').filter(|c| !c.is_empty()));
        parts.pop();
    }
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() && !target.starts_with('/') {
                    return None;
                }
            }
            c => parts.push(c),
        }
    }
    let mut resolved = String::with_capacity(target.len() + link.len());
    for c in &parts {
        resolved.push('/');
        resolved.push_str(c);
    }
    if resolved.is_empty() {
        resolved.push('/');
    }
    Some(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_patterns() {
        let accepted = [
            "4.34.1-4-v1.14.0",
            "580.95.05-v1.14.0-beta.1",
            "20260810-v1.14.0",
            "5815ee3-v1.14.0",
            "0123456789abcdef0123456789abcdef01234567-v1.14.0",
            "20260810.0",
            "20260810",
            "1.29",
            "v4.6",
            "v1.0.0",
            "2.4.3-v1.14.0",
            "535.129.03-v1.8.0-alpha.0-10-g336fa0f-dirty",
            "5815ee3-v1.8.0-alpha.0-10-g336fa0f",
            "v1.14.0-beta.1",
        ];
        let rejected = ["1.2.3+b", "1.2.3.4", "latest", "", "v", "1", "1.2.3-", "١.٢", "2026-08-10", "V1.0.0"];
        for v in accepted {
            assert!(version_format_ok(v), "{v} should be accepted");
        }
        for v in rejected {
            assert!(!version_format_ok(v), "{v} should be rejected");
        }
    }

    #[test]
    fn symlink_resolution() {
        let cases = [
            ("/usr/local/lib/a", "b", Some("/usr/local/lib/b")),
            ("/usr/local/lib/a", "../../../usr/lib/b", Some("/usr/lib/b")),
            ("/usr/local/lib/a", "../../../../b", None),
            ("/usr/local/a", "./../..", Some("/")),
            ("/usr/local/a", "../../..", None),
            ("/usr/local/a", "/etc/passwd", Some("/etc/passwd")),
            ("/usr/local/a", "/usr/local/../../etc//x/.", Some("/etc/x")),
            ("/usr/local/a", "/../..", Some("/")),
            ("/a", "..", None),
            ("/usr/local/a", "x/../../..", Some("/")),
            ("/usr/local/a", "x/../../../..", None),
        ];
        for (link, target, want) in cases {
            assert_eq!(resolve_symlink(link, target).as_deref(), want, "{link} -> {target}");
        }
    }

    #[test]
    fn container_roots() {
        assert_eq!(container_root("/usr/local/lib/containers/svc/bin/sh"), Some("/usr/local/lib/containers/svc"));
        assert_eq!(container_root("/usr/local/lib/containers/svc"), None);
        assert_eq!(container_root("/usr/local/lib/containersx/svc/a"), None);
    }

    #[test]
    fn rootfs_paths() {
        assert_eq!(rootfs_path("rootfs"), "/");
        assert_eq!(rootfs_path("rootfs/usr/local/x"), "/usr/local/x");
    }

    #[test]
    fn suggestions() {
        let metadata = ["name", "version", "author", "description", "compatibility", "extraInfo"];
        assert_eq!(closest("compatability", &metadata), Some("compatibility"));
        assert_eq!(closest("Name", &metadata), Some("name"));
        assert_eq!(closest("extrainfo", &metadata), Some("extraInfo"));
        assert_eq!(closest("licence", &metadata), None);
        assert_eq!(
            closest("contaner", &["name", "container", "depends", "restart", "logToConsole"]),
            Some("container")
        );
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn boundaries() {
        assert!(on_boundary("/usr/local", "/usr/local"));
        assert!(on_boundary("/usr/local/bin/x", "/usr/local"));
        assert!(!on_boundary("/usr/localx", "/usr/local"));
        assert!(!on_boundary("/usr/bin/nvme-foo", "/usr/bin/nvme"));
    }

    #[test]
    fn allowed_paths_are_talos_list() {
        assert_eq!(ALLOWED_PATHS.len(), 19);
        assert_eq!(ALLOWED_PATHS[0], "/etc/cri/conf.d");
        assert_eq!(ALLOWED_PATHS[15], "/usr/local");
        assert_eq!(ALLOWED_PATHS[18], "/etc/vulkan");
    }
}
