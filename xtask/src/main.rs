//! `cargo xtask`: parses the command line, runs `list`, `catalog`, `graph`, `test`, `ci`, `build`
//! (packing through the engine; with `--cache-from`/`--cache-to` all in the engine) and `bench`
//! here, and hands every other command to the engine binary (see `xtask::engine`).

use std::process::ExitCode;

use xtask::flags::Command;
use xtask::{bench, build, ci, engine, graph, list, readme, test};

fn main() -> ExitCode {
    xtask::main_with(|sh, command, verbosity| match command {
        Command::List(cmd) => list::run(sh, cmd, verbosity),
        Command::Catalog(cmd) => readme::run(sh, cmd, verbosity),
        Command::Graph(cmd) => graph::run(sh, cmd, verbosity),
        // The build cache needs the registry client: the engine runs it.
        Command::Build(cmd) if !cmd.cache.is_used() => {
            build::run(sh, cmd, verbosity, &engine::EnginePacker { sh, verbosity })
        }
        Command::Bench(cmd) => bench::run(sh, cmd),
        Command::Test(cmd) => test::run(sh, cmd, verbosity),
        Command::Ci(cmd) => ci::run(sh, cmd, verbosity),
        _ => engine::run(sh, &std::env::args_os().skip(1).collect::<Vec<_>>(), verbosity),
    })
}
