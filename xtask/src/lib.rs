//! `cargo xtask`: the command line of the workspace.
//!
//! Each subcommand is one module with a `run` function; the command line itself is declared once
//! in [`flags`], whose doc comments are the `--help` text. All commands work from the workspace
//! root, whatever the current directory, and find extensions through `cargo metadata`: an
//! extension is any workspace package with `[package.metadata.talos-extension]`.
//!
//! This crate is kept small on purpose (a test checks its dependency tree): `list` and the
//! staging half of `build` run here, everything that needs the image, validation, kernel or
//! registry crates runs in the [`engine`] binary, so that a no-op `cargo xtask build` costs
//! little more than the `cargo build` inside it.

pub mod bench;
pub mod build;
pub mod catalog;
pub mod engine;
pub mod flags;
pub mod list;
pub mod metadata;
pub mod sources;
#[cfg(test)]
mod tidy;

use std::path::PathBuf;

/// The variables `cargo run` sets for xtask itself (`CARGO_PKG_*`, `CARGO_MANIFEST_DIR`, ...).
///
/// They must not reach the cargo that xtask runs: cargo fingerprints some build scripts by the
/// values of such variables in its own environment (ring's, for one, by `CARGO_PKG_NAME`), and
/// a user's shell has none of them. Passed on, every `cargo xtask build` would rebuild those
/// crates, and everything above them, once for the inner build and once more for the next
/// `cargo xtask`.
pub fn cargo_run_vars() -> Vec<std::ffi::OsString> {
    const NAMES: [&str; 6] = [
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_RUSTC_CURRENT_DIR",
    ];
    std::env::vars_os()
        .map(|(k, _)| k)
        .filter(|k| k.to_str().is_some_and(|k| k.starts_with("CARGO_PKG_") || NAMES.contains(&k)))
        .collect()
}

/// `cmd` without [`cargo_run_vars`], for commands that run cargo.
pub fn without_cargo_run_vars(mut cmd: xshell::Cmd<'_>) -> xshell::Cmd<'_> {
    for name in cargo_run_vars() {
        cmd = cmd.env_remove(name);
    }
    cmd
}

/// The workspace root: the parent of this crate's directory.
pub fn workspace_root() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    dir.parent().map(PathBuf::from).unwrap_or(dir)
}

#[cfg(test)]
mod tests {
    /// `cargo test` sets the same variables for test processes as `cargo run` does for xtask.
    #[test]
    fn cargo_run_vars_are_the_ones_cargo_sets_for_the_crate() {
        let vars: Vec<String> = super::cargo_run_vars().into_iter().map(|v| v.into_string().unwrap()).collect();
        for want in ["CARGO_PKG_NAME", "CARGO_PKG_VERSION", "CARGO_MANIFEST_DIR"] {
            assert!(vars.iter().any(|v| v == want), "{want} missing from {vars:?}");
        }
        // What configures cargo itself stays.
        for keep in ["CARGO", "CARGO_HOME", "CARGO_TARGET_DIR", "CARGO_TERM_COLOR"] {
            assert!(!vars.iter().any(|v| v == keep), "{keep} must be kept");
        }
    }
}
