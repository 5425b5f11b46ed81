//! Where pinned sources come from: the one place that turns `--mirror`, `--offline` and
//! `--source` into the fetch configuration and the environment build scripts read, so `build`,
//! `fetch` and `mirror` agree.

use anyhow::{Context, Result, bail};
use talos_ext_fetch::{ENV_CACHE, ENV_MIRRORS, ENV_OFFLINE, FetchConfig, Mirror};
use talos_ext_model::handoff::{
    ENV_SOURCE_OVERRIDES, FIRMWARE_SOURCE_OVERRIDE, KERNEL_SOURCE_OVERRIDE, SourceOverride, default_cache_dir,
};
use xshell::Shell;

use crate::catalog::Catalog;
use crate::flags::SourceArgs;

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
        vec![
            (ENV_CACHE, cfg.cache_dir.display().to_string()),
            (ENV_MIRRORS, cfg.mirrors.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(",")),
            (ENV_OFFLINE, if cfg.offline { "1" } else { "0" }.to_string()),
            (ENV_SOURCE_OVERRIDES, SourceOverride::to_env(overrides)),
        ]
    }
}

/// `--source` overrides, paths made absolute against the user's working directory.
pub fn overrides(texts: &[String], catalog: &Catalog) -> Result<Vec<SourceOverride>> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let mut out = Vec::new();
    for text in texts {
        let o = SourceOverride::parse(text, &cwd)?;
        if o.extension == KERNEL_SOURCE_OVERRIDE && o.source.is_none() {
            // The Talos toolchain's kernel source, for every kbuild step (a stand-in release).
            if !o.path.is_file() {
                bail!("--source {text}: the stand-in kernel source must be an archive (linux_<version>.orig.tar.xz)");
            }
            out.push(o);
            continue;
        }
        if o.extension == FIRMWARE_SOURCE_OVERRIDE && o.source.is_none() {
            // The linux-firmware release, for every firmware recipe (a stand-in tree).
            if !o.path.is_dir() {
                bail!(
                    "--source {text}: the stand-in linux-firmware must be a directory with linux-firmware's layout \
                     (its WHENCE and the firmware files, e.g. an unpacked release)"
                );
            }
            out.push(o);
            continue;
        }
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
