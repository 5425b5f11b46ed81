//! `cargo xtask test [--tier smoke|kinds|full]`: the workspace's tests of one tier.
//!
//! Tiers are libtest filters over test names, so a test outside the tier is reported as
//! "filtered out" or "ignored", never as passed (no test returns early because of a tier):
//!
//! - a test that builds real upstream code is named `tier_kinds_*` (the default tier runs it) or
//!   `tier_full_*` (`#[ignore = "tier full: <why>"]`: only the full tier runs it);
//! - a test that only a parent test runs, in a child process with the environment it sets up, is
//!   named `run_by_parent_*` and ignored (`#[ignore = "run by <parent>..."]`);
//! - `smoke` is `cargo test --workspace -- --skip tier_kinds_`, `kinds` is the README's
//!   `cargo test --workspace`, `full` is `cargo test --workspace -- --include-ignored --skip
//!   run_by_parent_`.
//!
//! The tidy test (`xtask/engine/tests/tidy.rs`) checks the names: prefixes only at the start of
//! a test's name, `tier_full_` exactly on the tier-full ignored tests, and every recipe test that
//! reaches a real-build helper carrying a tier prefix.

use std::process::{ExitCode, Stdio};

use anyhow::{Context, Result, bail};
use xshell::Shell;

use crate::catalog::Catalog;
use crate::flags::{TestCmd, TestTier, Verbosity};

/// The variable that picks the tier when `--tier` is not given.
pub const ENV_TEST_TIER: &str = "TALOS_EXT_TEST_TIER";
/// The name prefix of the real upstream builds the default tier runs.
pub const KINDS_PREFIX: &str = "tier_kinds_";
/// The name prefix of the real upstream builds only the full tier runs (they are ignored).
pub const FULL_PREFIX: &str = "tier_full_";
/// The name prefix of the ignored tests that only their parent test runs (in a child process).
pub const CHILD_PREFIX: &str = "run_by_parent_";

/// The tier asked for: `--tier`, else `TALOS_EXT_TEST_TIER` (`env`), else `kinds`.
pub fn resolve_tier(flag: Option<TestTier>, env: Option<&str>) -> Result<TestTier> {
    if let Some(tier) = flag {
        return Ok(tier);
    }
    match env.map(str::trim) {
        None | Some("") => Ok(TestTier::default()),
        Some(value) => {
            let all = [TestTier::Smoke, TestTier::Kinds, TestTier::Full];
            match all.iter().find(|t| t.as_str() == value) {
                Some(tier) => Ok(*tier),
                None => bail!(
                    "{ENV_TEST_TIER}=`{value}` is not a test tier\nhint: use one of {}",
                    all.map(|t| t.as_str()).join(", ")
                ),
            }
        }
    }
}

/// The libtest arguments that select a tier (after `--`).
pub fn tier_args(tier: TestTier) -> Vec<String> {
    let args: &[&str] = match tier {
        TestTier::Smoke => &["--skip", KINDS_PREFIX],
        TestTier::Kinds => &[],
        TestTier::Full => &["--include-ignored", "--skip", CHILD_PREFIX],
    };
    args.iter().map(|a| a.to_string()).collect()
}

/// What to test: the whole workspace, some packages, or the workspace without these packages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    Workspace,
    Packages(Vec<String>),
    WorkspaceExcept(Vec<String>),
}

/// The arguments of `cargo` for a tier's test run (`test ... [-- <tier args> <extra>]`).
pub fn cargo_args(tier: TestTier, selection: &Selection, extra: &[String]) -> Vec<String> {
    let mut args = vec!["test".to_string()];
    match selection {
        Selection::Workspace => args.push("--workspace".into()),
        Selection::Packages(packages) => {
            for p in packages {
                args.extend(["-p".to_string(), p.clone()]);
            }
        }
        Selection::WorkspaceExcept(packages) => {
            args.push("--workspace".into());
            for p in packages {
                args.extend(["--exclude".to_string(), p.clone()]);
            }
        }
    }
    let test_args: Vec<String> = tier_args(tier).into_iter().chain(extra.iter().cloned()).collect();
    if !test_args.is_empty() {
        args.push("--".into());
        args.extend(test_args);
    }
    args
}

pub fn run(sh: &Shell, cmd: TestCmd, verbosity: Verbosity) -> Result<ExitCode> {
    let env = std::env::var(ENV_TEST_TIER).ok();
    let tier = resolve_tier(cmd.tier, env.as_deref())?;
    let selection = if cmd.no_recipes {
        let catalog = Catalog::load(&sh.current_dir())?;
        Selection::WorkspaceExcept(catalog.entries.iter().map(|e| e.meta.name.clone()).collect())
    } else if cmd.package.is_empty() {
        Selection::Workspace
    } else {
        Selection::Packages(cmd.package.clone())
    };
    let args = cargo_args(tier, &selection, &cmd.test_args);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let command = crate::user_command(sh, &cargo).args(&args);
    if !verbosity.is_quiet() {
        eprintln!("test tier `{}`: cargo {}", tier.as_str(), args.join(" "));
    }
    let mut std = command.std_command();
    std.stdin(Stdio::inherit());
    let status = std.status().with_context(|| format!("running `{}`", command.command_line()))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => bail!("`cargo test` was killed ({status})"),
    })
}
