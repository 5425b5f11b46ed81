//! `cargo xtask`: the command line of the workspace.
//!
//! Each subcommand is one module with a `run` function; the command line itself is declared once
//! in [`flags`], whose doc comments are the `--help` text. All commands work from the workspace
//! root, whatever the current directory, and find extensions through `cargo metadata`: an
//! extension is any workspace package with `[package.metadata.talos-extension]`.

mod bench;
mod build;
mod catalog;
mod fetch;
mod flags;
mod list;
mod pack;
mod progress;
mod publish;
#[cfg(test)]
mod tidy;
mod toolchain;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let flags = flags::Xtask::parse();
    let sh = match xshell::Shell::new() {
        Ok(sh) => sh,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    sh.change_dir(workspace_root());
    let result = match flags.command {
        flags::Command::List(cmd) => list::run(&sh, cmd),
        flags::Command::Build(cmd) => build::run(&sh, cmd),
        flags::Command::Validate(cmd) => validate::run(&sh, cmd),
        flags::Command::Fetch(cmd) => fetch::run_fetch(&sh, cmd),
        flags::Command::Mirror(cmd) => fetch::run_mirror(&sh, cmd),
        flags::Command::Bench(cmd) => bench::run(&sh, cmd),
        flags::Command::Toolchain(cmd) => toolchain::run(&sh, cmd),
        flags::Command::Publish(cmd) => publish::run_publish(&sh, cmd),
        flags::Command::Find(cmd) => publish::run_find(&sh, cmd),
        flags::Command::Sign(cmd) => publish::run_sign(&sh, cmd),
        flags::Command::VerifySignature(cmd) => publish::run_verify(&sh, cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

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
fn workspace_root() -> PathBuf {
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
