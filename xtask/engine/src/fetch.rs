//! `cargo xtask fetch` and `cargo xtask mirror`: pre-fetch pinned sources into the shared cache
//! with a progress bar per file, and fill a directory mirror for air-gapped builds. The
//! configuration (`--mirror`, `--offline`) is read as for `build` (`xtask::sources`).

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use talos_ext_fetch::{fetch, mirror_into};
use xshell::Shell;
use xtask::catalog::{Catalog, Entry};
use xtask::flags::{FetchCmd, MirrorCmd, SourceArgs, Verbosity};

use crate::progress::Bars;

/// `--all`: every extension and internal library; else the names given (the command line
/// requires one or the other, as for `build` and `publish`).
fn selection<'a>(catalog: &'a Catalog, names: &[String], all: bool) -> Result<Vec<&'a Entry>> {
    if all { Ok(catalog.entries.iter().collect()) } else { catalog.select(names) }
}

/// Fetches every pinned source (all arches) of the selection; returns (extension, source, path).
fn fetch_all(
    sh: &Shell,
    catalog: &Catalog,
    names: &[String],
    all: bool,
    args: &SourceArgs,
    verbosity: Verbosity,
) -> Result<Vec<(String, talos_ext_model::Source, std::path::PathBuf)>> {
    let cfg = args.fetch_config(sh)?;
    let bars = Bars::new(verbosity);
    let mut out = Vec::new();
    let mut failures = Vec::new();
    for e in selection(catalog, names, all)? {
        for source in &e.meta.sources {
            match fetch(&cfg, &e.meta.name, source, &bars) {
                Ok(path) => out.push((e.meta.name.clone(), source.clone(), path)),
                Err(err) => failures.push(format!("{}/{}: {err}", e.meta.name, source.name)),
            }
        }
    }
    if !failures.is_empty() {
        bail!("{} source(s) could not be fetched:\n{}", failures.len(), failures.join("\n"));
    }
    Ok(out)
}

pub fn run_fetch(sh: &Shell, cmd: FetchCmd, verbosity: Verbosity) -> Result<ExitCode> {
    let catalog = Catalog::load(&sh.current_dir())?;
    let fetched = fetch_all(sh, &catalog, &cmd.extensions, cmd.all, &cmd.sources, verbosity)?;
    if !verbosity.is_quiet() {
        eprintln!("{} source(s) verified in the cache", fetched.len());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_mirror(sh: &Shell, cmd: MirrorCmd, verbosity: Verbosity) -> Result<ExitCode> {
    let catalog = Catalog::load(&sh.current_dir())?;
    let fetched = fetch_all(sh, &catalog, &cmd.extensions, cmd.all, &cmd.sources, verbosity)?;
    let dir = std::env::current_dir().context("reading the current directory")?.join(&cmd.dir);
    for (ext, source, path) in &fetched {
        mirror_into(&dir, source, path).with_context(|| format!("mirroring {ext}/{}", source.name))?;
    }
    if !verbosity.is_quiet() {
        eprintln!(
            "{} source(s) in the mirror {} (use it with --mirror {})",
            fetched.len(),
            dir.display(),
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
