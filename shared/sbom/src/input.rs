//! What an SBOM is generated from ([`SbomInput`]): plain values, so this crate does not care how
//! recipe metadata is parsed, plus the conversion from the extension model.

use serde::{Deserialize, Serialize};
use talos_ext_model::{Arch, ExtensionMeta, Sha256, Source};

/// Input that cannot make a valid document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sbom input `{field}`: {message}")]
pub struct SbomError {
    pub field: &'static str,
    pub message: String,
}

/// Everything one SBOM document is made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SbomInput {
    /// The extension name (package `name`, file name).
    pub name: String,
    /// The extension's full version (its image tag), e.g. `2.4.3-v1.14.0`.
    pub version: String,
    /// The upstream version (`versionInfo`), e.g. `2.4.3`.
    pub upstream_version: String,
    /// SPDX license expression (`licenseDeclared`); `None` writes `NOASSERTION`.
    pub license: Option<String>,
    /// CPE 2.3 names (`SECURITY`/`cpe23Type` references).
    pub cpes: Vec<String>,
    /// Package URL (`PACKAGE-MANAGER`/`purl` reference).
    pub purl: Option<String>,
    /// The pinned sources (`files[]`, with SHA-256 and SHA-512).
    pub sources: Vec<Source>,
    /// `creationInfo.created`, seconds since the epoch.
    pub source_date_epoch: u64,
    /// Where the project lives, e.g. `https://git.example.org/talos-ext/extensions`; the document
    /// namespace is `<namespace_base>/spdxdocs/<name>-<version>-<uuid>`.
    pub namespace_base: String,
    /// Upstream components built into the extension besides its own sources (the internal
    /// library stages it links), each a package of its own, sorted by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,
}

/// An upstream component an extension contains besides its own sources: an internal library
/// stage (libcrypto, libevent, ...), described by that library's own metadata, or a prebuilt
/// payload (a vendor-built binary, [`Binary`]) described by the extension's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// The library's name (package `name`).
    pub name: String,
    /// Its upstream version (`versionInfo`).
    pub version: String,
    /// SPDX license expression; `None` writes `NOASSERTION`.
    #[serde(default)]
    pub license: Option<String>,
    #[serde(default)]
    pub cpes: Vec<String>,
    #[serde(default)]
    pub purl: Option<String>,
    /// The pinned sources it was built from, for one arch.
    pub sources: Vec<Source>,
    /// Set for a prebuilt payload: the vendor's binary as installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<Binary>,
}

/// A vendor-built binary an extension installs as it was downloaded (or taken out of the
/// vendor's archive): a package of purpose `APPLICATION` that `CONTAINS` the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Binary {
    /// Its path on the node (`/usr/local/bin/crun`).
    pub path: String,
    /// The sha256 of the installed bytes.
    pub sha256: Sha256,
}

impl Component {
    /// The component an internal library stage's metadata describes (rendered for `talos_tag`),
    /// with the sources of `arch`.
    pub fn from_meta(meta: &ExtensionMeta, talos_tag: &str, arch: Arch) -> Component {
        let upstream = meta.version.upstream_part();
        Component {
            name: meta.name.clone(),
            version: if upstream.is_empty() { meta.version_string(talos_tag) } else { upstream.to_string() },
            license: meta.license.clone(),
            cpes: meta.cpes.clone(),
            purl: meta.purl.clone(),
            sources: meta.sources_for(arch).cloned().collect(),
            binary: None,
        }
    }
}

impl SbomInput {
    /// The input for an extension: its metadata rendered for `talos_tag`, with the sources of one
    /// arch (or all sources when `arch` is `None`). The upstream version is the version's upstream
    /// part, or the whole version for `talos`-format versions (in-tree modules).
    pub fn from_meta(
        meta: &ExtensionMeta,
        talos_tag: &str,
        arch: Option<Arch>,
        source_date_epoch: u64,
        namespace_base: &str,
    ) -> SbomInput {
        let version = meta.version_string(talos_tag);
        let upstream = meta.version.upstream_part();
        let sources = match arch {
            Some(a) => meta.sources_for(a).cloned().collect(),
            None => meta.sources.clone(),
        };
        SbomInput {
            name: meta.name.clone(),
            upstream_version: if upstream.is_empty() { version.clone() } else { upstream.to_string() },
            version,
            license: meta.license.clone(),
            cpes: meta.cpes.clone(),
            purl: meta.purl.clone(),
            sources,
            source_date_epoch,
            namespace_base: namespace_base.to_string(),
            components: Vec::new(),
        }
    }

    pub(crate) fn check(&self) -> Result<(), SbomError> {
        let fail = |field, message: &str| Err(SbomError { field, message: message.to_string() });
        if self.name.trim().is_empty() {
            return fail("name", "must not be empty");
        }
        if self.version.trim().is_empty() {
            return fail("version", "must not be empty");
        }
        if self.upstream_version.trim().is_empty() {
            return fail("upstream_version", "must not be empty");
        }
        for c in &self.components {
            if c.name.trim().is_empty() || c.version.trim().is_empty() {
                return fail("components", "every component needs a name and a version");
            }
            if c.name == self.name || self.components.iter().filter(|o| o.name == c.name).count() > 1 {
                return fail("components", "component names must be unique and differ from the extension's");
            }
        }
        let base = &self.namespace_base;
        let scheme_ok = base.split_once("://").is_some_and(|(s, rest)| {
            !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) && !rest.is_empty()
        });
        if !scheme_ok || base.contains(['#', ' ']) {
            return fail(
                "namespace_base",
                "must be an absolute URI without `#` or spaces, e.g. `https://example.org/x`",
            );
        }
        Ok(())
    }
}
