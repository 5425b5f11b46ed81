//! `[package.metadata.talos-extension]`: how an extension crate declares itself.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::manifest::{Compatibility, MANIFEST_VERSION, Manifest, Metadata, TalosCompatibility};
use crate::{Arch, Sha256, Sha512, constraint};

/// The key under `[package.metadata]` that marks a crate as an extension.
pub const METADATA_KEY: &str = "talos-extension";

/// The category of internal library stages (`extensions/internal/<lib>/`).
pub const INTERNAL_CATEGORY: &str = "internal";

/// Support tier, as in the upstream catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Core,
    Extra,
    Contrib,
    Deprecated,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Core => "core",
            Tier::Extra => "extra",
            Tier::Contrib => "contrib",
            Tier::Deprecated => "deprecated",
        }
    }
}

/// How the payload is produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Upstream C/C++ code compiled for each arch.
    CBuild,
    /// Go code compiled for each arch.
    GoBuild,
    /// Kernel modules built out of tree against the pinned kernel.
    KmodOutOfTree,
    /// Signed in-tree modules selected from the pinned kernel's module tree.
    KmodInTree,
    /// Firmware files.
    Firmware,
    /// Prebuilt upstream release archives.
    Tarball,
    /// Vendor-built binaries installed as pinned ([`Payload`]): a per-arch file or archive member,
    /// its ELF machine checked, recorded in the SBOM as a binary component.
    Prebuilt,
    /// Configuration only (CRI parts, udev rules, ...).
    ConfigOnly,
    /// Several of the above.
    Mixed,
    /// An internal library stage (`extensions/internal/<lib>/`): built into a sysroot that
    /// dependent recipes link against; never published.
    Library,
    /// A placeholder image that ships no software (upstream's deprecated extensions, kept so
    /// that existing installer configurations keep resolving).
    Noop,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::CBuild => "c-build",
            Kind::GoBuild => "go-build",
            Kind::KmodOutOfTree => "kmod-out-of-tree",
            Kind::KmodInTree => "kmod-in-tree",
            Kind::Firmware => "firmware",
            Kind::Tarball => "tarball",
            Kind::Prebuilt => "prebuilt",
            Kind::ConfigOnly => "config-only",
            Kind::Mixed => "mixed",
            Kind::Library => "library",
            Kind::Noop => "noop",
        }
    }
}

/// The version string convention (Talos/extensions `VERSION` conventions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "format", rename_all = "kebab-case", deny_unknown_fields)]
pub enum VersionSpec {
    /// The upstream version as is: `2.42.2`, `v0.25.1`, `1.29`.
    Upstream { upstream: String },
    /// `<upstream>-<talos tag>`: out-of-tree drivers built per Talos release.
    UpstreamTalos { upstream: String },
    /// `<talos tag>`: in-tree kernel modules.
    Talos,
    /// The firmware release date `YYYYMMDD`.
    Firmware { date: String },
    /// `<firmware date>-<talos tag>`: firmware that also ships modules.
    FirmwareTalos { date: String },
    /// `<commit>-<talos tag>`: drivers pinned to an upstream commit.
    CommitTalos { commit: String },
    /// A literal version that follows no upstream release (upstream hard-codes it, e.g. the
    /// deprecated placeholders' last version).
    Fixed { version: String },
}

impl VersionSpec {
    /// The version string for a Talos tag.
    pub fn render(&self, talos_tag: &str) -> String {
        match self {
            VersionSpec::Upstream { upstream } => upstream.clone(),
            VersionSpec::UpstreamTalos { upstream } => format!("{upstream}-{talos_tag}"),
            VersionSpec::Talos => talos_tag.to_string(),
            VersionSpec::Firmware { date } => date.clone(),
            VersionSpec::FirmwareTalos { date } => format!("{date}-{talos_tag}"),
            VersionSpec::CommitTalos { commit } => format!("{commit}-{talos_tag}"),
            VersionSpec::Fixed { version } => version.clone(),
        }
    }

    /// The format's name as written in metadata.
    pub fn format_name(&self) -> &'static str {
        match self {
            VersionSpec::Upstream { .. } => "upstream",
            VersionSpec::UpstreamTalos { .. } => "upstream-talos",
            VersionSpec::Talos => "talos",
            VersionSpec::Firmware { .. } => "firmware",
            VersionSpec::FirmwareTalos { .. } => "firmware-talos",
            VersionSpec::CommitTalos { .. } => "commit-talos",
            VersionSpec::Fixed { .. } => "fixed",
        }
    }

    /// The non-Talos part (`""` for [`VersionSpec::Talos`]).
    pub fn upstream_part(&self) -> &str {
        match self {
            VersionSpec::Upstream { upstream }
            | VersionSpec::UpstreamTalos { upstream }
            | VersionSpec::Fixed { version: upstream } => upstream,
            VersionSpec::Talos => "",
            VersionSpec::Firmware { date } | VersionSpec::FirmwareTalos { date } => date,
            VersionSpec::CommitTalos { commit } => commit,
        }
    }

    fn check(&self) -> Result<(), String> {
        let part = self.upstream_part();
        let ok = match self {
            VersionSpec::Talos => true,
            VersionSpec::Upstream { .. } | VersionSpec::UpstreamTalos { .. } | VersionSpec::Fixed { .. } => {
                !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
            }
            VersionSpec::Firmware { .. } | VersionSpec::FirmwareTalos { .. } => {
                part.len() == 8 && part.bytes().all(|b| b.is_ascii_digit())
            }
            VersionSpec::CommitTalos { .. } => {
                (7..=40).contains(&part.len()) && part.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            }
        };
        if ok {
            Ok(())
        } else {
            let want = match self {
                VersionSpec::Firmware { .. } | VersionSpec::FirmwareTalos { .. } => "a date YYYYMMDD",
                VersionSpec::CommitTalos { .. } => "7 to 40 lowercase hex digits",
                _ => "a non-empty version of letters, digits, `.`, `-`, `_`",
            };
            Err(format!("version: `{part}` is not {want} (format `{}`)", self.format_name()))
        }
    }
}

/// One pinned upstream source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// A short id the recipe refers to (`util-linux`); unique per arch within a recipe.
    pub name: String,
    pub url: String,
    pub sha256: Sha256,
    pub sha512: Sha512,
    /// Only for this arch; `None` means every arch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<Arch>,
}

impl Source {
    /// The file name part of the URL (used for unpacking by extension).
    pub fn file_name(&self) -> &str {
        let path = self.url.split(['?', '#']).next().unwrap_or(&self.url);
        path.rsplit('/').next().unwrap_or(path)
    }
}

/// One vendor-built file a `prebuilt` recipe installs (`[[payloads]]`): a pinned source (per arch
/// through the sources' `arch`), either the whole downloaded file or one member of the archive,
/// installed at `dest` with `mode`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// The name of the pinned source (`sources[].name`) it comes from, for each arch it applies to.
    pub source: String,
    /// The path of the file inside the source's tar or zip archive (as listed, without a leading
    /// `./`); unset: the downloaded file itself is the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// Where it goes, relative to the rootfs (`usr/local/bin/crun`).
    pub dest: String,
    /// Its permission bits (`0o755`).
    pub mode: u32,
    /// Only for this arch; `None` means every arch of the extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<Arch>,
    /// The ELF interpreter the binary is linked against, when it is dynamically linked (the
    /// vendor's build); unset: it must be statically linked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loader: Option<String>,
}

impl Payload {
    /// `dest` as an absolute path on the node (`/usr/local/bin/crun`).
    pub fn node_path(&self) -> String {
        format!("/{}", self.dest)
    }
}

/// `[package.metadata.talos-extension]` of an extension crate, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionMeta {
    /// The extension name: the cargo package name (filled in, not written in the table).
    #[serde(skip_deserializing, default)]
    pub name: String,
    /// The catalog category; equals the directory `extensions/<category>/`.
    pub category: String,
    pub tier: Tier,
    pub kind: Kind,
    pub author: String,
    /// One line, without the `[tier]` prefix (added in `manifest.yaml`).
    pub description: String,
    /// Talos compatibility constraint, e.g. `>= v1.9.0`; empty means none.
    #[serde(default)]
    pub compatibility: String,
    pub arches: Vec<Arch>,
    pub version: VersionSpec,
    #[serde(default)]
    pub sources: Vec<Source>,
    /// SPDX license expression of the upstream code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// The kernel toolchain (`toolchain/toolchains/<name>.toml`) modules are built with or taken
    /// from; unset means the pin's default by rule (see [`crate::toolchain::select`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toolchain: Option<String>,
    /// In-tree kernel modules to take from the toolchain's module tree, per arch, as paths
    /// relative to `/usr/lib/modules/<release>/` (`kernel/drivers/input/misc/uinput.ko`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub modules: std::collections::BTreeMap<Arch, Vec<String>>,
    /// CPE 2.3 names of the upstream software (`cpe:2.3:a:vendor:product:version:*:*:*:*:*:*:*`),
    /// written to the SBOM as `cpe23Type` references for vulnerability scanners.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpes: Vec<String>,
    /// Package URL of the upstream software (`pkg:github/containers/crun@1.29`), written to the
    /// SBOM as a `purl` reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// Why this extension declares no license or no CPE/purl (configuration only, ...): silences
    /// the SBOM lint ([`crate::sbom_lint::lint`]), which otherwise requires both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sbom_exempt: Option<String>,
    /// The vendor-built files of a `prebuilt` recipe (only that kind has them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payloads: Vec<Payload>,
    /// The Go build of a `go-build` recipe (module, packages, stamps, module graph hash); only
    /// that kind has one, and it must.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go: Option<crate::go::GoBuild>,
    /// The paths a `firmware` recipe ships from the pinned linux-firmware release (files,
    /// directories, `*`/`?` globs), relative to the release's top directory; they land under
    /// `/usr/lib/firmware/` (see [`crate::firmware`]). A `firmware` recipe must have them; a
    /// `mixed` one may (in-tree modules plus the firmware they load); no other kind has them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub firmware: Vec<String>,
}

/// Extension metadata that is missing or wrong, naming the package and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("extension `{package}`: package.metadata.{METADATA_KEY}.{field}: {message}")]
pub struct MetaError {
    pub package: String,
    /// The dotted path below the metadata table (`tier`, `sources[1].sha256`, ...).
    pub field: String,
    pub message: String,
}

impl ExtensionMeta {
    /// Parses the metadata table from cargo metadata JSON (`package.metadata[METADATA_KEY]`).
    pub fn from_json(package: &str, value: &serde_json::Value) -> Result<ExtensionMeta, MetaError> {
        let meta = serde_path_to_error::deserialize(value).map_err(|e| MetaError {
            package: package.to_string(),
            field: e.path().to_string(),
            message: e.inner().to_string(),
        })?;
        Self::finish(package, meta)
    }

    /// Parses the metadata table from TOML text (the body of the table).
    pub fn from_toml_str(package: &str, text: &str) -> Result<ExtensionMeta, MetaError> {
        let de = toml::Deserializer::parse(text).map_err(|e| MetaError {
            package: package.to_string(),
            field: ".".into(),
            message: e.to_string(),
        })?;
        let meta = serde_path_to_error::deserialize(de).map_err(|e| MetaError {
            package: package.to_string(),
            field: e.path().to_string(),
            message: e.inner().message().to_string(),
        })?;
        Self::finish(package, meta)
    }

    /// Reads the table out of a whole `Cargo.toml` text; `Ok(None)` when it is not an extension.
    pub fn from_cargo_toml(text: &str) -> Result<Option<ExtensionMeta>, MetaError> {
        let err = |field: &str, message: String| MetaError { package: "?".into(), field: field.into(), message };
        let doc: toml::Table = toml::from_str(text).map_err(|e| err(".", e.to_string()))?;
        let package = doc.get("package").and_then(|p| p.as_table());
        let name = package.and_then(|p| p.get("name")).and_then(|n| n.as_str()).unwrap_or("?").to_string();
        let Some(table) = package.and_then(|p| p.get("metadata")).and_then(|m| m.get(METADATA_KEY)) else {
            return Ok(None);
        };
        let json = serde_json::to_value(table).map_err(|e| err(".", e.to_string()))?;
        Self::from_json(&name, &json).map(Some)
    }

    fn finish(package: &str, mut meta: ExtensionMeta) -> Result<ExtensionMeta, MetaError> {
        meta.name = package.to_string();
        meta.check().map_err(|(field, message)| MetaError { package: package.to_string(), field, message })?;
        Ok(meta)
    }

    fn check(&self) -> Result<(), (String, String)> {
        let fail = |field: &str, message: String| Err((field.to_string(), message));
        if self.category.is_empty() || !self.category.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
            return fail("category", format!("`{}` is not a lowercase directory name", self.category));
        }
        if (self.kind == Kind::Library) != (self.category == INTERNAL_CATEGORY) {
            return fail(
                "kind",
                format!(
                    "`library` goes with category `{INTERNAL_CATEGORY}` and only with it (kind `{}`, category `{}`)",
                    self.kind, self.category
                ),
            );
        }
        for (field, value) in [("author", &self.author), ("description", &self.description)] {
            if value.trim().is_empty() {
                return fail(field, "must not be empty".into());
            }
        }
        if self.description.starts_with('[') {
            return fail("description", "leave out the `[tier]` prefix: manifest.yaml gets it from `tier`".into());
        }
        if self.arches.is_empty() {
            return fail("arches", "must name at least one of `amd64`, `arm64`".into());
        }
        let mut arches = self.arches.clone();
        arches.sort();
        arches.dedup();
        if arches.len() != self.arches.len() {
            return fail("arches", "lists an arch twice".into());
        }
        if !self.compatibility.trim().is_empty()
            && let Err(e) = constraint::Constraint::parse(&self.compatibility)
        {
            return fail("compatibility", e.to_string());
        }
        self.version.check().map_err(|m| ("version".to_string(), m))?;
        if self.kind == Kind::Noop {
            if !self.sources.is_empty() {
                return fail("sources", "a `noop` placeholder ships no software, so it pins no sources".into());
            }
            if self.modules.values().any(|m| !m.is_empty()) {
                return fail("modules", "a `noop` placeholder ships no modules".into());
            }
        }
        for (i, s) in self.sources.iter().enumerate() {
            if s.name.is_empty() || !s.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
                return fail(&format!("sources[{i}].name"), format!("`{}` is not a simple id", s.name));
            }
            if !(s.url.starts_with("https://") || s.url.starts_with("http://")) {
                return fail(&format!("sources[{i}].url"), format!("`{}` is not an http(s) URL", s.url));
            }
            if let Some(a) = s.arch
                && !self.arches.contains(&a)
            {
                return fail(&format!("sources[{i}].arch"), format!("`{a}` is not one of the extension's arches"));
            }
            let clash = self.sources[..i]
                .iter()
                .any(|o| o.name == s.name && (o.arch.is_none() || s.arch.is_none() || o.arch == s.arch));
            if clash {
                return fail(
                    &format!("sources[{i}].name"),
                    format!("`{}` is declared twice for the same arch", s.name),
                );
            }
        }
        for (arch, list) in &self.modules {
            if !self.arches.contains(arch) {
                return fail(&format!("modules.{arch}"), format!("`{arch}` is not one of the extension's arches"));
            }
            for (i, m) in list.iter().enumerate() {
                let plain = m.split('/').all(|c| !c.is_empty() && c != "." && c != "..");
                if !m.starts_with("kernel/") || !m.ends_with(".ko") || !plain {
                    return fail(
                        &format!("modules.{arch}[{i}]"),
                        format!("`{m}` is not a module path like `kernel/drivers/x/y.ko`"),
                    );
                }
            }
        }
        self.check_payloads()?;
        self.check_firmware()?;
        match (&self.go, self.kind) {
            (Some(go), Kind::GoBuild) => {
                go.check()?;
                if let Some(name) = &go.source
                    && !self.sources.iter().any(|s| &s.name == name && s.arch.is_none())
                {
                    return fail(
                        "go.source",
                        format!("`{name}` is not a source the recipe pins for every arch (its `sources` entries)"),
                    );
                }
            }
            (None, Kind::GoBuild) => {
                return fail("go", "a `go-build` recipe declares its Go build in a `[go]` table".into());
            }
            (Some(_), other) => return fail("go", format!("only a `go-build` recipe has a Go build (kind `{other}`)")),
            (None, _) => {}
        }
        if let Some(name) = &self.toolchain
            && (name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
        {
            return fail(
                "toolchain",
                format!("`{name}` is not a toolchain name (a file stem in toolchain/toolchains/)"),
            );
        }
        Ok(())
    }

    fn check_payloads(&self) -> Result<(), (String, String)> {
        let fail = |i: usize, field: &str, message: String| Err((format!("payloads[{i}].{field}"), message));
        if self.kind == Kind::Prebuilt && self.payloads.is_empty() {
            return Err(("payloads".into(), "a `prebuilt` recipe declares the files it installs here".into()));
        }
        if self.kind != Kind::Prebuilt && !self.payloads.is_empty() {
            return Err(("payloads".into(), format!("only kind `prebuilt` installs payloads (kind `{}`)", self.kind)));
        }
        for (i, p) in self.payloads.iter().enumerate() {
            if let Some(a) = p.arch
                && !self.arches.contains(&a)
            {
                return fail(i, "arch", format!("`{a}` is not one of the extension's arches"));
            }
            for arch in self.arches.iter().filter(|a| p.arch.is_none_or(|pa| pa == **a)) {
                if self.source(&p.source, *arch).is_none() {
                    return fail(i, "source", format!("no source `{}` is pinned for {arch}", p.source));
                }
            }
            let plain =
                |path: &str| !path.is_empty() && path.split('/').all(|c| !c.is_empty() && c != "." && c != "..");
            if let Some(m) = &p.member
                && !plain(m)
            {
                return fail(i, "member", format!("`{m}` is not a relative path inside the archive (no `./`, `..`)"));
            }
            if !plain(&p.dest) {
                return fail(
                    i,
                    "dest",
                    format!("`{}` is not a relative path inside the rootfs (like `usr/local/bin/x`)", p.dest),
                );
            }
            if p.mode > 0o7777 {
                return fail(i, "mode", format!("{:o} is not a file mode (write it as `0o755`)", p.mode));
            }
            if let Some(l) = &p.loader
                && !l.starts_with('/')
            {
                return fail(i, "loader", format!("`{l}` is not an absolute path"));
            }
            let clash = self.payloads[..i]
                .iter()
                .any(|o| o.dest == p.dest && (o.arch.is_none() || p.arch.is_none() || o.arch == p.arch));
            if clash {
                return fail(i, "dest", format!("`{}` is installed twice for the same arch", p.dest));
            }
        }
        Ok(())
    }

    fn check_firmware(&self) -> Result<(), (String, String)> {
        let fail = |field: &str, message: String| Err((field.to_string(), message));
        if self.firmware.is_empty() {
            if self.kind == Kind::Firmware {
                return fail(
                    "firmware",
                    "a `firmware` recipe lists the linux-firmware paths it ships (files, directories, globs)".into(),
                );
            }
            return Ok(());
        }
        if !matches!(self.kind, Kind::Firmware | Kind::Mixed) {
            return fail(
                "firmware",
                format!(
                    "only kinds `firmware` and `mixed` (in-tree modules plus their firmware) ship linux-firmware paths (kind `{}`)",
                    self.kind
                ),
            );
        }
        if self.kind == Kind::Firmware && !self.sources.is_empty() {
            return fail(
                "sources",
                format!(
                    "a `firmware` recipe takes its files from the linux-firmware release pinned in {}; it pins no sources",
                    crate::firmware::LINUX_FIRMWARE_PATH
                ),
            );
        }
        for (i, path) in self.firmware.iter().enumerate() {
            crate::firmware::check_selection(path).or_else(|m| fail(&format!("firmware[{i}]"), m))?;
            if self.firmware[..i].contains(path) {
                return fail(&format!("firmware[{i}]"), format!("`{path}` is listed twice"));
            }
        }
        Ok(())
    }

    /// The payloads that apply to one arch, in declaration order.
    pub fn payloads_for(&self, arch: Arch) -> impl Iterator<Item = &Payload> {
        self.payloads.iter().filter(move |p| p.arch.is_none_or(|a| a == arch))
    }

    /// The in-tree modules to select for one arch (empty when none are declared).
    pub fn modules_for(&self, arch: Arch) -> &[String] {
        self.modules.get(&arch).map(Vec::as_slice).unwrap_or_default()
    }

    /// The sources that apply to one arch, in declaration order.
    pub fn sources_for(&self, arch: Arch) -> impl Iterator<Item = &Source> {
        self.sources.iter().filter(move |s| s.arch.is_none_or(|a| a == arch))
    }

    /// Looks up a source by name for an arch.
    pub fn source(&self, name: &str, arch: Arch) -> Option<&Source> {
        self.sources_for(arch).find(|s| s.name == name)
    }

    /// Whether this extension ships files of the pinned linux-firmware release (`firmware`
    /// recipes, and `mixed` ones that pair in-tree modules with their firmware).
    pub fn uses_linux_firmware(&self) -> bool {
        !self.firmware.is_empty()
    }

    /// Whether this is an internal library stage rather than a published extension.
    pub fn is_internal(&self) -> bool {
        self.kind == Kind::Library
    }

    /// Whether this extension builds or selects kernel modules, by its metadata alone: its kind
    /// is `kmod-out-of-tree` or `kmod-in-tree`, it lists in-tree `modules`, or it names a
    /// `toolchain`. Those are the extensions a kernel toolchain applies to
    /// ([`crate::toolchain::select`] says which one).
    pub fn uses_kernel_toolchain(&self) -> bool {
        matches!(self.kind, Kind::KmodOutOfTree | Kind::KmodInTree)
            || !self.modules.is_empty()
            || self.toolchain.is_some()
    }

    /// The version string for the pinned Talos tag.
    pub fn version_string(&self, talos_tag: &str) -> String {
        self.version.render(talos_tag)
    }

    /// The Talos `manifest.yaml` for this extension.
    pub fn manifest(&self, talos_tag: &str) -> Manifest {
        Manifest {
            version: MANIFEST_VERSION.to_string(),
            metadata: Metadata {
                name: self.name.clone(),
                version: self.version_string(talos_tag),
                author: self.author.clone(),
                description: format!("[{}] {}", self.tier.as_str(), self.description.trim()),
                compatibility: Compatibility { talos: TalosCompatibility { version: self.compatibility.clone() } },
                extra_info: String::new(),
            },
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
category = "examples"
tier = "core"
kind = "c-build"
author = "someone"
description = "does things"
compatibility = ">= v1.0.0"
arches = ["amd64", "arm64"]
"#;

    fn parse(extra: &str) -> Result<ExtensionMeta, MetaError> {
        ExtensionMeta::from_toml_str("x", &format!("{BASE}{extra}"))
    }

    #[test]
    fn noop_placeholders_pin_nothing() {
        let noop = |extra: &str| {
            ExtensionMeta::from_toml_str(
                "x",
                &format!("{}{extra}", BASE.replace(r#"kind = "c-build""#, r#"kind = "noop""#)),
            )
        };
        let m = noop(r#"version = { format = "fixed", version = "v4.6" }"#).unwrap();
        assert_eq!((m.kind, m.version_string("v1.14.0").as_str()), (Kind::Noop, "v4.6"));
        let src = format!(
            "version = {{ format = \"fixed\", version = \"v4.6\" }}\n[[sources]]\nname = \"a\"\nurl = \"https://x/a.tar.gz\"\nsha256 = \"{}\"\nsha512 = \"{}\"\n",
            "0".repeat(64),
            "0".repeat(128)
        );
        let e = noop(&src).unwrap_err();
        assert_eq!(e.field, "sources", "{e}");
    }

    #[test]
    fn renders_all_five_version_conventions() {
        let tag = "v1.14.0";
        let cases = [
            (r#"version = { format = "upstream", upstream = "2.42.2" }"#, "2.42.2"),
            (r#"version = { format = "upstream-talos", upstream = "2.4.3" }"#, "2.4.3-v1.14.0"),
            (r#"version = { format = "talos" }"#, "v1.14.0"),
            (r#"version = { format = "firmware", date = "20260810" }"#, "20260810"),
            (r#"version = { format = "firmware-talos", date = "20260810" }"#, "20260810-v1.14.0"),
            (r#"version = { format = "commit-talos", commit = "5815ee3" }"#, "5815ee3-v1.14.0"),
            (r#"version = { format = "fixed", version = "v4.6" }"#, "v4.6"),
        ];
        for (line, want) in cases {
            assert_eq!(parse(line).unwrap().version_string(tag), want, "{line}");
        }
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse(r#"version = { format = "firmware", date = "2026-08" }"#).unwrap_err();
        assert_eq!(e.field, "version");
        let e = ExtensionMeta::from_toml_str("x", &BASE.replace("\"core\"", "\"gold\"")).unwrap_err();
        assert_eq!(e.field, "tier");
        assert!(e.to_string().contains("package.metadata.talos-extension.tier"), "{e}");
        let src = format!(
            "version = {{ format = \"talos\" }}\n[[sources]]\nname = \"a\"\nurl = \"https://x/a.tar.gz\"\nsha256 = \"{}\"\nsha512 = \"bad\"\n",
            "0".repeat(64)
        );
        let e = parse(&src).unwrap_err();
        assert_eq!(e.field, "sources[0].sha512", "{e}");
    }

    #[test]
    fn kernel_toolchain_applies_to_module_recipes_only() {
        let v = r#"version = { format = "talos" }"#;
        assert!(!parse(v).unwrap().uses_kernel_toolchain(), "c-build");
        let kmod = ExtensionMeta::from_toml_str("x", &format!("{}{v}", BASE.replace("c-build", "kmod-out-of-tree")));
        assert!(kmod.unwrap().uses_kernel_toolchain());
        let modules = parse(&format!("{v}\n[modules]\namd64 = [\"kernel/a/b.ko\"]\n")).unwrap();
        assert!(modules.uses_kernel_toolchain(), "in-tree modules listed");
        assert!(parse(&format!("toolchain = \"debian-6.12\"\n{v}")).unwrap().uses_kernel_toolchain());
    }

    #[test]
    fn manifest_has_talos_shape() {
        let m = parse(r#"version = { format = "talos" }"#).unwrap().manifest("v1.14.0");
        let yaml = m.to_yaml();
        assert!(yaml.starts_with("version: v1alpha1\nmetadata:\n  name: x\n  version: v1.14.0\n"), "{yaml}");
        assert!(yaml.contains("description: '[core] does things'"), "{yaml}");
        assert!(yaml.contains("compatibility:\n    talos:\n      version: '>= v1.0.0'"), "{yaml}");
    }

    #[test]
    fn module_lists_and_toolchain() {
        let ok = parse(
            "version = { format = \"talos\" }\ntoolchain = \"debian-6.12\"\n[modules]\namd64 = [\"kernel/fs/btrfs/btrfs.ko\"]\n",
        )
        .unwrap();
        assert_eq!(ok.modules_for(Arch::Amd64), ["kernel/fs/btrfs/btrfs.ko"]);
        assert!(ok.modules_for(Arch::Arm64).is_empty());
        assert_eq!(ok.toolchain.as_deref(), Some("debian-6.12"));
        let e = parse("version = { format = \"talos\" }\n[modules]\namd64 = [\"kernel/../x.ko\"]\n").unwrap_err();
        assert_eq!(e.field, "modules.amd64[0]");
    }

    #[test]
    fn sbom_fields() {
        let m = parse(
            "version = { format = \"talos\" }\nlicense = \"GPL-2.0-only\"\n\
             cpes = [\"cpe:2.3:a:crun_project:crun:1.29:*:*:*:*:*:*:*\"]\npurl = \"pkg:github/containers/crun@1.29\"\n",
        )
        .unwrap();
        assert_eq!(m.cpes, ["cpe:2.3:a:crun_project:crun:1.29:*:*:*:*:*:*:*"]);
        assert_eq!(m.purl.as_deref(), Some("pkg:github/containers/crun@1.29"));
        assert_eq!(m.sbom_exempt, None);
        let m = parse("version = { format = \"talos\" }\nsbom_exempt = \"configuration only\"\n").unwrap();
        assert!(m.cpes.is_empty());
        assert_eq!(m.sbom_exempt.as_deref(), Some("configuration only"));
    }

    #[test]
    fn per_arch_sources() {
        let z = "0".repeat(64);
        let f = "f".repeat(128);
        let src = format!(
            "version = {{ format = \"talos\" }}\n\
             [[sources]]\nname = \"fw\"\nurl = \"https://x/a\"\nsha256 = \"{z}\"\nsha512 = \"{f}\"\narch = \"amd64\"\n\
             [[sources]]\nname = \"fw\"\nurl = \"https://x/b\"\nsha256 = \"{z}\"\nsha512 = \"{f}\"\narch = \"arm64\"\n"
        );
        let m = parse(&src).unwrap();
        assert_eq!(m.source("fw", Arch::Arm64).unwrap().url, "https://x/b");
        let dup = src.replace("arch = \"arm64\"", "");
        assert_eq!(parse(&dup).unwrap_err().field, "sources[1].name");
    }

    #[test]
    fn firmware_paths_belong_to_firmware_recipes() {
        let firmware = |extra: &str| {
            ExtensionMeta::from_toml_str(
                "x",
                &format!(
                    "{}version = {{ format = \"firmware\", date = \"20260810\" }}\n{extra}",
                    BASE.replace("c-build", "firmware")
                ),
            )
        };
        let m = firmware("firmware = [\"bnx2\", \"ql*_fw.bin\", \"intel/ice/ddp/ice.pkg\"]\n").unwrap();
        assert_eq!(m.firmware, ["bnx2", "ql*_fw.bin", "intel/ice/ddp/ice.pkg"]);
        assert_eq!(firmware("").unwrap_err().field, "firmware");
        let e = firmware("firmware = [\"bnx2\", \"/usr/lib/firmware/bnx2x\"]\n").unwrap_err();
        assert_eq!(e.field, "firmware[1]", "{e}");
        assert_eq!(firmware("firmware = [\"a\", \"a\"]\n").unwrap_err().field, "firmware[1]");
        let src = format!(
            "firmware = [\"a\"]\n[[sources]]\nname = \"a\"\nurl = \"https://x/a.tar.gz\"\nsha256 = \"{}\"\nsha512 = \"{}\"\n",
            "0".repeat(64),
            "0".repeat(128)
        );
        assert_eq!(firmware(&src).unwrap_err().field, "sources");
        let e = parse("version = { format = \"talos\" }\nfirmware = [\"a\"]\n").unwrap_err();
        assert_eq!(e.field, "firmware", "only kinds firmware and mixed: {e}");
        // In-tree modules plus their firmware: a `mixed` recipe may list both, sources too.
        let mixed = ExtensionMeta::from_toml_str(
            "x",
            &format!(
                "{}version = {{ format = \"firmware-talos\", date = \"20260810\" }}\n\
                 firmware = [\"amdgpu\"]\nmodules.amd64 = [\"kernel/drivers/gpu/drm/amd/amdgpu/amdgpu.ko\"]\n{src}",
                BASE.replace("c-build", "mixed"),
                src = src.replacen("firmware = [\"a\"]\n", "", 1)
            ),
        )
        .unwrap();
        assert!(mixed.uses_linux_firmware() && mixed.uses_kernel_toolchain());
        assert!(m.uses_linux_firmware() && !parse("version = { format = \"talos\" }\n").unwrap().uses_linux_firmware());
    }

    #[test]
    fn prebuilt_payloads() {
        let z = "0".repeat(64);
        let f = "f".repeat(128);
        let prebuilt = |extra: &str| {
            ExtensionMeta::from_toml_str(
                "x",
                &format!(
                    "{}version = {{ format = \"upstream\", upstream = \"1.0\" }}\n\
                     [[sources]]\nname = \"bin\"\nurl = \"https://x/a-amd64\"\nsha256 = \"{z}\"\nsha512 = \"{f}\"\narch = \"amd64\"\n\
                     [[sources]]\nname = \"bin\"\nurl = \"https://x/a-arm64.tar.gz\"\nsha256 = \"{z}\"\nsha512 = \"{f}\"\narch = \"arm64\"\n{extra}",
                    BASE.replace("c-build", "prebuilt")
                ),
            )
        };
        let m = prebuilt("[[payloads]]\nsource = \"bin\"\ndest = \"usr/local/bin/a\"\nmode = 0o755\n").unwrap();
        assert_eq!(m.kind, Kind::Prebuilt);
        let p = m.payloads_for(Arch::Arm64).next().unwrap();
        assert_eq!((p.mode, p.member.as_deref(), p.node_path().as_str()), (0o755, None, "/usr/local/bin/a"));
        assert_eq!(prebuilt("").unwrap_err().field, "payloads");
        let e = prebuilt("[[payloads]]\nsource = \"nope\"\ndest = \"usr/local/bin/a\"\nmode = 0o755\n").unwrap_err();
        assert_eq!(e.field, "payloads[0].source", "{e}");
        assert!(e.message.contains("`nope`"), "{e}");
        let e = prebuilt("[[payloads]]\nsource = \"bin\"\ndest = \"/usr/local/bin/a\"\nmode = 0o755\n").unwrap_err();
        assert_eq!(e.field, "payloads[0].dest", "{e}");
        let e =
            prebuilt("[[payloads]]\nsource = \"bin\"\nmember = \"./a\"\ndest = \"usr/local/bin/a\"\nmode = 0o755\n")
                .unwrap_err();
        assert_eq!(e.field, "payloads[0].member", "{e}");
        let e = prebuilt("[[payloads]]\nsource = \"bin\"\ndest = \"usr/local/bin/a\"\nmode = 0o17777\n").unwrap_err();
        assert_eq!(e.field, "payloads[0].mode", "{e}");
        let e = parse(
            "version = { format = \"talos\" }\n[[payloads]]\nsource = \"bin\"\ndest = \"usr/local/bin/a\"\nmode = 0o755\n",
        )
        .unwrap_err();
        assert_eq!(e.field, "payloads", "only prebuilt: {e}");
    }
}
