//! `cargo xtask bench`: benchmarks that check performance targets. They measure and report; they
//! assert nothing about speed (timed tests fail on a loaded machine).
//!
//! - `pack`: packing a generated ~1 GiB rootfs into a layer + digests with our gzip and zstd
//!   writers, next to `tar -c | gzip -6`, `tar -c | pigz -6` and `tar -c | zstd -3 -T0` (each
//!   `| sha256sum`) on the same tree, with output sizes (the example `bench_pack` of the image
//!   crate, a release build).
//! - `validate`: `cargo xtask validate <dir>` end to end on a generated valid tree of 100k
//!   entries, next to `find <dir> -printf '%m %s %p\n'`, and its parts: `cargo run` of the front,
//!   the nested `cargo build -p xtask-engine` (skipped while the engine is fresh), the engine
//!   alone (target: at most 0.5 s per 100k entries end to end; medians of N runs).
//! - `noop`: a no-op `cargo xtask build <ext> --arch amd64` next to a no-op
//!   `cargo build -p <ext>`, medians of N runs each (target: at most 2x), both run as a user
//!   runs them: `cargo` from PATH, without the variables `cargo run` set for xtask.
//! - `publish`: pushing the example layout to a local registry with our client vs `skopeo copy`,
//!   first push and unchanged re-push (the example `bench_publish` of the publish crate; target:
//!   our re-push at most 0.5x skopeo's).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use talos_ext_model::Arch;
use xshell::{Shell, cmd};

use crate::flags::{BenchCmd, BenchWhat, Verbosity};
use crate::without_cargo_run_vars;

pub fn run(sh: &Shell, cmd: BenchCmd) -> Result<ExitCode> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    match cmd.what {
        BenchWhat::Pack { size_mib, rounds } => {
            let (size, rounds) = (size_mib.to_string(), rounds.to_string());
            let bench = cmd!(
                sh,
                "{cargo} run --release --quiet -p talos-ext-image --example bench_pack -- --size-mib {size} --rounds {rounds}"
            );
            without_cargo_run_vars(bench).run()?;
        }
        // As the user types it: `cargo` from PATH.
        BenchWhat::Validate { entries, runs } => validate(sh, "cargo", entries, runs)?,
        // As the user types them: `cargo` from PATH (rustup's proxy, usually), for both.
        BenchWhat::Noop { extension, runs } => noop(sh, "cargo", &extension, runs)?,
        BenchWhat::Publish { extension, runs } => publish(sh, &cargo, &extension, runs)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Times `runs` rounds of every command, interleaved (a, b, a, b, ...) so that both see the same
/// machine, after one warm-up round that brings each to the state measured.
fn time_interleaved<const N: usize>(
    runs: usize,
    mut fs: [&mut dyn FnMut() -> Result<()>; N],
) -> Result<[Vec<Duration>; N]> {
    for f in fs.iter_mut() {
        f()?;
    }
    let mut times: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::with_capacity(runs));
    for _ in 0..runs {
        for (f, t) in fs.iter_mut().zip(times.iter_mut()) {
            let start = Instant::now();
            f()?;
            t.push(start.elapsed());
        }
    }
    Ok(times)
}

/// No-op rebuild cost of `xtask build` against a bare `cargo build` of the same crate.
fn noop(sh: &Shell, cargo: &str, ext: &str, runs: usize) -> Result<()> {
    if runs == 0 {
        bail!("--runs must be at least 1");
    }
    // Both as a user runs them, without the variables `cargo run` set for this process. The bare
    // build gets the environment xtask gives its inner build, so that neither reruns the
    // recipe's build script for the other (it watches those variables) and the runs can be
    // interleaved: it is the same no-op `cargo build -p <ext>`, in the same state.
    let env = crate::build::default_env(sh, &[Arch::Amd64])?;
    let mut bare = || -> Result<()> {
        let bare = cmd!(sh, "{cargo} build --quiet -p {ext}").envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        Ok(without_cargo_run_vars(bare).run()?)
    };
    let mut xtask = || -> Result<()> {
        Ok(without_cargo_run_vars(cmd!(sh, "{cargo} xtask build {ext} --arch amd64")).quiet().ignore_stdout().run()?)
    };
    let [bare, xtask] = time_interleaved(runs, [&mut bare, &mut xtask])?;
    let (b, x) = (median(bare), median(xtask));
    println!("no-op `cargo build -p {ext}`:                   median {:>7.1} ms of {runs}", b.as_secs_f64() * 1e3);
    println!("no-op `cargo xtask build {ext} --arch amd64`: median {:>7.1} ms of {runs}", x.as_secs_f64() * 1e3);
    println!("ratio {:.2} (target <= 2.0)", x.as_secs_f64() / b.as_secs_f64());
    Ok(())
}

/// Our push vs `skopeo copy` of the extension's amd64 + arm64 layout, built (a no-op when up to
/// date) into `_out/bench/oci/<ext>/` so a single-arch `_out/oci/<ext>/` is never measured.
fn publish(sh: &Shell, cargo: &str, ext: &str, runs: usize) -> Result<()> {
    let out = sh.current_dir().join("_out/bench");
    let out_arg = out.display().to_string();
    without_cargo_run_vars(cmd!(sh, "{cargo} xtask build {ext} --arch all --out {out_arg}"))
        .quiet()
        .ignore_stdout()
        .run()?;
    let (layout, runs) = (out.join("oci").join(ext).display().to_string(), runs.to_string());
    without_cargo_run_vars(cmd!(
        sh,
        "{cargo} run --release --quiet -p talos-ext-publish --example bench_publish -- --layout {layout} --runs {runs}"
    ))
    .run()?;
    Ok(())
}

/// Runs `cmd` with its output captured: an error with its stderr when it fails.
fn run_captured(cmd: xshell::Cmd<'_>) -> Result<()> {
    let shown = cmd.to_string();
    let out = without_cargo_run_vars(cmd).quiet().ignore_status().output()?;
    if !out.status.success() {
        bail!("`{shown}` failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr).trim_end());
    }
    Ok(())
}

/// `cargo xtask validate` end to end on a generated tree, its parts, and `find` on the same tree.
fn validate(sh: &Shell, cargo: &str, entries: usize, runs: usize) -> Result<()> {
    if runs == 0 {
        bail!("--runs must be at least 1");
    }
    let dir = std::env::temp_dir().join(format!("talos-ext-bench-validate-{entries}"));
    let counts = generate_tree(&dir, entries)?;
    println!(
        "tree: {} ({entries} entries: {} directories, {} files, {} symlinks)",
        dir.display(),
        counts.dirs,
        counts.files,
        counts.symlinks
    );
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("machine: {cpus} CPUs, load average {}", load.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    let engine = crate::engine::executable(sh, Verbosity::Quiet)?;
    let (dir_arg, package) = (dir.display().to_string(), crate::engine::PACKAGE);
    let mut end_to_end = || run_captured(cmd!(sh, "{cargo} xtask validate {dir_arg}"));
    let mut front = || run_captured(cmd!(sh, "{cargo} xtask validate --help"));
    let mut nested = || run_captured(cmd!(sh, "{cargo} build --quiet -p {package} --bin {package}"));
    let mut alone = || run_captured(cmd!(sh, "{engine} validate {dir_arg}"));
    let mut find = || run_captured(cmd!(sh, "find {dir_arg} -printf '%m %s %p\n'"));
    let [end_to_end, front, nested, alone, find] =
        time_interleaved(runs, [&mut end_to_end, &mut front, &mut nested, &mut alone, &mut find])?;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let e2e = median(end_to_end);
    println!("`cargo xtask validate <dir>`, end to end:            median {:>7.1} ms of {runs}", ms(e2e));
    println!("  `cargo xtask validate --help` (cargo run, front):  median {:>7.1} ms", ms(median(front)));
    println!(
        "  `cargo build -p {package}` (no-op; skipped while the engine is fresh): median {:>7.1} ms",
        ms(median(nested))
    );
    println!("  `{package} validate <dir>` (the engine alone):     median {:>7.1} ms", ms(median(alone)));
    println!("`find <dir> -printf '%m %s %p\\n'`:                   median {:>7.1} ms", ms(median(find)));
    // Whether the end-to-end runs skipped the nested cargo call (the front says with --verbose).
    let check = without_cargo_run_vars(cmd!(sh, "{cargo} xtask --verbose validate {dir_arg}")).quiet().ignore_status();
    let said = String::from_utf8_lossy(&check.output()?.stderr).into_owned();
    let skipped = said.lines().any(|l| l.contains(&format!("{package} is up to date")));
    println!(
        "  nested cargo call before the engine: {}",
        if skipped { "skipped (the engine was fresh)" } else { "made (the engine was not fresh)" }
    );
    let per_100k = e2e.as_secs_f64() * 100_000.0 / entries as f64;
    println!("end to end: {per_100k:.2} s per 100k entries (target <= 0.5)");
    Ok(())
}

/// What [`generate_tree`] made.
struct TreeCounts {
    dirs: usize,
    files: usize,
    symlinks: usize,
}

/// Symlinks in the generated tree (relative, to files inside it).
const SYMLINKS: usize = 16;
/// Files per leaf directory and leaf directories per parent.
const FILES_PER_DIR: usize = 100;
const DIRS_PER_PARENT: usize = 10;

/// A valid extension tree of exactly `entries` entries at `dir` (counting `manifest.yaml` and
/// every directory, file and symlink below `rootfs/`): `usr/local/lib/bench/pNNN/qN/fNNNNN`
/// files of 0-200 bytes (every tenth executable), and symlinks in `usr/local/bin` to some of
/// them. Made once, deterministically, and reused while its marker says it is complete.
fn generate_tree(dir: &Path, entries: usize) -> Result<TreeCounts> {
    const FIXED_DIRS: [&str; 7] = [
        "rootfs",
        "rootfs/usr",
        "rootfs/usr/local",
        "rootfs/usr/local/bin",
        "rootfs/usr/local/lib",
        "rootfs/usr/local/share",
        "rootfs/usr/local/lib/bench",
    ];
    let fixed = 1 + FIXED_DIRS.len() + SYMLINKS;
    if entries < fixed + 2 + SYMLINKS {
        bail!("--entries must be at least {}", fixed + 2 + SYMLINKS);
    }
    // The plan: each leaf directory's path and how many files it holds.
    let mut counts = TreeCounts { dirs: FIXED_DIRS.len(), files: 0, symlinks: SYMLINKS };
    let mut leaves: Vec<(String, usize)> = Vec::new();
    let mut left = entries - fixed;
    'plan: for p in 0.. {
        left -= 1;
        counts.dirs += 1;
        for q in 0..DIRS_PER_PARENT {
            if left == 0 {
                break 'plan;
            }
            left -= 1;
            counts.dirs += 1;
            let n = left.min(FILES_PER_DIR);
            left -= n;
            counts.files += n;
            leaves.push((format!("rootfs/usr/local/lib/bench/p{p:03}/q{q}"), n));
            if left == 0 {
                break 'plan;
            }
        }
    }
    let marker = dir.with_extension("done");
    if fs::read_to_string(&marker).ok().as_deref() == Some(&format!("{entries}\n")) {
        return Ok(counts);
    }
    let _ = fs::remove_file(&marker);
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let mkdir = |path: &Path| -> Result<()> {
        fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755))
            .with_context(|| format!("chmod {}", path.display()))
    };
    let write = |path: &Path, data: &[u8], mode: u32| -> Result<()> {
        fs::write(path, data).with_context(|| format!("writing {}", path.display()))?;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).with_context(|| format!("chmod {}", path.display()))
    };
    mkdir(dir)?;
    let manifest = "version: v1alpha1\nmetadata:\n  name: bench-validate\n  version: 1.0.0\n  author: cargo xtask bench\n  \
                    description: A generated tree for measuring validation\n  compatibility:\n    talos:\n      \
                    version: \">= v1.0.0\"\n";
    write(&dir.join("manifest.yaml"), manifest.as_bytes(), 0o644)?;
    for d in FIXED_DIRS {
        mkdir(&dir.join(d))?;
    }
    let mut n = 0usize;
    for (leaf, files) in &leaves {
        let leaf_dir = dir.join(leaf);
        mkdir(&leaf_dir)?;
        for _ in 0..*files {
            let line = format!("generated file {n}\n");
            let mode = if n.is_multiple_of(10) { 0o755 } else { 0o644 };
            write(&leaf_dir.join(format!("f{n:06}")), line.repeat(n % 11).as_bytes(), mode)?;
            n += 1;
        }
    }
    for i in 0..SYMLINKS {
        let link = dir.join(format!("rootfs/usr/local/bin/tool{i:02}"));
        std::os::unix::fs::symlink(format!("../lib/bench/p000/q0/f{i:06}"), &link)
            .with_context(|| format!("creating {}", link.display()))?;
    }
    fs::write(&marker, format!("{entries}\n")).with_context(|| format!("writing {}", marker.display()))?;
    Ok(counts)
}
