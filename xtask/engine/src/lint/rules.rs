//! The lint rules, one function each, over one recipe (its metadata, its `Cargo.toml` text and
//! its Rust files) or over the whole catalog (pins shared between recipes).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};
use talos_ext_model::{ExtensionMeta, Kind, LinuxFirmware, Pin, TOOLCHAINS_DIR, VersionSpec, sbom_lint};
use talos_ext_validate::rules::version_format_ok;
use xtask::catalog::Declared;

use super::{Finding, TABLE, normal_form};

/// What `cargo xtask new` writes where something is left to do in a recipe's Rust files (an
/// ignored test, a recipe to write); lint reports every line that holds it.
pub const SCAFFOLD_MARKER: &str = "scaffold: fill in";

/// Words that mark a value as not filled in yet.
const PLACEHOLDER_WORDS: &[&str] = &["TODO", "FIXME", "TBD", "XXX"];

/// Collects the findings of one file.
struct Report<'a> {
    file: PathBuf,
    out: &'a mut Vec<Finding>,
}

impl Report<'_> {
    /// A finding on a metadata field (`""` for the table itself).
    fn field(&mut self, field: &str, message: impl Into<String>) {
        let field = match field.trim_matches('.') {
            "" => TABLE.to_string(),
            f => format!("{TABLE}.{f}"),
        };
        self.at(field, message);
    }

    fn at(&mut self, place: String, message: impl Into<String>) {
        self.out.push(Finding { file: self.file.clone(), field: place, message: message.into() });
    }
}

pub fn lint(root: &Path, recipes: &[Declared]) -> Result<Vec<Finding>> {
    let tag = Pin::load(root)?.talos.tag;
    // Read only when a firmware recipe needs it (a workspace without firmware needs no pin).
    let firmware_pin = std::cell::OnceCell::new();
    let mut out = Vec::new();
    let mut pins = Pins::default();
    for recipe in recipes {
        let rel = recipe.manifest.strip_prefix(root).unwrap_or(&recipe.manifest).to_path_buf();
        let mut report = Report { file: rel.clone(), out: &mut out };
        let text = std::fs::read_to_string(&recipe.manifest)
            .with_context(|| format!("reading {}", recipe.manifest.display()))?;
        placeholders(&mut report, &recipe.table, "");
        match ExtensionMeta::from_json(&recipe.name, &recipe.table) {
            Ok(meta) => {
                layout(&mut report, root, &recipe.manifest, &meta);
                sbom(&mut report, &meta);
                version(&mut report, &meta, &tag);
                if meta.uses_linux_firmware() {
                    firmware_release(&mut report, firmware_pin.get_or_init(|| LinuxFirmware::load(root)), &meta);
                }
                declared_versions(&mut report, &meta);
                go_version(&mut report, &meta);
                description(&mut report, &meta);
                arches_and_modules(&mut report, root, &meta);
                for (i, s) in meta.sources.iter().enumerate() {
                    pins.add(&rel, i, s);
                }
            }
            Err(e) => report.field(&e.field, e.message),
        }
        match normal_form::check(&text) {
            Ok(problems) => {
                for (field, message) in problems {
                    report.field(&field, format!("{message} (`cargo xtask lint --fix` rewrites it)"));
                }
            }
            Err(e) => report.field("", format!("not TOML: {e}")),
        }
        let dir = recipe.manifest.parent().unwrap_or(root);
        comments(&mut report, root, dir, &text, CommentSyntax::Toml);
        for file in rust_files(dir)? {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let mut report = Report { file: file.strip_prefix(root).unwrap_or(&file).to_path_buf(), out: &mut out };
            comments(&mut report, root, file.parent().unwrap_or(dir), &text, CommentSyntax::Rust);
            scaffold_markers(&mut report, &text);
        }
    }
    pins.conflicts(&mut out);
    Ok(out)
}

/// `build.rs` and every `.rs` file below `src/` and `tests/` (sorted).
fn rust_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut todo: Vec<PathBuf> = ["src", "tests"].iter().map(|d| dir.join(d)).filter(|d| d.is_dir()).collect();
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let path = entry.with_context(|| format!("reading {}", d.display()))?.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    let build = dir.join("build.rs");
    Ok(build.is_file().then_some(build).into_iter().chain(found).collect())
}

/// Placeholders in any string of the table: `TODO` and the like, example URLs, all-zero sums.
fn placeholders(report: &mut Report, value: &serde_json::Value, path: &str) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                let field = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                placeholders(report, v, &field);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                placeholders(report, v, &format!("{path}[{i}]"));
            }
        }
        serde_json::Value::String(s) => {
            let key = path.rsplit('.').next().unwrap_or(path);
            if let Some(word) = placeholder_word(s) {
                report.field(path, format!("placeholder `{word}`: fill in"));
            } else if (key == "sha256" || key == "sha512") && is_placeholder_sum(s) {
                report.field(path, "placeholder pin (one digit repeated): fill in the real checksum");
            } else if key == "graph_hash" && is_placeholder_sum(s) {
                report.field(path, "placeholder graph hash: pin the hash `cargo xtask fetch` reports");
            } else if (key == "module" || path.starts_with("go.packages")) && is_example_url(&format!("https://{s}")) {
                report.field(path, format!("placeholder module `{s}` (a reserved example domain): name the real one"));
            } else if key == "url" && is_example_url(s) {
                report.field(path, format!("placeholder URL `{s}` (a reserved example domain): pin the real download"));
            }
        }
        _ => {}
    }
}

fn placeholder_word(s: &str) -> Option<&'static str> {
    let words: Vec<&str> = s.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    PLACEHOLDER_WORDS.iter().copied().find(|w| words.contains(w))
}

/// A checksum made of one repeated digit (`000...0`): what a scaffold pins before the real one.
fn is_placeholder_sum(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|first| chars.all(|c| c == first))
}

/// A URL on a domain reserved for examples (RFC 2606).
fn is_example_url(url: &str) -> bool {
    let host = url.split("://").nth(1).unwrap_or("").split(['/', ':', '?', '#']).next().unwrap_or("");
    let host = host.to_ascii_lowercase();
    ["example.com", "example.org", "example.net"].iter().any(|d| host == *d || host.ends_with(&format!(".{d}")))
        || [".example", ".invalid", ".test"].iter().any(|tld| host.ends_with(tld))
}

/// A version whose digits are all zero (`0.0.0`, `00000000`): a scaffold's placeholder.
fn is_placeholder_version(v: &str) -> bool {
    v.chars().any(|c| c.is_ascii_digit()) && v.chars().filter(|c| c.is_ascii_digit()).all(|c| c == '0')
}

/// The crate directory is `extensions/<category>/<name>/`.
fn layout(report: &mut Report, root: &Path, manifest: &Path, meta: &ExtensionMeta) {
    let dir = manifest.parent().unwrap_or(root);
    let dir_name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if dir_name != meta.name {
        report.at(
            "package.name".into(),
            format!("the package is `{}` but its directory is `{dir_name}`: they must be equal", meta.name),
        );
    }
    let category_dir = dir.parent().and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned());
    if category_dir.as_deref() != Some(meta.category.as_str()) {
        report.field(
            "category",
            format!("`{}` is not the crate's category directory `{}`", meta.category, category_dir.unwrap_or_default()),
        );
    }
}

/// The SBOM fields ([`sbom_lint`], as the catalog checks them when it loads).
fn sbom(report: &mut Report, meta: &ExtensionMeta) {
    for problem in sbom_lint::lint(&sbom_lint::SbomFields::from_meta(meta)) {
        let (field, message) = problem.split_once(": ").unwrap_or(("", &problem));
        report.field(field, message);
    }
}

/// The version formats each kind may use; `None`: any.
pub fn formats_for(kind: Kind) -> Option<&'static [&'static str]> {
    Some(match kind {
        Kind::KmodInTree => &["talos"],
        Kind::KmodOutOfTree => &["upstream-talos", "commit-talos"],
        Kind::Firmware => &["firmware", "firmware-talos"],
        Kind::Noop => &["fixed"],
        Kind::CBuild | Kind::GoBuild | Kind::Tarball | Kind::Prebuilt | Kind::ConfigOnly => &["upstream", "fixed"],
        Kind::Mixed | Kind::Library => return None,
    })
}

/// The format suits the kind, the version is not a placeholder, and (published extensions) the
/// version string passes Talos' extensions-validator.
fn version(report: &mut Report, meta: &ExtensionMeta, tag: &str) {
    let format = meta.version.format_name();
    if let Some(allowed) = formats_for(meta.kind)
        && !allowed.contains(&format)
    {
        let why = match meta.kind {
            Kind::KmodInTree | Kind::KmodOutOfTree => {
                ": modules are built for one kernel, so the version carries the Talos tag"
            }
            Kind::Noop => ": a placeholder follows no upstream release",
            _ => "",
        };
        report.field(
            "version.format",
            format!("`{format}` does not suit kind `{}`: use {}{why}", meta.kind, quoted_list(allowed)),
        );
    }
    let part = meta.version.upstream_part();
    if is_placeholder_version(part) {
        report.field(
            &format!("version.{}", version_key(&meta.version)),
            format!("placeholder version `{part}`: fill in"),
        );
    }
    let rendered = meta.version_string(tag);
    if !meta.is_internal() && !version_format_ok(&rendered) {
        report.field(
            &format!("version.{}", version_key(&meta.version)),
            format!(
                "renders as `{rendered}` for Talos {tag}, which Talos' extensions-validator refuses (it takes \
                 `X.Y.Z`, `vX.Y.Z`, `X.Y`, `YYYYMMDD`, `X.Y.Z-<tag>` or `<commit>-<tag>`)"
            ),
        );
    }
}

fn quoted_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The key of the version table that holds the upstream part.
fn version_key(v: &VersionSpec) -> &'static str {
    match v {
        VersionSpec::Upstream { .. } | VersionSpec::UpstreamTalos { .. } => "upstream",
        VersionSpec::Firmware { .. } | VersionSpec::FirmwareTalos { .. } => "date",
        VersionSpec::CommitTalos { .. } => "commit",
        VersionSpec::Fixed { .. } => "version",
        VersionSpec::Talos => "format",
    }
}

/// A firmware recipe's version date is the pinned linux-firmware release's (the files it ships
/// are that release's).
fn firmware_release(report: &mut Report, pin: &Result<LinuxFirmware, talos_ext_model::PinError>, meta: &ExtensionMeta) {
    match pin {
        Ok(pin) => {
            if let Err(message) = pin.check_recipe_version(meta) {
                report.field("version.date", message);
            }
        }
        Err(e) => report.field("version.date", format!("cannot check it against the linux-firmware pin: {e}")),
    }
}

/// A purl's or CPE's version names the upstream version: it is the version up to a leading
/// `v`, or a release tag holding it as a whole (`openssl-3.5.7`, `release-2.1.13-stable`, not
/// `3.5.70`), or the same commit.
fn names_version(declared: &str, upstream: &str, commit: bool) -> bool {
    let u = upstream.strip_prefix('v').unwrap_or(upstream);
    if u.is_empty() {
        return false;
    }
    // A compound version `<other>-<component version>` (`580.178.04-v1.19.1`): the SBOM names
    // the component's release, its last part.
    if !declared.is_empty() && upstream.ends_with(&format!("-{declared}")) {
        return true;
    }
    let part = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.');
    let whole = declared.match_indices(u).any(|(at, _)| {
        let mut before = declared[..at].chars().rev();
        let before = match before.next() {
            Some('v') => before.next(),
            other => other,
        };
        !part(before) && !part(declared[at + u.len()..].chars().next())
    });
    whole || (commit && (declared.starts_with(upstream) || upstream.starts_with(declared)) && declared.len() >= 7)
}

/// A Go build's module version names the upstream version (`v1.102.2` for `1.102.2`).
fn go_version(report: &mut Report, meta: &ExtensionMeta) {
    let Some(go) = &meta.go else { return };
    let upstream = meta.version.upstream_part();
    if is_placeholder_version(upstream) || is_placeholder_version(&go.version) {
        if is_placeholder_version(&go.version) {
            report.field("go.version", format!("placeholder version `{}`: pin the module's release", go.version));
        }
        return;
    }
    // A compound version `<other>-<module version>` (the NVIDIA container toolkit's
    // `<driver>-v<toolkit>`) names the module's release as its last part.
    if go.version.strip_prefix('v') != Some(upstream.strip_prefix('v').unwrap_or(upstream))
        && !upstream.ends_with(&format!("-{}", go.version))
    {
        report.field(
            "go.version",
            format!(
                "`{}` is not the upstream version `{upstream}` (version.{})",
                go.version,
                version_key(&meta.version)
            ),
        );
    }
}

/// The purl's and each CPE's version equal the upstream version, for formats that have one.
fn declared_versions(report: &mut Report, meta: &ExtensionMeta) {
    let commit = matches!(meta.version, VersionSpec::CommitTalos { .. });
    if matches!(meta.version, VersionSpec::Talos | VersionSpec::Fixed { .. }) {
        return;
    }
    let upstream = meta.version.upstream_part();
    if is_placeholder_version(upstream) {
        return;
    }
    let key = version_key(&meta.version);
    if let Some(purl) = &meta.purl
        && let Some((_, rest)) = purl.split_once('@')
    {
        let v = rest.split(['?', '#']).next().unwrap_or(rest);
        if placeholder_word(v).is_none() && !names_version(v, upstream, commit) {
            report.field(
                "purl",
                format!("declares version `{v}`, but the upstream version is `{upstream}` (version.{key})"),
            );
        }
    }
    for (i, cpe) in meta.cpes.iter().enumerate() {
        let Some(v) = cpe.split(':').nth(5) else { continue };
        if v != "*" && v != "-" && placeholder_word(v).is_none() && !names_version(v, upstream, commit) {
            report.field(
                &format!("cpes[{i}]"),
                format!("declares version `{v}`, but the upstream version is `{upstream}` (version.{key})"),
            );
        }
    }
}

/// One written line (the model already refuses an empty one and the `[tier]` prefix).
fn description(report: &mut Report, meta: &ExtensionMeta) {
    let d = &meta.description;
    if d.contains('\n') {
        report.field("description", "one line, please: manifest.yaml shows it as the extension's summary");
    }
    if d.trim() != d {
        report.field("description", "leading or trailing whitespace");
    }
    if d.trim().eq_ignore_ascii_case(&meta.name) {
        report.field("description", "says no more than the name: write what the extension ships");
    }
}

/// In-tree module recipes list modules for every arch they declare; a named toolchain exists.
fn arches_and_modules(report: &mut Report, root: &Path, meta: &ExtensionMeta) {
    if meta.kind == Kind::KmodInTree {
        for arch in &meta.arches {
            if meta.modules_for(*arch).is_empty() {
                report.field(
                    &format!("modules.{arch}"),
                    format!(
                        "kind `kmod-in-tree` ships in-tree modules: list them for {arch}, or drop {arch} from `arches`"
                    ),
                );
            }
        }
    } else if !meta.modules.is_empty() && meta.kind != Kind::Mixed {
        report.field(
            "modules",
            format!("only `kmod-in-tree` and `mixed` recipes ship in-tree modules (kind `{}`)", meta.kind),
        );
    }
    if let Some(name) = &meta.toolchain
        && !root.join(TOOLCHAINS_DIR).join(format!("{name}.toml")).is_file()
    {
        report.field("toolchain", format!("no {TOOLCHAINS_DIR}/{name}.toml"));
    }
}

/// Every pin of the catalog by URL, to find one URL pinned with different sums.
#[derive(Default)]
struct Pins {
    /// url -> (file, field, sha256, sha512), in catalog order.
    by_url: BTreeMap<String, Vec<(PathBuf, String, String, String)>>,
}

impl Pins {
    fn add(&mut self, file: &Path, i: usize, s: &talos_ext_model::Source) {
        let (sha256, sha512) = (s.sha256.as_str().to_string(), s.sha512.as_str().to_string());
        if is_placeholder_sum(&sha256) || is_placeholder_sum(&sha512) {
            return;
        }
        self.by_url.entry(s.url.clone()).or_default().push((
            file.to_path_buf(),
            format!("{TABLE}.sources[{i}]"),
            sha256,
            sha512,
        ));
    }

    fn conflicts(&self, out: &mut Vec<Finding>) {
        for (url, pins) in &self.by_url {
            let (first_file, first_field, sha256, sha512) = &pins[0];
            for (file, field, s256, s512) in &pins[1..] {
                if (s256, s512) != (sha256, sha512) {
                    out.push(Finding {
                        file: file.clone(),
                        field: field.clone(),
                        message: format!(
                            "`{url}` is pinned with other sums in {} ({first_field}): one of them is wrong",
                            first_file.display()
                        ),
                    });
                }
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CommentSyntax {
    /// `# ...`
    Toml,
    /// `// ...`, `//! ...`, `/// ...`
    Rust,
}

/// The comment on one line (after `#` or `//` outside a string), if any.
fn comment(line: &str, syntax: CommentSyntax) -> Option<&str> {
    let bytes = line.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' && q == b'"' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => match (syntax, b) {
                (_, b'"') => quote = Some(b),
                (CommentSyntax::Toml, b'\'') => quote = Some(b),
                (CommentSyntax::Toml, b'#') => return Some(&line[i + 1..]),
                (CommentSyntax::Rust, b'/') if bytes.get(i + 1) == Some(&b'/') => return Some(&line[i + 2..]),
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// Paths in comments that lead outside the repository: a developer machine's absolute paths, a
/// `../` that climbs above the root, or a path from the root (`shared/...`) that the repository
/// does not have (the team's notes live next to it, not in it).
fn comments(report: &mut Report, root: &Path, dir: &Path, text: &str, syntax: CommentSyntax) {
    for (n, line) in text.lines().enumerate() {
        let Some(comment) = comment(line, syntax) else { continue };
        for token in comment.split(|c: char| c.is_whitespace() || "`()[]{},;\"'<>".contains(c)) {
            let token = token.trim_end_matches(['.', ':', ',']);
            if !token.contains('/') || token.contains("://") {
                continue;
            }
            let path = token.split(['#', ':']).next().unwrap_or(token);
            if let Some(why) = outside(root, dir, path) {
                report.at(
                    format!("line {}", n + 1),
                    format!(
                        "comment names `{token}`, {why}: say what the fact is and where upstream has it \
                         (project and commit) instead"
                    ),
                );
            }
        }
    }
}

fn outside(root: &Path, dir: &Path, path: &str) -> Option<&'static str> {
    if ["/work/", "/home/", "/tmp/", "~/", "$HOME/"].iter().any(|p| path.starts_with(p)) {
        return Some("a path on a developer's machine");
    }
    if path.starts_with("../") || path.starts_with("./") {
        let mut resolved = dir.to_path_buf();
        for c in Path::new(path).components() {
            match c {
                Component::ParentDir => {
                    resolved.pop();
                }
                Component::Normal(p) => resolved.push(p),
                _ => {}
            }
        }
        return (!resolved.starts_with(root)).then_some("which is outside the repository");
    }
    let first = path.split('/').next().unwrap_or("");
    let top_level = !first.is_empty() && !first.starts_with('.') && root.join(first).is_dir();
    (top_level && !root.join(path).exists()).then_some("which is not in the repository")
}

/// Lines holding [`SCAFFOLD_MARKER`]: work `cargo xtask new` left to do.
fn scaffold_markers(report: &mut Report, text: &str) {
    for (n, line) in text.lines().enumerate() {
        if line.contains(SCAFFOLD_MARKER) {
            report.at(format!("line {}", n + 1), format!("placeholder left by `cargo xtask new`: {}", line.trim()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_outside_strings() {
        assert_eq!(comment(r#"url = "https://x/#a" # note"#, CommentSyntax::Toml), Some(" note"));
        assert_eq!(comment(r#"a = 'x#y'"#, CommentSyntax::Toml), None);
        assert_eq!(comment(r#"let u = "https://x"; // see"#, CommentSyntax::Rust), Some(" see"));
        assert_eq!(comment("//! doc", CommentSyntax::Rust), Some("! doc"));
    }

    #[test]
    fn paths_that_leave_the_repository() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        std::fs::create_dir_all(root.join("shared/build")).unwrap();
        std::fs::create_dir_all(root.join("extensions/drivers/x")).unwrap();
        let dir = root.join("extensions/drivers/x");
        assert!(outside(root, &dir, "/work/shared/reference/upstream-catalog.toml").is_some());
        assert!(outside(root, &dir, "shared/reference/upstream-catalog.toml").is_some());
        assert!(outside(root, &dir, "../../../../shared/reference/x.toml").is_some());
        assert_eq!(outside(root, &dir, "shared/build"), None);
        assert_eq!(outside(root, &dir, "../../drivers"), None);
        assert_eq!(outside(root, &dir, "usr/local/sbin"), None);
        assert_eq!(outside(root, &dir, "/usr/lib/modules"), None);
    }

    #[test]
    fn versions_named_by_purls_and_cpes() {
        assert!(names_version("v1.14", "v1.14", false));
        assert!(names_version("1.0.0", "v1.0.0", false));
        assert!(names_version("openssl-3.5.7", "3.5.7", false));
        assert!(names_version("microcode-20260812", "20260812", false));
        assert!(names_version("release-2.1.13-stable", "2.1.13", false));
        assert!(!names_version("1.0.22", "1.0", false));
        assert!(!names_version("x2.1.13", "2.1.13", false));
        assert!(names_version("5815ee3908a46a415aac616ac7b9aedcb98a504c", "5815ee3", true));
        assert!(!names_version("2.1.12", "v0.2.0", false));
        assert!(!names_version("3.5.70", "3.5.7", false));
    }

    #[test]
    fn placeholders() {
        assert!(is_placeholder_sum(&"0".repeat(64)));
        assert!(!is_placeholder_sum("a8c0d28a"));
        assert!(is_example_url("https://example.com/x.tar.gz"));
        assert!(is_example_url("https://downloads.example.org/x"));
        assert!(!is_example_url("https://github.com/example/x"));
        assert!(is_placeholder_version("0.0.0") && is_placeholder_version("00000000"));
        assert!(!is_placeholder_version("v1.0.0") && !is_placeholder_version("talos"));
        assert_eq!(placeholder_word("TODO: say what it ships"), Some("TODO"));
        assert_eq!(placeholder_word("Todos app"), None);
    }
}
