//! `cargo xtask fetch` and `cargo xtask mirror`: pre-fetch pinned sources into the shared cache
//! with a progress bar per file, and fill a directory mirror for air-gapped builds. The
//! configuration (`--mirror`, `--offline`) is read as for `build` (`xtask::sources`).
//!
//! Go recipes (`kind = "go-build"`) also get the pinned Go toolchain and their modules
//! (`talos_ext_build::go`): downloaded into the private module cache with go's progress lines,
//! the graph hash checked against the pin before anything is built; the mirror gets the
//! toolchain zip (`sha256/<hex>`) and the modules in the module proxy's layout (`go/`).
//!
//! Firmware recipes (`kind = "firmware"`) pin no sources of their own: the selection's first one
//! brings the linux-firmware release of `toolchain/firmware.toml`, fetched and mirrored once.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use talos_ext_build::go::{GoTool, fetch_recipe, mirror_modules};
use talos_ext_fetch::{fetch, mirror_into};
use talos_ext_model::{Kind, LINUX_FIRMWARE, LINUX_FIRMWARE_PATH, LinuxFirmware};
use xshell::Shell;
use xtask::catalog::{Catalog, Entry};
use xtask::flags::{FetchCmd, MirrorCmd, SourceArgs, Verbosity};

use crate::progress::Bars;

/// `--all`: every extension and internal library; else the names given (the command line
/// requires one or the other, as for `build` and `publish`).
fn selection<'a>(catalog: &'a Catalog, names: &[String], all: bool) -> Result<Vec<&'a Entry>> {
    if all { Ok(catalog.entries.iter().collect()) } else { catalog.select(names) }
}

/// What `fetch` put in the cache: every pinned source (extension, source, path) and, when the
/// selection has Go recipes, the Go toolchain.
struct Fetched {
    sources: Vec<(String, talos_ext_model::Source, std::path::PathBuf)>,
    go: Option<GoTool>,
    go_modules: usize,
}

/// Fetches every pinned source (all arches) of the selection, and the toolchain and modules of
/// its Go recipes.
fn fetch_all(
    sh: &Shell,
    catalog: &Catalog,
    names: &[String],
    all: bool,
    args: &SourceArgs,
    verbosity: Verbosity,
) -> Result<Fetched> {
    let cfg = args.fetch_config(sh)?;
    let bars = Bars::new(verbosity);
    let mut out = Vec::new();
    let mut failures = Vec::new();
    let selected = selection(catalog, names, all)?;
    let firmware = selected.iter().any(|e| e.meta.uses_linux_firmware());
    let release = if firmware { Some(LinuxFirmware::load(&sh.current_dir())?.source()) } else { None };
    for (name, source) in release.iter().map(|s| (LINUX_FIRMWARE, s)) {
        match fetch(&cfg, name, source, &bars) {
            Ok(path) => out.push((name.to_string(), source.clone(), path)),
            Err(err) => failures.push(format!("{name} ({LINUX_FIRMWARE_PATH}): {err}")),
        }
    }
    for e in selected {
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
    let mut go = None;
    let mut go_modules = 0;
    for e in selection(catalog, names, all)?.into_iter().filter(|e| e.meta.kind == Kind::GoBuild) {
        if !verbosity.is_quiet() {
            eprintln!("{}: Go modules of {} (both arches)", e.meta.name, e.meta.go.as_ref().map_or("?", |g| &g.module));
        }
        let (tool, graph) = fetch_recipe(&e.meta, &e.dir, &cfg, &bars, !verbosity.is_quiet())
            .with_context(|| format!("fetching the Go modules of `{}`", e.meta.name))?;
        if !verbosity.is_quiet() {
            eprintln!(
                "{}: {} Go modules, graph hash {} as pinned ({})",
                e.meta.name,
                graph.modules.len(),
                graph.hash,
                tool.version
            );
        }
        go_modules += graph.modules.len();
        go = Some(tool);
    }
    Ok(Fetched { sources: out, go, go_modules })
}

pub fn run_fetch(sh: &Shell, cmd: FetchCmd, verbosity: Verbosity) -> Result<ExitCode> {
    let catalog = Catalog::load(&sh.current_dir())?;
    let fetched = fetch_all(sh, &catalog, &cmd.extensions, cmd.all, &cmd.sources, verbosity)?;
    if !verbosity.is_quiet() {
        eprintln!("{} source(s) verified in the cache", fetched.sources.len());
        if let Some(tool) = &fetched.go {
            eprintln!("{} Go module(s) and the Go toolchain {} in the cache", fetched.go_modules, tool.version);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_mirror(sh: &Shell, cmd: MirrorCmd, verbosity: Verbosity) -> Result<ExitCode> {
    let catalog = Catalog::load(&sh.current_dir())?;
    let fetched = fetch_all(sh, &catalog, &cmd.extensions, cmd.all, &cmd.sources, verbosity)?;
    let dir = std::env::current_dir().context("reading the current directory")?.join(&cmd.dir);
    for (ext, source, path) in &fetched.sources {
        mirror_into(&dir, source, path).with_context(|| format!("mirroring {ext}/{}", source.name))?;
    }
    if let Some(tool) = &fetched.go {
        let cfg = cmd.sources.fetch_config(sh)?;
        mirror_into(&dir, &tool.source, &cfg.cache_path(&tool.source.sha256))
            .with_context(|| format!("mirroring the Go toolchain {}", tool.version))?;
        let copied = mirror_modules(tool, &dir)?;
        if !verbosity.is_quiet() {
            eprintln!(
                "the Go toolchain {} and the module cache ({copied} new file(s)) in the mirror's go/ (a GOPROXY layout)",
                tool.version
            );
        }
    }
    if !verbosity.is_quiet() {
        eprintln!(
            "{} source(s) in the mirror {} (use it with --mirror {})",
            fetched.sources.len(),
            dir.display(),
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
