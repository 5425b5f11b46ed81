//! `cargo xtask new <category>/<name> --kind <kind>`: a recipe crate that builds, passes tidy and
//! whose tests pass before anything is filled in, every placeholder being one `cargo xtask lint`
//! reports (all-zero sums and versions, `TODO`, example URLs, scaffold markers).
//!
//! The templates are `templates/*.in` (one place: the manifest and library doc common to every
//! kind; a build script and a test per kind). The metadata table is written from
//! [`ExtensionMeta`] and put into lint's normal form ([`crate::lint::normal_form`]), then checked
//! by the model like any recipe's. A `go-build` scaffold also gets its wrapper module (`go/go.mod`
//! requiring the placeholder pin, an empty `go/go.sum`). A `firmware` scaffold is metadata only
//! (the default recipe; its paths from the reference, relative to linux-firmware's top
//! directory, its version the pinned release's) with `firmware_recipe_tests!` naming no Debian
//! packages yet (a scaffold marker says to). A `tarball` scaffold installs placeholder files
//! of its pinned archive (a scaffold marker) and stages them in its test from a stand-in archive
//! under the test's own pin, listed in `extensions/test-overrides.toml` as `prebuilt` stand-ins
//! are.
//!
//! The crate is written into a temporary directory next to its place and renamed into place;
//! an existing crate is never overwritten. The workspace's member glob `extensions/*/*` picks it
//! up: nothing else needs editing.

mod reference;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use talos_ext_model::firmware::FIRMWARE_ROOT;
use talos_ext_model::{
    Arch, ExtensionMeta, INTERNAL_CATEGORY, Kind, LinuxFirmware, Pin, Sha256, Sha512, Source, Tier, VersionSpec,
};
use xshell::Shell;
use xtask::flags::{NewCmd, NewKind, Verbosity};

use crate::lint::{self, normal_form};

const CARGO_TOML: &str = include_str!("templates/Cargo.toml.in");
const LIB_RS: &str = include_str!("templates/lib.rs.in");
const DEFAULT_BUILD_RS: &str = include_str!("templates/default.build.rs.in");
const IN_TREE_TEST: &str = include_str!("templates/in_tree.test.rs.in");
const FIRMWARE_TEST: &str = include_str!("templates/firmware.test.rs.in");
const NOOP_TEST: &str = include_str!("templates/noop.test.rs.in");
const C_BUILD_RS: &str = include_str!("templates/c_build.build.rs.in");
const KMOD_OUT_OF_TREE_RS: &str = include_str!("templates/kmod_out_of_tree.build.rs.in");
const LIBRARY_RS: &str = include_str!("templates/library.build.rs.in");
const STAGED_TEST: &str = include_str!("templates/staged.test.rs.in");
const TARBALL_RS: &str = include_str!("templates/tarball.build.rs.in");
const TARBALL_TEST: &str = include_str!("templates/tarball.test.rs.in");
const PREBUILT_RS: &str = include_str!("templates/prebuilt.build.rs.in");
const PREBUILT_TEST: &str = include_str!("templates/prebuilt.test.rs.in");
const GO_BUILD_RS: &str = include_str!("templates/go_build.build.rs.in");
const GO_BUILD_TEST: &str = include_str!("templates/go_build.test.rs.in");

/// What to scaffold.
#[derive(Debug, Clone)]
pub struct Request {
    pub category: String,
    pub name: String,
    pub kind: NewKind,
    pub tier: Option<String>,
    /// In-tree modules (every arch), for `kmod-in-tree`.
    pub modules: Vec<String>,
    /// The reference catalog and the entry to take facts from.
    pub reference: Option<(PathBuf, String)>,
}

impl Request {
    /// The request of a command line; a relative `--reference` is relative to `cwd`.
    pub fn from_cmd(cmd: &NewCmd, cwd: &Path) -> Result<Request> {
        let Some((category, name)) = cmd.path.split_once('/') else {
            bail!("`{}` is not <category>/<name> (e.g. `drivers/uinput`)", cmd.path);
        };
        let reference = match (&cmd.reference, &cmd.from_reference) {
            (Some(file), Some(name)) => Some((cwd.join(file), name.clone())),
            (Some(_), None) => bail!("--reference names a catalog, --from-reference the entry to take: give both"),
            (None, _) => None,
        };
        Ok(Request {
            category: category.to_string(),
            name: name.to_string(),
            kind: cmd.kind,
            tier: cmd.tier.clone(),
            modules: cmd.modules.clone(),
            reference,
        })
    }
}

/// A scaffolded crate.
#[derive(Debug)]
pub struct Scaffolded {
    /// The crate directory.
    pub dir: PathBuf,
    /// The files written, relative to it, sorted.
    pub files: Vec<String>,
    /// What came from the reference, and what of it could not be used.
    pub notes: Vec<String>,
}

/// `[a-z][a-z0-9]*(-[a-z0-9]+)*`: a cargo package name, a directory and a Talos extension name.
fn check_name(what: &str, name: &str, digits: bool) -> Result<()> {
    let ok = name
        .split('-')
        .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || (digits && c.is_ascii_digit())))
        && name.starts_with(|c: char| c.is_ascii_lowercase());
    if !ok {
        let allowed = if digits { "lowercase letters and digits" } else { "lowercase letters" };
        bail!("{what} `{name}`: use {allowed} in words joined by single `-`, starting with a letter");
    }
    Ok(())
}

/// The metadata kind of a scaffold kind.
fn meta_kind(kind: NewKind) -> Kind {
    match kind {
        NewKind::KmodInTree => Kind::KmodInTree,
        NewKind::KmodOutOfTree => Kind::KmodOutOfTree,
        NewKind::Firmware => Kind::Firmware,
        NewKind::Autotools | NewKind::Meson | NewKind::Cmake | NewKind::Make => Kind::CBuild,
        NewKind::GoBuild => Kind::GoBuild,
        NewKind::Tarball => Kind::Tarball,
        NewKind::Prebuilt => Kind::Prebuilt,
        NewKind::Library => Kind::Library,
        NewKind::Noop => Kind::Noop,
    }
}

/// Kinds whose recipe fetches a pinned source.
fn has_sources(kind: NewKind) -> bool {
    !matches!(kind, NewKind::KmodInTree | NewKind::Noop | NewKind::Firmware | NewKind::GoBuild)
}

/// The version a kind starts with: a placeholder (all zeros) where it has an upstream part.
fn default_version(kind: NewKind) -> VersionSpec {
    let zero = || "0.0.0".to_string();
    match kind {
        NewKind::KmodInTree => VersionSpec::Talos,
        NewKind::KmodOutOfTree => VersionSpec::UpstreamTalos { upstream: zero() },
        NewKind::Firmware => VersionSpec::Firmware { date: "00000000".into() },
        NewKind::Noop => VersionSpec::Fixed { version: zero() },
        _ => VersionSpec::Upstream { upstream: zero() },
    }
}

/// `>= vX.Y.0` of the Talos release the workspace targets: a new recipe is built for it.
fn default_compatibility(pin: &Pin) -> String {
    let tag = pin.talos.tag.trim_start_matches('v');
    let mut parts = tag.split(['.', '-']);
    let (major, minor) = (parts.next().unwrap_or("1"), parts.next().unwrap_or("0"));
    format!(">= v{major}.{minor}.0")
}

/// The metadata of the scaffold: the kind's defaults, with the reference's facts where given.
fn metadata(root: &Path, req: &Request, notes: &mut Vec<String>) -> Result<ExtensionMeta> {
    let kind = meta_kind(req.kind);
    let facts = match &req.reference {
        Some((file, entry)) => reference::facts(file, entry)?,
        None => reference::Facts::default(),
    };
    let from = |what: &str, notes: &mut Vec<String>| {
        if let Some((file, entry)) = &req.reference {
            notes.push(format!("{what}: from `{entry}` in {}", file.display()));
        }
    };
    let tier_name = match (&req.tier, &facts.tier) {
        (Some(t), _) => t.clone(),
        (None, Some(t)) => {
            from("tier", notes);
            t.clone()
        }
        (None, None) => "contrib".into(),
    };
    let tier: Tier = serde_json::from_value(serde_json::Value::String(tier_name.clone()))
        .with_context(|| format!("tier `{tier_name}`"))?;
    let arches = facts.arches.clone().unwrap_or_else(|| Arch::ALL.to_vec());
    let mut version = default_version(req.kind);
    if let Some(v) = facts.version.clone() {
        let suits = lint::formats_for(kind).is_none_or(|allowed| allowed.contains(&v.format_name()));
        if suits {
            from("version", notes);
            version = v;
        } else {
            notes.push(format!(
                "version: the reference's `{}` ({}) does not suit kind `{kind}`: left a placeholder",
                v.render("<talos tag>"),
                v.format_name()
            ));
        }
    }
    let mut modules = BTreeMap::new();
    if req.kind == NewKind::KmodInTree {
        if !req.modules.is_empty() {
            for arch in &arches {
                modules.insert(*arch, req.modules.clone());
            }
        } else if !facts.modules.is_empty() {
            from("modules", notes);
            modules = facts.modules.clone();
        } else {
            bail!(
                "kind `kmod-in-tree` ships in-tree modules: name them with --module kernel/<path>.ko (repeatable), \
                 or take them from a reference entry with --from-reference"
            );
        }
    }
    let mut sources = Vec::new();
    if has_sources(req.kind) {
        if facts.sources.is_empty() {
            sources.push(Source {
                name: req.name.clone(),
                url: format!("https://example.com/{0}/{0}-0.0.0.tar.gz", req.name),
                sha256: Sha256::parse(&"0".repeat(64)).context("the placeholder sha256")?,
                sha512: Sha512::parse(&"0".repeat(128)).context("the placeholder sha512")?,
                arch: None,
            });
        } else {
            from("sources", notes);
            sources = facts.sources.clone();
        }
    }
    let (license, sbom_exempt) = match req.kind {
        NewKind::KmodInTree => (
            Some("GPL-2.0-only".to_string()),
            Some(
                "in-tree modules of the pinned Talos kernel, which Talos' own SBOM (kernel.spdx.json) already lists \
                 with its CPE"
                    .to_string(),
            ),
        ),
        NewKind::Noop => (None, Some("a placeholder image that ships no software".to_string())),
        // linux-firmware's files carry many vendors' terms, each named in its WHENCE; none has an SPDX id.
        NewKind::Firmware if facts.license.is_none() => (Some(LINUX_FIRMWARE_LICENSE.to_string()), None),
        _ => (Some(facts.license.clone().unwrap_or_else(|| "TODO".into())), None),
    };
    let (cpes, mut purl) = match req.kind {
        NewKind::KmodInTree | NewKind::Noop => (Vec::new(), None),
        _ if facts.cpes.is_empty() && facts.purl.is_none() => {
            (Vec::new(), Some(format!("pkg:generic/{}@TODO", req.name)))
        }
        _ => (facts.cpes.clone(), facts.purl.clone()),
    };
    for (what, given) in [
        ("author", facts.author.is_some()),
        ("description (from its label)", facts.description.is_some()),
        ("compatibility", facts.compatibility.is_some()),
        ("arches", facts.arches.is_some()),
        ("license", facts.license.is_some() && license.is_some()),
        ("cpes", !facts.cpes.is_empty() && !cpes.is_empty()),
        ("purl", facts.purl.is_some() && purl == facts.purl),
    ] {
        if given {
            from(what, notes);
        }
    }
    let mut firmware = Vec::new();
    if req.kind == NewKind::Firmware {
        let release = LinuxFirmware::load(root)?;
        if version.upstream_part() != release.version {
            notes.push(format!(
                "version: the pinned linux-firmware release {} (every firmware recipe ships it), not `{}`",
                release.version,
                version.upstream_part()
            ));
            version = VersionSpec::Firmware { date: release.version.clone() };
        }
        if purl.is_none() || purl.as_deref().is_some_and(|p| p.ends_with("@TODO")) {
            purl = Some(format!("pkg:generic/{}@{}", talos_ext_model::LINUX_FIRMWARE, release.version));
        }
        let prefix = format!("/{FIRMWARE_ROOT}/");
        for path in &facts.firmware {
            match path.strip_prefix(&prefix) {
                Some(rel) if talos_ext_model::firmware::check_selection(rel).is_ok() => firmware.push(rel.to_string()),
                _ => notes.push(format!("firmware: `{path}` is not a path below {prefix}: left out")),
            }
        }
        if firmware.is_empty() {
            firmware.push("TODO".into());
        } else {
            from("firmware paths", notes);
        }
    }
    let pin = Pin::load(root)?;
    let payloads = if req.kind == NewKind::Prebuilt { placeholder_payloads(&sources) } else { Vec::new() };
    let meta = ExtensionMeta {
        name: req.name.clone(),
        category: req.category.clone(),
        tier,
        kind,
        author: facts.author.unwrap_or_else(|| "TODO".into()),
        description: facts.description.unwrap_or_else(|| "TODO: say in one line what the extension ships".into()),
        // Libraries are never published, so no Talos release checks a constraint of theirs.
        compatibility: match kind {
            Kind::Library => String::new(),
            _ => facts.compatibility.unwrap_or_else(|| default_compatibility(&pin)),
        },
        arches,
        version,
        sources,
        license,
        toolchain: None,
        modules,
        cpes,
        purl,
        sbom_exempt,
        payloads,
        go: (req.kind == NewKind::GoBuild).then(|| placeholder_go(&req.name)).transpose()?,
        firmware,
    };
    Ok(meta)
}

/// One payload per source of a `prebuilt` scaffold: installed as `usr/local/bin/<source>`, 0755;
/// from an archive (by the URL's file name), its member `<source>` (a guess to check).
fn placeholder_payloads(sources: &[Source]) -> Vec<talos_ext_model::Payload> {
    let mut names: Vec<&Source> = Vec::new();
    for s in sources {
        if !names.iter().any(|n| n.name == s.name) {
            names.push(s);
        }
    }
    let archive = |file: &str| {
        [".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tar.zst", ".tar", ".zip"].iter().any(|e| file.ends_with(e))
    };
    names
        .into_iter()
        .map(|s| talos_ext_model::Payload {
            source: s.name.clone(),
            member: archive(s.file_name()).then(|| s.name.clone()),
            dest: format!("usr/local/bin/{}", s.name),
            mode: 0o755,
            arch: None,
            loader: None,
        })
        .collect()
}

/// The `[go]` table of a `go-build` scaffold: placeholders `cargo xtask lint` reports.
fn placeholder_go(name: &str) -> Result<talos_ext_model::GoBuild> {
    Ok(talos_ext_model::GoBuild {
        module: format!("example.com/{name}"),
        version: "v0.0.0".into(),
        packages: vec![format!("example.com/{name}/cmd/{name}")],
        ldflags: Vec::new(),
        tags: Vec::new(),
        cgo: false,
        libc: talos_ext_model::GoLibc::Musl,
        extldflags: Vec::new(),
        graph_hash: Some(Sha256::parse(&"0".repeat(64)).context("the placeholder graph hash")?),
        source: None,
        dir: String::new(),
        vendor: false,
    })
}

/// `go/go.mod` of a `go-build` scaffold: the wrapper module requiring the placeholder pin.
fn wrapper_go_mod(name: &str, go: &talos_ext_model::GoBuild) -> String {
    format!(
        "// The wrapper module `go build` runs in (scaffold: require the real module, repeat upstream's\n\
         // `replace` lines, then `go mod tidy` with the pinned toolchain).\n\
         module talos-extensions.local/{name}\n\ngo 1.26\n\ntool {}\n\nrequire {} {}\n",
        go.packages.first().map_or("", String::as_str),
        go.module,
        go.version
    )
}

/// Fills `{{key}}` in a template; every key must be given and used.
fn fill(template: &str, values: &[(&str, &str)]) -> Result<String> {
    let mut out = template.to_string();
    for (key, value) in values {
        out = out.replace(&format!("{{{{{key}}}}}"), value);
    }
    if let Some(at) = out.find("{{") {
        let rest: String = out[at..].chars().take(40).collect();
        bail!("internal error: a template keeps an unfilled `{rest}`");
    }
    Ok(out)
}

/// `Cargo.toml`: the common template with the metadata table in the normal form.
fn cargo_toml(req: &Request, meta: &ExtensionMeta) -> Result<String> {
    let package_description = if meta.is_internal() {
        format!("Internal library stage: {}", meta.description)
    } else {
        format!("Talos extension: {}", meta.description)
    };
    let links = if meta.is_internal() { format!("links = \"{}\"\n", req.name) } else { String::new() };
    let dev = if uses_tempfile(req.kind) { "tempfile.workspace = true\n" } else { "" };
    let text = fill(
        CARGO_TOML,
        &[
            ("name", &req.name),
            ("package_description", &toml_escape(&package_description)),
            ("links", &links),
            ("dev_dependencies", dev),
        ],
    )?;
    let mut doc: toml_edit::DocumentMut = text.parse().context("internal error: the Cargo.toml template")?;
    let mut table = toml::Table::try_from(meta).context("serializing the metadata")?;
    table.remove("name");
    if meta.compatibility.is_empty() {
        table.remove("compatibility");
    }
    if meta.sources.is_empty() {
        table.remove("sources");
    }
    let fragment: toml_edit::DocumentMut =
        toml::to_string(&table).context("serializing the metadata")?.parse().context("re-reading the metadata")?;
    let target = normal_form::table_mut(&mut doc).context("internal error: the template has no metadata table")?;
    for (key, item) in fragment.as_table().iter() {
        target.insert(key, item.clone());
    }
    normal_form::normalise(&mut doc);
    let mut text = doc.to_string();
    // toml writes integers in decimal; a file mode reads as octal.
    for p in &meta.payloads {
        text = text.replacen(&format!("mode = {}\n", p.mode), &format!("mode = 0o{:o}\n", p.mode), 1);
    }
    Ok(text)
}

fn toml_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn uses_tempfile(kind: NewKind) -> bool {
    has_sources(kind) && !matches!(kind, NewKind::GoBuild | NewKind::Prebuilt)
}

/// What the library doc says the crate is.
fn kind_phrase(kind: NewKind) -> &'static str {
    match kind {
        NewKind::KmodInTree => "a Talos extension of in-tree kernel modules from the pinned kernel, signed",
        NewKind::KmodOutOfTree => "a Talos extension of a kernel module built out of tree",
        NewKind::Firmware => "a Talos extension of firmware files",
        NewKind::Autotools => "a Talos extension of upstream C built with autotools",
        NewKind::Meson => "a Talos extension of upstream C built with meson",
        NewKind::Cmake => "a Talos extension of upstream C built with cmake",
        NewKind::Make => "a Talos extension of upstream C built with make",
        NewKind::GoBuild => "a Talos extension of Go programs",
        NewKind::Tarball => "a Talos extension of prebuilt upstream release files",
        NewKind::Prebuilt => "a Talos extension of vendor-built binaries, installed as pinned per arch",
        NewKind::Library => "an internal library stage (never published), static, in a sysroot for dependents",
        NewKind::Noop => "a placeholder Talos extension that ships nothing",
    }
}

/// The crate's files: (path relative to the crate, contents).
fn files(req: &Request, meta: &ExtensionMeta) -> Result<Vec<(String, String)>> {
    let name = req.name.as_str();
    let source = meta.sources.first().map(|s| s.name.clone()).unwrap_or_default();
    let source = source.as_str();
    let mut out = vec![
        ("Cargo.toml".to_string(), cargo_toml(req, meta)?),
        ("src/lib.rs".to_string(), fill(LIB_RS, &[("name", name), ("lib_doc", kind_phrase(req.kind))])?),
    ];
    let extension_check = "assert!(!s.rootfs_files().is_empty(), \"{arch}: nothing staged\");";
    let (build, test_name, test) = match req.kind {
        NewKind::KmodInTree => (
            fill(
                DEFAULT_BUILD_RS,
                &[(
                    "recipe_doc",
                    "A `kmod-in-tree` recipe needs no code: the default recipe installs the signed in-tree modules\n\
                     //! the metadata lists (`modules.<arch>`), taken from the kernel toolchain's module tree with\n\
                     //! their signatures, plus `modules.order`, `modules.builtin` and `modules.builtin.modinfo`.",
                )],
            )?,
            "in_tree.rs",
            IN_TREE_TEST.to_string(),
        ),
        NewKind::Noop => (
            fill(
                DEFAULT_BUILD_RS,
                &[(
                    "recipe_doc",
                    "A `noop` recipe needs no code: the default recipe stages an empty rootfs (a placeholder image\n\
                     //! that ships no software, and so no SBOM).",
                )],
            )?,
            "placeholder.rs",
            fill(NOOP_TEST, &[("name", name)])?,
        ),
        NewKind::Autotools | NewKind::Meson | NewKind::Cmake | NewKind::Make => {
            let (system, driver) = match req.kind {
                NewKind::Autotools => {
                    ("autotools", format!("s.autotools(\"{name}\", &src).configure_args([\"--disable-nls\"])"))
                }
                NewKind::Meson => ("meson", format!("s.meson(\"{name}\", &src)")),
                NewKind::Cmake => {
                    ("cmake", format!("s.cmake(\"{name}\", &src).define(\"BUILD_SHARED_LIBS\", \"OFF\")"))
                }
                _ => ("make", format!("s.make(\"{name}\", &src)")),
            };
            (
                fill(C_BUILD_RS, &[("name", name), ("build_system", system), ("source", source), ("driver", &driver)])?,
                "staged.rs",
                fill(
                    STAGED_TEST,
                    &[("name", name), ("staged_doc", "ignored until then"), ("staged_check", extension_check)],
                )?,
            )
        }
        NewKind::KmodOutOfTree => (
            fill(KMOD_OUT_OF_TREE_RS, &[("name", name), ("source", source), ("module", &name.replace('-', "_"))])?,
            "staged.rs",
            fill(
                STAGED_TEST,
                &[("name", name), ("staged_doc", "ignored until then"), ("staged_check", extension_check)],
            )?,
        ),
        NewKind::Library => (
            fill(LIBRARY_RS, &[("name", name), ("source", source)])?,
            "sysroot.rs",
            fill(
                STAGED_TEST,
                &[
                    ("name", name),
                    ("staged_doc", "into a sysroot; ignored until then"),
                    (
                        "staged_check",
                        "assert!(s.dir.join(\"usr/lib\").is_dir(), \"{arch}: no usr/lib in the sysroot\");",
                    ),
                ],
            )?,
        ),
        NewKind::Prebuilt => {
            (fill(PREBUILT_RS, &[("name", name)])?, "stand_ins.rs", fill(PREBUILT_TEST, &[("name", name)])?)
        }
        NewKind::GoBuild => {
            let go = meta.go.as_ref().context("internal error: a go-build scaffold without [go]")?;
            out.push(("go/go.mod".to_string(), wrapper_go_mod(name, go)));
            out.push(("go/go.sum".to_string(), String::new()));
            (fill(GO_BUILD_RS, &[("name", name)])?, "go_build.rs", fill(GO_BUILD_TEST, &[("name", name)])?)
        }
        NewKind::Firmware => (
            fill(
                DEFAULT_BUILD_RS,
                &[(
                    "recipe_doc",
                    "A `firmware` recipe needs no code: the default recipe installs the linux-firmware paths the\n\
                     //! metadata lists (`firmware = [...]`) from the release pinned in `toolchain/firmware.toml` into\n\
                     //! `/usr/lib/firmware/`, with the links its `WHENCE` defines for them.",
                )],
            )?,
            "firmware.rs",
            FIRMWARE_TEST.to_string(),
        ),
        NewKind::Tarball => (
            fill(TARBALL_RS, &[("name", name), ("source", source)])?,
            "staged.rs",
            fill(TARBALL_TEST, &[("name", name)])?,
        ),
    };
    out.push(("build.rs".to_string(), build));
    out.push((format!("tests/{test_name}"), test));
    out.sort();
    Ok(out)
}

/// Scaffolds the crate of `req` in the workspace at `root`.
pub fn scaffold(root: &Path, req: &Request) -> Result<Scaffolded> {
    check_name("category", &req.category, false)?;
    check_name("name", &req.name, true)?;
    if (req.kind == NewKind::Library) != (req.category == INTERNAL_CATEGORY) {
        bail!(
            "kind `library` goes with category `{INTERNAL_CATEGORY}` and only with it: use `{INTERNAL_CATEGORY}/{}` \
             --kind library, or another kind",
            req.name
        );
    }
    if !req.modules.is_empty() && req.kind != NewKind::KmodInTree {
        bail!("--module is for --kind kmod-in-tree");
    }
    let parent = root.join("extensions").join(&req.category);
    let dir = parent.join(&req.name);
    let rel = dir.strip_prefix(root).unwrap_or(&dir).display().to_string();
    if dir.exists() {
        bail!("{rel} already exists: refusing to overwrite it");
    }
    let workspace = xtask::metadata::workspace(root)?;
    if let Some(pkg) = workspace.workspace_packages().into_iter().find(|p| p.name.as_str() == req.name) {
        bail!(
            "the workspace already has a package named `{}` ({}): package names are unique",
            req.name,
            pkg.manifest_path
        );
    }
    let mut notes = Vec::new();
    let meta = metadata(root, req, &mut notes)?;
    let files = files(req, &meta)?;
    let manifest = &files.iter().find(|(p, _)| p == "Cargo.toml").context("no Cargo.toml")?.1;
    ExtensionMeta::from_cargo_toml(manifest)
        .with_context(|| format!("the metadata for {rel} is not valid (from the reference?)"))?;

    let created_parent = !parent.exists();
    fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let written = write_into_place(&parent, &dir, &req.name, &files);
    if written.is_err() && created_parent {
        let _ = fs::remove_dir(&parent);
    }
    written?;
    if matches!(req.kind, NewKind::Prebuilt | NewKind::Tarball) {
        list_stand_ins(root, &meta).with_context(|| format!("{rel} was written, but"))?;
        notes.push(format!("{TEST_OVERRIDES}: listed the stand-ins its tests pin (one entry per source)"));
    }
    let files = files.into_iter().map(|(p, _)| p).collect();
    Ok(Scaffolded { dir, files, notes })
}

/// The license a `firmware` scaffold declares (linux-firmware's files have no SPDX ids).
const LINUX_FIRMWARE_LICENSE: &str = "LicenseRef-linux-firmware";

/// The list of recipe tests that build other bytes than their pin.
const TEST_OVERRIDES: &str = "extensions/test-overrides.toml";

/// Appends to [`TEST_OVERRIDES`] one entry per stand-in source of a `prebuilt` scaffold (its
/// payloads' sources) or a `tarball` scaffold (its first source): their tests stage from
/// generated stand-ins under their own pins, which staging refuses unless listed. Written to a
/// temporary file and renamed over the list.
fn list_stand_ins(root: &Path, meta: &ExtensionMeta) -> Result<()> {
    let path = root.join(TEST_OVERRIDES);
    let mut text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let (mut names, tested, reason): (Vec<&str>, &str, &str) = if meta.kind == Kind::Tarball {
        (
            meta.sources.first().map(|s| s.name.as_str()).into_iter().collect(),
            "a STAND-IN .tar.gz per arch holding the files the recipe takes (generated text), served through an \
             offline directory mirror under the test's own pin (testing::Repin); not upstream's bytes",
            "the release archive is not reachable offline",
        )
    } else {
        (
            meta.payloads.iter().map(|p| p.source.as_str()).collect(),
            "a STAND-IN per arch: a small static musl program the test builds (in a .tar.gz under the pinned \
             file name for an archive member), served through an offline directory mirror under the test's own pin \
             (testing::Repin); not the vendor bytes",
            "the vendor's release files are not reachable offline",
        )
    };
    names.dedup();
    for source in names {
        if !text.ends_with("\n\n") {
            text.push('\n');
        }
        text.push_str(&format!(
            "[[override]]\nrecipe = \"{}\"\nsource = \"{source}\"\ntested = \"{tested}\"\nreason = \"{reason}\"\n",
            meta.name
        ));
    }
    let tmp = path.with_extension("toml.new");
    fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, &path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}

/// Writes the files into a temporary directory in `parent`, formats the Rust ones with rustfmt
/// (the workspace's settings), and renames the directory to `dir`.
fn write_into_place(parent: &Path, dir: &Path, name: &str, files: &[(String, String)]) -> Result<()> {
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.new-"))
        .tempdir_in(parent)
        .with_context(|| format!("creating a temporary directory in {}", parent.display()))?;
    for (rel, text) in files {
        let path = tmp.path().join(rel);
        if let Some(d) = path.parent() {
            fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
        }
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    let rust: Vec<PathBuf> =
        files.iter().filter(|(p, _)| p.ends_with(".rs")).map(|(p, _)| tmp.path().join(p)).collect();
    talos_ext_process::Command::new("rustfmt")
        .args(["--edition", "2024"])
        .args(&rust)
        .inherit_env()
        .hint("rustfmt comes with the Rust toolchain (`rustup component add rustfmt`)")
        .run()
        .context("formatting the scaffold's Rust files")?;
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755))
        .with_context(|| format!("setting mode 755 on {}", tmp.path().display()))?;
    let tmp = tmp.keep();
    if let Err(e) = fs::rename(&tmp, dir) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e).with_context(|| format!("renaming {} to {}", tmp.display(), dir.display()));
    }
    Ok(())
}

/// `cargo xtask new`.
pub fn run(sh: &Shell, cmd: NewCmd, verbosity: Verbosity) -> Result<ExitCode> {
    let root = sh.current_dir();
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let req = Request::from_cmd(&cmd, &cwd)?;
    let done = scaffold(&root, &req)?;
    let rel = done.dir.strip_prefix(&root).unwrap_or(&done.dir).display().to_string();
    println!("new: wrote {rel}/: {}", done.files.join(", "));
    if !verbosity.is_quiet() {
        for note in &done.notes {
            println!("  {note}");
        }
    }
    let findings: Vec<lint::Finding> = match lint::lint_workspace(&root) {
        Ok(all) => all.into_iter().filter(|f| f.file.starts_with(&rel)).collect(),
        Err(e) => {
            eprintln!("warning: could not lint the new crate: {e:#}");
            Vec::new()
        }
    };
    if !findings.is_empty() {
        println!("left to fill in (what `cargo xtask lint` reports):");
        for f in &findings {
            println!("  {f}");
        }
    }
    println!("next:");
    println!("  1. fill in the placeholders{}", if findings.is_empty() { " (none left)" } else { " above" });
    println!("  2. cargo xtask lint");
    println!("  3. cargo test -p {}", req.name);
    if req.kind == NewKind::Library {
        println!(
            "  4. in each recipe that links it: `{} = {{ path = \"../../{INTERNAL_CATEGORY}/{}\" }}` under [dependencies] \
             and `s.use_library(\"{}\")?` in its recipe",
            req.name, req.name, req.name
        );
    }
    Ok(ExitCode::SUCCESS)
}
