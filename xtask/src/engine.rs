//! The engine: the `xtask-engine` binary (`xtask/engine/`) that does the heavy commands (pack,
//! validate, fetch, mirror, toolchain, publish, find, sign, verify-signature, conflicts, export,
//! diff).
//!
//! `cargo xtask` is `cargo run -p xtask`, and cargo checks every crate xtask links before it
//! runs it. Kept out of xtask, the image, validation, kernel and registry crates are neither
//! compiled nor fingerprinted for `list` or a no-op `build`; a command that needs them builds
//! the engine with one more `cargo build` and runs it with the same command line. That build is
//! skipped when nothing the engine is built from changed since the last one
//! ([`crate::engine_stamp`]).

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use cargo_metadata::Message;
use xshell::Shell;

use crate::build::{PackJob, Packed, Packer, SourceFacts};
use crate::engine_stamp::{self, Freshness};
use crate::flags::{CompressionArg, Verbosity};

/// The engine's package (and binary) name.
pub const PACKAGE: &str = "xtask-engine";

/// The engine's executable: the one recorded when nothing it is built from changed, else built
/// by cargo (and recorded).
pub fn executable(sh: &Shell, verbosity: Verbosity) -> Result<PathBuf> {
    let root = sh.current_dir();
    let env = engine_stamp::current_build_env();
    match engine_stamp::check(&root, &env) {
        Freshness::Fresh(executable) => {
            if verbosity.is_verbose() {
                eprintln!("xtask: {PACKAGE} is up to date (nothing it is built from changed)");
            }
            Ok(executable)
        }
        Freshness::Stale(why) => {
            if verbosity.is_verbose() {
                eprintln!("xtask: asking cargo whether {PACKAGE} needs a build: {why}");
            }
            let started = SystemTime::now();
            let executable = build(sh, verbosity)?;
            let recorded = engine_stamp::record(&root, &executable, &env, started);
            if verbosity.is_verbose() && !recorded {
                eprintln!(
                    "xtask: not remembered (an input changed during the build, or no dep-info or CARGO); \
                     cargo looks again next time"
                );
            }
            Ok(executable)
        }
    }
}

/// Builds the engine (cargo's usual output only when something is compiled; all of it with
/// `--verbose`, none but errors with `--quiet`) and returns its executable.
fn build(sh: &Shell, verbosity: Verbosity) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = crate::user_command(sh, &cargo)
        .args(["build", "--message-format=json-render-diagnostics", "-p", PACKAGE, "--bin", PACKAGE])
        .args(verbosity.is_quiet().then_some("--quiet"))
        .std_command();
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().with_context(|| format!("running {cargo} build -p {PACKAGE}"))?;
    // Pass cargo's messages on, but not the lone `Finished` line of an up-to-date engine.
    let stderr = child.stderr.take().context("cargo's stderr")?;
    let relay = std::thread::spawn(move || {
        let mut up_to_date = !verbosity.is_verbose();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if up_to_date && line.trim_start().starts_with("Finished") {
                continue;
            }
            up_to_date = false;
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    });
    let mut executable = None;
    let stdout = BufReader::new(child.stdout.take().context("cargo's stdout")?);
    for message in Message::parse_stream(stdout) {
        if let Message::CompilerArtifact(a) = message.context("reading cargo's JSON messages")?
            && a.target.name == PACKAGE
        {
            executable = a.executable.map(|p| p.into_std_path_buf());
        }
    }
    let status = child.wait().context("waiting for cargo")?;
    let _ = relay.join();
    if !status.success() {
        bail!("building the xtask engine failed (see the errors above)");
    }
    executable.with_context(|| format!("cargo built no {PACKAGE} executable"))
}

/// An engine command: the engine binary, with the user's working directory and environment (less
/// the variables `cargo run` set for xtask; with `--verbose`, the runner's
/// `talos_ext_process::ENV_VERBOSE` added, so the commands it runs stream their logs).
fn command(sh: &Shell, verbosity: Verbosity) -> Result<std::process::Command> {
    let mut command = crate::user_command(sh, executable(sh, verbosity)?);
    if let Some((name, value)) = crate::build::verbose_env(verbosity) {
        command = command.env(name, value);
    }
    let mut command = command.std_command();
    // The engine is the user's command: it gets the terminal.
    command.stdin(Stdio::inherit());
    Ok(command)
}

/// Runs the engine with this command line (the arguments after `cargo xtask`), passing its exit
/// code on.
pub fn run(sh: &Shell, args: &[OsString], verbosity: Verbosity) -> Result<ExitCode> {
    let status = command(sh, verbosity)?.args(args).status().with_context(|| format!("running {PACKAGE}"))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => bail!("{PACKAGE} was killed ({status})"),
    })
}

/// Packs through the engine's hidden `pack` command, which prints one [`Packed`] JSON line per
/// staged-info file it is given.
pub struct EnginePacker<'a> {
    pub sh: &'a Shell,
    pub verbosity: Verbosity,
}

impl Packer for EnginePacker<'_> {
    fn pack(&self, jobs: &[PackJob<'_>], facts: &SourceFacts, compression: CompressionArg) -> Result<Vec<Packed>> {
        let mut command = command(self.sh, self.verbosity)?;
        command.args(self.verbosity.flag()).arg("pack").args(["--compression", compression.as_str()]);
        command.arg("--source-date-epoch").arg(facts.source_date_epoch.to_string());
        command.arg("--revision").arg(&facts.revision);
        if let Some(toolchain) = &facts.toolchain {
            command.arg("--toolchain").arg(toolchain);
        }
        for job in jobs {
            command.arg("--staged").arg(&job.staged_info).arg("--layout").arg(&job.layout_dir);
        }
        let output = command.stderr(Stdio::inherit()).output().with_context(|| format!("running {PACKAGE} pack"))?;
        if !output.status.success() {
            bail!("packing failed (see the errors above)");
        }
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).with_context(|| format!("reading {PACKAGE} pack's output `{l}`")))
            .collect()
    }
}
