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

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    dir.parent().map(PathBuf::from).unwrap_or(dir)
}
