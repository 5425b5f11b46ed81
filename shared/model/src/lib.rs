//! The extension model: what an extension *is*, independent of how it is built.
//!
//! Every extension crate declares itself in its `Cargo.toml` under
//! `[package.metadata.talos-extension]`; [`ExtensionMeta`] is that table, parsed and checked once
//! here. The extension's name is its cargo package name: there is no second registry of names.
//! From the model and the workspace's Talos pin ([`Pin`], `toolchain/pin.toml`) come the version
//! string ([`VersionSpec::render`]) and the Talos `manifest.yaml` ([`Manifest`]).
//!
//! [`yaml_keys`] finds keys outside a schema (such as [`Manifest::SCHEMA`]) in documents that
//! Talos decodes leniently.
//!
//! [`handoff`] is the contract between `cargo xtask build` and the build scripts (the
//! environment xtask sets, the staged-info file the scripts write back).
//!
//! It also holds the primitives every other crate names content and images by: the checksums
//! [`Sha256`] and [`Sha512`], the OCI digest [`Digest`], and image references ([`Reference`],
//! [`Repository`]), parsed and checked once.
//!
//! This crate does no I/O except reading the small pin and toolchain files; it never spawns
//! processes or touches the network. Feature `hash` adds [`Digest::of`] (and the `sha2` crate).
//!
//! ```
//! use talos_ext_model::{ExtensionMeta, Pin};
//! let meta = ExtensionMeta::from_toml_str("hello", r#"
//!     category = "examples"
//!     tier = "core"
//!     kind = "c-build"
//!     author = "Talos extensions in Rust"
//!     description = "An example extension service"
//!     compatibility = ">= v1.0.0"
//!     arches = ["amd64", "arm64"]
//!     version = { format = "upstream-talos", upstream = "1.0.0" }
//! "#).unwrap();
//! let pin = Pin::from_toml_str("[talos]\ntag = \"v1.14.0\"\n[kernel]\nrelease = \"6.18.45-talos\"\n").unwrap();
//! assert_eq!(meta.version.render(&pin.talos.tag), "1.0.0-v1.14.0");
//! let manifest = meta.manifest(&pin.talos.tag);
//! assert!(manifest.to_yaml().starts_with("version: v1alpha1\n"));
//! ```

mod arch;
pub mod constraint;
mod digest;
pub mod firmware;
pub mod go;
pub mod handoff;
mod manifest;
mod meta;
mod pin;
mod reference;
pub mod sbom_lint;
mod time;
pub mod toolchain;
pub mod yaml_keys;

pub use arch::{Arch, ArchParseError};
pub use digest::{Digest, DigestParseError, Sha256, Sha512};
pub use firmware::{LINUX_FIRMWARE, LINUX_FIRMWARE_PATH, LinuxFirmware};
pub use go::{GO_TOOLCHAIN_PATH, GO_WRAPPER_DIR, GoBuild, GoLibc, GoToolchain, glibc_loader};
pub use manifest::{Compatibility, MANIFEST_VERSION, Manifest, ManifestError, Metadata, TalosCompatibility};
pub use meta::{ExtensionMeta, INTERNAL_CATEGORY, Kind, METADATA_KEY, MetaError, Payload, Source, Tier, VersionSpec};
pub use pin::{PIN_PATH, Pin, PinError, ToolchainDefaults};
pub use reference::{Reference, ReferenceError, Repository};
pub use time::{parse_rfc3339_utc, rfc3339_utc};
pub use toolchain::{KEYS_LOCK_PATH, KeysLock, TOOLCHAINS_DIR, Toolchain, ToolchainSpec};
