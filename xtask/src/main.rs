//! `cargo xtask`: parses the command line, runs `list`, `build` (packing through the engine) and
//! `bench` here, and hands every other command to the engine binary (see `xtask::engine`).

use std::process::ExitCode;

use clap::Parser;
use xtask::flags::{Command, Xtask};
use xtask::{bench, build, engine, list};

fn main() -> ExitCode {
    let flags = Xtask::parse();
    let sh = match xshell::Shell::new() {
        Ok(sh) => sh,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    sh.change_dir(xtask::workspace_root());
    let result = match flags.command {
        Command::List(cmd) => list::run(&sh, cmd),
        Command::Build(cmd) => build::run(&sh, cmd, &engine::EnginePacker { sh: &sh }),
        Command::Bench(cmd) => bench::run(&sh, cmd),
        _ => engine::run(&sh, &std::env::args_os().skip(1).collect::<Vec<_>>()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
