//! `cargo xtask`: the command line of the workspace (its front).
//!
//! Each subcommand is one module with a `run` function; the command line itself is declared once
//! in [`flags`], whose doc comments are the `--help` text. Commands find extensions through
//! `cargo metadata`: an extension is any workspace package with
//! `[package.metadata.talos-extension]`.
//!
//! This crate is kept small on purpose and is a cargo workspace of its own (`xtask/Cargo.toml`
//! says why; a test checks its dependency tree): `list`, `catalog`, `graph`, `ci`, `test`, `bench`
//! and the staging half of `build` run here, everything that needs the image, validation, kernel
//! or registry crates runs in the [`engine`] binary, so that a no-op `cargo xtask build` costs
//! little more than the `cargo build` inside it. `cargo xtask` runs from the workspace root (a
//! cargo alias cannot name a path relative to its config file); its tests are in `engine/tests/`.

pub mod bench;
pub mod build;
pub mod catalog;
pub mod ci;
pub mod engine;
pub mod engine_stamp;
pub mod flags;
pub mod graph;
pub mod list;
pub mod metadata;
pub mod readme;
pub mod sources;
pub mod test;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

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

/// A command of the user's own tools (cargo, the engine) in the workspace root: the user's
/// environment (they read the user's credentials, proxies and toolchain settings) without the
/// variables `cargo run` set for xtask ([`cargo_run_vars`]).
pub fn user_command(sh: &xshell::Shell, program: impl AsRef<std::ffi::OsStr>) -> talos_ext_process::Command {
    let mut command = talos_ext_process::Command::new(program).inherit_env().dir(sh.current_dir());
    for name in cargo_run_vars() {
        command = command.env_remove(&name.to_string_lossy());
    }
    command
}

/// `cmd` without [`cargo_run_vars`], for commands that run cargo.
pub fn without_cargo_run_vars(mut cmd: xshell::Cmd<'_>) -> xshell::Cmd<'_> {
    for name in cargo_run_vars() {
        cmd = cmd.env_remove(name);
    }
    cmd
}

/// The `main` of the front and of the engine: parses the command line ([`flags`]), runs
/// `dispatch` with a shell in the workspace root and the global `--verbose`/`--quiet`, and
/// prints an error with its causes.
pub fn main_with(
    dispatch: impl FnOnce(&xshell::Shell, flags::Command, flags::Verbosity) -> anyhow::Result<ExitCode>,
) -> ExitCode {
    let flags = flags::Xtask::parse();
    let verbosity = flags.verbosity();
    let result = xshell::Shell::new().map_err(anyhow::Error::from).and_then(|sh| {
        sh.change_dir(workspace_root());
        dispatch(&sh, flags.command, verbosity)
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Where xtask keeps what it remembers between commands (`<target>/xtask/`: the cargo metadata,
/// the engine's build stamp).
pub fn state_dir(root: &Path) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target"));
    root.join(target).join("xtask")
}

/// The workspace root: the parent of this crate's directory.
pub fn workspace_root() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    dir.parent().map(PathBuf::from).unwrap_or(dir)
}
