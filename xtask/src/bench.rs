//! `cargo xtask bench`: benchmarks that check performance targets, run as release builds.
//!
//! - `pack`: packing a generated ~1 GiB rootfs into a gzip layer + digests, next to
//!   `tar -c | gzip -6 | sha256sum` on the same tree (the example `bench_pack` of the image crate).
//! - `noop`: a no-op `cargo xtask build <ext> --arch amd64` next to a no-op
//!   `cargo build -p <ext>`, medians of N runs each (target: at most 2x).
//! - `publish`: pushing the example layout to a local registry with our client vs `skopeo copy`,
//!   first push and unchanged re-push (the example `bench_publish` of the publish crate; target:
//!   our re-push at most 0.5x skopeo's).

use std::process::ExitCode;

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

use crate::flags::{BenchCmd, BenchWhat};
use crate::without_cargo_run_vars;

pub fn run(sh: &Shell, cmd: BenchCmd) -> Result<ExitCode> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    match cmd.what {
        BenchWhat::Pack { size_mib } => {
            let size = size_mib.to_string();
            let bench =
                cmd!(sh, "{cargo} run --release --quiet -p talos-ext-image --example bench_pack -- --size-mib {size}");
            without_cargo_run_vars(bench).run()?;
        }
        BenchWhat::Noop { extension, runs } => noop(sh, &cargo, &extension, runs)?,
        BenchWhat::Publish { extension, runs } => publish(sh, &cargo, &extension, runs)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time_runs(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<Vec<Duration>> {
    f()?; // warm-up: brings the build to the state measured below
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f()?;
            Ok(start.elapsed())
        })
        .collect()
}

/// No-op rebuild cost of `xtask build` against a bare `cargo build` of the same crate.
fn noop(sh: &Shell, cargo: &str, ext: &str, runs: usize) -> Result<()> {
    if runs == 0 {
        bail!("--runs must be at least 1");
    }
    // The bare build runs without TALOS_EXT_ARCHES, xtask with it: measure each after its own
    // warm-up, so neither pays for the other's environment change.
    // Both run in a user's environment, without the variables `cargo run` set for this process.
    let bare = time_runs(runs, || {
        Ok(without_cargo_run_vars(cmd!(sh, "{cargo} build --quiet -p {ext}")).env_remove("TALOS_EXT_ARCHES").run()?)
    })?;
    let xtask = time_runs(runs, || {
        Ok(without_cargo_run_vars(cmd!(sh, "{cargo} xtask build {ext} --arch amd64")).quiet().ignore_stdout().run()?)
    })?;
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
