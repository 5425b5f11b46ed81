//! SPDX 2.3 JSON SBOMs for extensions, generated from the recipe model, and the lint that keeps
//! recipes SBOM-ready.
//!
//! Talos reads every regular `*.spdx.json` file in `/usr/local/share/spdx/` on the node
//! ([`SPDX_DIR`], [`spdx_path`]) and turns each `packages[]` entry into an `SBOMItem` from its
//! `name`, `versionInfo`, `licenseConcluded` (falling back to `licenseDeclared` when that is
//! `NOASSERTION`) and `externalRefs` of type `cpe23Type` and `purl`. [`generate`] writes one such
//! document per extension, shaped like bldr's (syft's `spdxjson` encoder): one package for the
//! extension, one `files[]` entry per pinned source with its SHA-256 and SHA-512, a
//! `DESCRIBES` relationship from the document and `GENERATED_FROM` from the package to each source.
//! Each internal library stage built into the extension ([`Component`]) is one more package with
//! its own sources, which the extension's package `CONTAINS`; so is each prebuilt payload (a
//! vendor's binary, [`Binary`]: purpose `APPLICATION`, named by its path on the node, with a
//! `files[]` entry of the installed bytes that it `CONTAINS`).
//!
//! The bytes depend only on [`SbomInput`]: keys in a fixed order, `created` is
//! `SOURCE_DATE_EPOCH`, and the `documentNamespace` ends in a UUIDv5 of the input.
//!
//! ```
//! use talos_ext_sbom::{SbomInput, generate, spdx_path};
//! let input = SbomInput {
//!     name: "hello".into(),
//!     version: "1.0.0-v1.14.0".into(),
//!     upstream_version: "1.0.0".into(),
//!     license: Some("MIT".into()),
//!     cpes: vec!["cpe:2.3:a:example:hello:1.0.0:*:*:*:*:*:*:*".into()],
//!     purl: None,
//!     sources: vec![],
//!     source_date_epoch: 0,
//!     namespace_base: "https://git.example.org/talos-ext/extensions".into(),
//!     components: vec![],
//! };
//! let json = String::from_utf8(generate(&input).unwrap()).unwrap();
//! assert!(json.contains(r#""licenseDeclared": "MIT""#));
//! assert_eq!(spdx_path("hello"), "usr/local/share/spdx/hello.spdx.json");
//! ```
//!
//! [`components`] reads a document's packages back (name and `versionInfo`), for the release diff.
//!
//! Not done here: scanning the staged tree for what it contains (syft's job in bldr), and license
//! expression validation beyond a character check.

mod document;
mod input;
mod read;

pub use document::{Checksum, CreationInfo, Document, ExternalRef, File, Package, Relationship, document, generate};
pub use input::{Binary, Component, SbomError, SbomInput};
pub use read::{PackageVersion, ReadError, components};
/// The lint that keeps recipes SBOM-ready (it checks metadata only, so the model owns it).
pub use talos_ext_model::sbom_lint::{SbomFields, lint};

/// Where Talos looks for SBOMs, relative to the extension's `rootfs/`.
pub const SPDX_DIR: &str = "usr/local/share/spdx";

/// The creator tool named in every document: `talos-ext-<crate version>`.
pub const TOOL: &str = concat!("talos-ext-", env!("CARGO_PKG_VERSION"));

/// `usr/local/share/spdx/<name>.spdx.json`, relative to the extension's `rootfs/`.
pub fn spdx_path(name: &str) -> String {
    format!("{SPDX_DIR}/{name}.spdx.json")
}
