//! `cargo xtask cache`: what the workspace's cache holds, area by area, and `cache prune`, which
//! removes the tests' shared stages that no test holds (`talos_ext_fs::kept`). The stages are the
//! one part of the cache that grows with every change of a test's inputs (a glibc stage is about
//! 600 MB per arch) and that is always safe to remove: a test that needs one builds it again.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use indicatif::HumanBytes;
use talos_ext_fs::kept::{self, Outcome};
use talos_ext_model::handoff::{TEST_STAGES, default_cache_dir};
use xshell::Shell;
use xtask::flags::{CacheCmd, CacheWhat, Verbosity};

/// The cache's areas, by directory name, and what each holds.
const AREAS: &[(&str, &str)] = &[
    ("sources-v1", "pinned upstream sources by sha256 (`cargo xtask fetch`)"),
    ("go", "the pinned Go toolchain, Go modules and the Go build cache of Go recipes"),
    ("debian", "Debian's signed indexes, packages, upstream tarballs and firmware trees (set-up, tests)"),
    ("kernel", "prepared kernel toolchains: build trees and module signing keys"),
    ("firmware", "unpacked linux-firmware releases"),
    (TEST_STAGES, "the tests' shared stages; `cargo xtask cache prune` removes idle ones"),
    ("test-sources", "upstream sources unpacked once for tests (Debian's glibc)"),
    ("test-kernels", "the small kernels of the Module.symvers recovery test"),
    (
        "test-fixtures",
        "trees tests unpack once: Debian packages' module sources (NVIDIA, v4l2loopback), Linux kbuild files",
    ),
    ("locks", "lock files of shared steps"),
    ("tmp", "downloads in progress"),
];

pub fn run(sh: &Shell, cmd: CacheCmd, verbosity: Verbosity) -> Result<ExitCode> {
    let root = sh.current_dir();
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let cache = cmd.cache.map_or_else(|| default_cache_dir(&root), |dir| cwd.join(dir));
    match cmd.what.unwrap_or(CacheWhat::Show) {
        CacheWhat::Show => {
            let code = show(&cache)?;
            if let Some(other) = std::env::var_os(talos_ext_fetch::ENV_CACHE).filter(|v| !v.is_empty())
                && cwd.join(&other) != cache
            {
                let other = std::path::PathBuf::from(other);
                println!(
                    "note: {}={} holds the sources builds fetch; show it with `--cache {}`",
                    talos_ext_fetch::ENV_CACHE,
                    other.display(),
                    other.display()
                );
            }
            Ok(code)
        }
        CacheWhat::Prune { unused_for, dry_run } => prune(&cache.join(TEST_STAGES), unused_for, dry_run, verbosity),
    }
}

/// Prints each area of `cache` with its size.
fn show(cache: &Path) -> Result<ExitCode> {
    if !cache.is_dir() {
        println!("{}: no cache yet", cache.display());
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = Vec::new();
    for entry in talos_ext_fs::sorted_entries(cache)? {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let bytes = kept::disk_usage(&path)?;
        let what = AREAS.iter().find(|(area, _)| *area == name).map_or("(not described)", |(_, what)| what);
        rows.push((name, bytes, what));
    }
    let total: u64 = rows.iter().map(|(_, bytes, _)| bytes).sum();
    println!("{} ({})", cache.display(), HumanBytes(total));
    let width = rows.iter().map(|(name, ..)| name.len()).max().unwrap_or(0);
    for (name, bytes, what) in rows {
        println!("  {:>10}  {name:<width$}  {what}", HumanBytes(bytes).to_string());
    }
    Ok(ExitCode::SUCCESS)
}

/// Removes the idle stages under `stages` (only those unused for `unused_for_days` with it).
fn prune(stages: &Path, unused_for_days: Option<u64>, dry_run: bool, verbosity: Verbosity) -> Result<ExitCode> {
    let unused_for = unused_for_days.map(|days| Duration::from_secs(days * 86_400));
    let pruned = kept::prune(stages, unused_for, dry_run).with_context(|| format!("pruning {}", stages.display()))?;
    let removed = if dry_run { "would remove" } else { "removed" };
    let (mut freed, mut count, mut in_use, mut recent) = (0, 0u64, 0, 0);
    for p in &pruned {
        let label = match p.outcome {
            Outcome::Removed => {
                freed += p.bytes;
                count += 1;
                removed
            }
            Outcome::InUse => {
                in_use += 1;
                "in use, kept"
            }
            Outcome::Recent => {
                recent += 1;
                "recent, kept"
            }
        };
        if !verbosity.is_quiet() {
            let used = p.last_used.map_or_else(|| "never used".to_string(), |t| format!("used {}", age(t)));
            println!("{label:>12}  {:>10}  {}  ({used})", HumanBytes(p.bytes).to_string(), p.name);
        }
    }
    let mut summary = format!("{}: {removed} {}, {}", stages.display(), plural(count, "stage"), HumanBytes(freed));
    if in_use > 0 {
        summary += &format!("; {in_use} in use by a running test, kept");
    }
    if recent > 0 {
        let days = unused_for_days.unwrap_or_default();
        summary += &format!("; {recent} used within {}, kept", plural(days, "day"));
    }
    println!("{summary}");
    Ok(ExitCode::SUCCESS)
}

/// `1 stage`, `2 stages`.
fn plural(n: u64, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}

/// `3 h ago`, `2 d ago`.
fn age(t: SystemTime) -> String {
    let secs = SystemTime::now().duration_since(t).unwrap_or_default().as_secs();
    match secs {
        s if s < 60 => "just now".to_string(),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86_400),
    }
}
