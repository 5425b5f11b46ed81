//! `cargo xtask fetch` and `cargo xtask mirror`: pre-fetch pinned sources into the shared cache
//! with a progress bar per file, and fill a directory mirror for air-gapped builds.
//!
//! Also the one place that turns `--mirror`/`--offline`/`--source` into the environment build
//! scripts read, so `build` and `fetch` agree.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use talos_ext_build::{ENV_SOURCE_OVERRIDES, SourceOverride, default_cache_dir};
use talos_ext_fetch::{ENV_MIRRORS, ENV_OFFLINE, FetchConfig, Mirror, fetch, mirror_into};
use xshell::Shell;

use crate::catalog::{Catalog, Entry};
use crate::flags::{FetchCmd, MirrorCmd, SourceArgs};
use crate::progress::Bars;

impl SourceArgs {
    /// The fetch configuration: the environment's, with the command line's mirrors tried first
    /// and `--offline` added.
    pub fn fetch_config(&self, sh: &Shell) -> Result<FetchConfig> {
        let mut cfg = FetchConfig::from_env(default_cache_dir(&sh.current_dir()))?;
        let mut mirrors = Vec::new();
        for m in &self.mirror {
            mirrors.push(Mirror::parse(m)?);
        }
        mirrors.append(&mut cfg.mirrors);
        cfg.mirrors = mirrors;
        cfg.offline |= self.offline;
        Ok(cfg)
    }

    /// The environment for `cargo build` so build scripts see the same configuration.
    pub fn env(&self, cfg: &FetchConfig, overrides: &[SourceOverride]) -> Vec<(&'static str, String)> {
        let mut env = vec![
            (talos_ext_fetch::ENV_CACHE, cfg.cache_dir.display().to_string()),
            (ENV_MIRRORS, cfg.mirrors.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(",")),
            (ENV_OFFLINE, if cfg.offline { "1" } else { "0" }.to_string()),
        ];
        env.push((ENV_SOURCE_OVERRIDES, SourceOverride::to_env(overrides)));
        env
    }
}

/// `--source` overrides, paths made absolute against the user's working directory.
pub fn overrides(texts: &[String], catalog: &Catalog) -> Result<Vec<SourceOverride>> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let mut out = Vec::new();
    for text in texts {
        let o = SourceOverride::parse(text, &cwd)?;
        let entry = catalog.select(std::slice::from_ref(&o.extension))?[0];
        if let Some(src) = &o.source
            && !entry.meta.sources.iter().any(|s| &s.name == src)
        {
            let names: Vec<&str> = entry.meta.sources.iter().map(|s| s.name.as_str()).collect();
            bail!("--source {text}: `{}` has no source `{src}` (it has: {})", o.extension, names.join(", "));
        }
        out.push(o);
    }
    Ok(out)
}

fn selection<'a>(catalog: &'a Catalog, names: &[String], all: bool) -> Result<Vec<&'a Entry>> {
    if all || names.is_empty() { Ok(catalog.entries.iter().collect()) } else { catalog.select(names) }
}

/// Fetches every pinned source (all arches) of the selection; returns (extension, source, path).
fn fetch_all(
    sh: &Shell,
    catalog: &Catalog,
    names: &[String],
    all: bool,
    args: &SourceArgs,
) -> Result<Vec<(String, talos_ext_model::Source, std::path::PathBuf)>> {
    let cfg = args.fetch_config(sh)?;
    let bars = Bars::new();
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

pub fn run_fetch(sh: &Shell, cmd: FetchCmd) -> Result<ExitCode> {
    let catalog = Catalog::load(&sh.current_dir())?;
    let fetched = fetch_all(sh, &catalog, &cmd.extensions, cmd.all, &cmd.sources)?;
    eprintln!("{} source(s) verified in the cache", fetched.len());
    Ok(ExitCode::SUCCESS)
}

pub fn run_mirror(sh: &Shell, cmd: MirrorCmd) -> Result<ExitCode> {
    let catalog = Catalog::load(&sh.current_dir())?;
    let fetched = fetch_all(sh, &catalog, &cmd.extensions, cmd.all, &cmd.sources)?;
    let dir = std::env::current_dir().context("reading the current directory")?.join(&cmd.dir);
    for (ext, source, path) in &fetched {
        mirror_into(&dir, source, path).with_context(|| format!("mirroring {ext}/{}", source.name))?;
    }
    eprintln!("{} source(s) in the mirror {} (use it with --mirror {})", fetched.len(), dir.display(), dir.display());
    Ok(ExitCode::SUCCESS)
}
