//! The extension validator: checks an extension tree (`manifest.yaml` + `rootfs/`) against Talos'
//! rules and, optionally, a stricter set of our own.
//!
//! - [`Tree`] ([`tree`]) is the input: read from a directory or from an uncompressed tar stream.
//! - [`validate`] ([`rules`]) applies every rule and returns a [`Report`] ([`report`]) holding
//!   **all** [`Finding`]s, never only the first.
//! - The Talos rules reproduce Talos' loader and `validateContents` and siderolabs'
//!   `extensions-validator` exactly, in both modes: layout, manifest version, package name,
//!   version patterns, compatibility constraint (via [`talos_ext_model::constraint`]), service specs
//!   ([`service`]), special files and the string-prefix allowlist [`ALLOWED_PATHS`].
//! - Strict rules ([`Rule::is_strict_only`]) add what Talos means but does not enforce:
//!   world-writable files and directories, allowlist matches on a component boundary, hardlinks,
//!   symlinks escaping the rootfs or pointing outside the allowed paths, setuid/setgid files,
//!   duplicate tar entries, keys outside Talos' schemas of `manifest.yaml` and the service specs
//!   (which Talos silently ignores; [`talos_ext_model::yaml_keys`]); and kernel-module checks
//!   ([`modules`]): signatures, vermagic, release directory, signer, compression, arch; and
//!   containerd CRI configuration parts ([`cri`]): TOML setting containerd keys.
//!
//! This crate reads the tree it is given and nothing else: no processes, no network.
//! [`validate_dir`] reads only what the rules need: listings, the manifest and service specs,
//! modes and link counts in strict mode, and modules when it checks them, one at a time.
//!
//! ```
//! use talos_ext_validate::{Entry, Options, Rule, Tree, validate};
//! let manifest = "version: v1alpha1\nmetadata:\n  name: hello\n  version: 1.0.0\n";
//! let tree = Tree::from_entries(vec![
//!     Entry::file("manifest.yaml", 0o644, manifest.as_bytes()),
//!     Entry::dir("rootfs", 0o755),
//!     Entry::file("rootfs/usr/local/bin/hello", 0o755, b""),
//!     Entry::file("rootfs/usr/localx", 0o644, b""),
//! ]);
//! let opts =
//!     Options { strict: true, pkg_name: Some("hello".into()), talos_version: "v1.14.0".into(), kernel: None };
//! let report = validate(&tree, &opts);
//! assert_eq!(report.findings.len(), 1);
//! assert_eq!(report.findings[0].rule, Rule::AllowlistBoundary);
//! assert_eq!(report.findings[0].path, "/usr/localx");
//! ```

pub mod cri;
pub mod modules;
pub mod report;
pub mod rules;
pub mod service;
pub mod tree;

pub use modules::{CertificateError, KernelExpectation, certificate_key_id, is_module_path};
pub use report::{Finding, Report, Rule};
pub use rules::{ALLOWED_PATHS, Options, validate, validate_dir, validate_tar};
pub use tree::{Entry, EntryKind, Error, Tree};

pub(crate) use talos_ext_model::constraint::go_quote;
