//! `xtask-engine`: the commands of `cargo xtask` that need the image, validation, kernel, fetch
//! and registry crates. `cargo xtask` builds and runs it with the user's command line (see
//! `xtask::engine`), so it parses the same [`xtask::flags`]; it also packs for `build` (the
//! hidden `pack` command) and runs `build` with `--cache-from`/`--cache-to` (`cache`). `lint` and `new` live in the library half (`lib.rs`).

mod cache;
mod conflicts;
mod diff;
mod export;
mod fetch;
mod local_cache;
mod pack;
mod progress;
mod publish;
mod toolchain;
mod validate;
mod verify;

use std::process::ExitCode;

use xtask::flags::Command;
use xtask_engine::{lint, new};

fn main() -> ExitCode {
    xtask::main_with(|sh, command, verbosity| match command {
        Command::Validate(cmd) => validate::run(sh, cmd, verbosity),
        Command::Fetch(cmd) => fetch::run_fetch(sh, cmd, verbosity),
        Command::Mirror(cmd) => fetch::run_mirror(sh, cmd, verbosity),
        Command::Toolchain(cmd) => toolchain::run(sh, cmd, verbosity),
        Command::Publish(cmd) => publish::run_publish(sh, cmd, verbosity),
        Command::Find(cmd) => publish::run_find(sh, cmd, verbosity),
        Command::Sign(cmd) => publish::run_sign(sh, cmd, verbosity),
        Command::VerifySignature(cmd) => publish::run_verify(sh, cmd),
        Command::Conflicts(cmd) => conflicts::run(sh, cmd, verbosity),
        Command::Export(cmd) => export::run(sh, cmd, verbosity),
        Command::Diff(cmd) => diff::run(sh, cmd, verbosity),
        Command::Verify(cmd) => verify::run(sh, cmd, verbosity),
        Command::Lint(cmd) => lint::run(sh, cmd, verbosity),
        Command::New(cmd) => new::run(sh, cmd, verbosity),
        Command::Pack(cmd) => pack::run(sh, cmd),
        Command::Cache(cmd) => local_cache::run(sh, cmd, verbosity),
        // Run by the front itself; here only when the engine is started by hand.
        Command::List(cmd) => xtask::list::run(sh, cmd, verbosity),
        Command::Catalog(cmd) => xtask::readme::run(sh, cmd, verbosity),
        Command::Graph(cmd) => xtask::graph::run(sh, cmd, verbosity),
        // The front runs `build` itself unless the cache is used.
        Command::Build(cmd) => cache::run_build(sh, cmd, verbosity),
        Command::Bench(cmd) => xtask::bench::run(sh, cmd),
        Command::Test(cmd) => xtask::test::run(sh, cmd, verbosity),
        Command::Ci(cmd) => xtask::ci::run(sh, cmd, verbosity),
    })
}
