//! `cargo xtask bench`: benchmarks that check performance targets, run as release builds.
//!
//! - `pack`: packing a generated ~1 GiB rootfs into a gzip layer + digests, next to
//!   `tar -c | gzip -6 | sha256sum` on the same tree (the example `bench_pack` of the image crate).
//! - `noop`: a no-op `cargo xtask build <ext> --arch amd64` next to a no-op
//!   `cargo build -p <ext>`, medians of N runs each (target: at most 2x), both run as a user
//!   runs them: `cargo` from PATH, without the variables `cargo run` set for xtask.
//! - `publish`: pushing the example layout to a local registry with our client vs `skopeo copy`,
//!   first push and unchanged re-push (the example `bench_publish` of the publish crate; target:
//!   our re-push at most 0.5x skopeo's).

use std::process::ExitCode;

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use talos_ext_model::Arch;
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
