//! `cargo xtask toolchain`: prepare kernel toolchains (`toolchain/toolchains/*.toml`) in the cache,
//! list them, and record their module signing keys in `toolchain/keys.lock` (`rekey`).

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::HumanBytes;
use talos_ext_kernel::{KernelContext, PrepareOptions, disk_usage, prepare_build_tree, prepare_module_tree};
use talos_ext_kmod::symvers::{self, Symvers};
use talos_ext_model::{Arch, KeysLock, Pin, Toolchain};
use xshell::Shell;

use xtask::flags::{ToolchainCmd, ToolchainWhat, Verbosity};
use xtask::list::print_table;

pub fn run(sh: &Shell, cmd: ToolchainCmd, verbosity: Verbosity) -> Result<ExitCode> {
    if let ToolchainWhat::Symvers { dir, output, compare } = cmd.what {
        return symvers(&dir, output.as_deref(), compare.as_deref(), verbosity);
    }
    let root = sh.current_dir();
    let ctx = KernelContext::from_env(&root)?;
    let pin = Pin::load(&root)?;
    let name_or_default = |name: Option<String>| -> Result<String> {
        name.or_else(|| pin.toolchains.default.clone())
            .context("no --toolchain given and no [toolchains] default in toolchain/pin.toml")
    };
    match cmd.what {
        ToolchainWhat::List => list(&ctx, &root),
        ToolchainWhat::Prepare { toolchain, arch, in_tree, full, source } => {
            let tc = ctx.toolchain(&name_or_default(toolchain)?)?;
            let stand_in_source = match source.as_deref().map(|s| s.split_once('=')) {
                None => None,
                Some(Some((talos_ext_model::handoff::KERNEL_SOURCE_OVERRIDE, path))) if !path.is_empty() => {
                    Some(root.join(path))
                }
                Some(_) => anyhow::bail!("--source `{}`: expected `linux=<archive>`", source.unwrap_or_default()),
            };
            if stand_in_source.is_some() && !matches!(tc.spec, talos_ext_model::toolchain::ToolchainSpec::Talos(_)) {
                anyhow::bail!(
                    "--source: toolchain `{}` is a {} toolchain; stand-in sources are for Talos toolchains",
                    tc.name,
                    tc.kind()
                );
            }
            let key = ctx.module_key(&tc.name)?;
            println!("signing key: sha256 {} ({})", key.fingerprint, key.origin);
            if key.locked.is_none() && !verbosity.is_quiet() {
                println!(
                    "note: not recorded in {}; run `cargo xtask toolchain rekey --toolchain {}` to lock it",
                    ctx.keys_lock.display(),
                    tc.name
                );
            }
            for arch in arch.arches() {
                let started = Instant::now();
                let options = PrepareOptions { full_build: full, stand_in_source: stand_in_source.clone() };
                let tree = prepare_build_tree(&ctx, &tc, arch, options)?;
                for note in tree.notes.iter().filter(|_| !verbosity.is_quiet()) {
                    eprintln!("note: {note}");
                }
                println!(
                    "{} {arch}: release {}{}, build tree {} ({:.1?})",
                    tc.name,
                    tree.release,
                    if tree.stand_in.is_some() { " (STAND-IN source)" } else { "" },
                    tree.dir.display(),
                    started.elapsed()
                );
                if in_tree {
                    let started = Instant::now();
                    let (modules, notes) = prepare_module_tree(&ctx, &tc, arch)?;
                    for note in notes.iter().filter(|_| !verbosity.is_quiet()) {
                        eprintln!("note: {note}");
                    }
                    println!("{} {arch}: module tree {} ({:.1?})", tc.name, modules.dir.display(), started.elapsed());
                }
                println!(
                    "{} {arch}: cache {} uses {}",
                    tc.name,
                    tree.cache_dir.display(),
                    HumanBytes(disk_usage(&tree.cache_dir))
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ToolchainWhat::Rekey { toolchain, new_key } => {
            let name = name_or_default(toolchain)?;
            ctx.toolchain(&name)?;
            let old = KeysLock::load(&ctx.keys_lock)?.keys.get(&name).cloned();
            let key = ctx.rekey(&name, new_key)?;
            match old {
                Some(old) if old == key.fingerprint => {
                    println!("{name}: {} already locked ({})", key.fingerprint, key.origin)
                }
                Some(old) => println!(
                    "{name}: locked {} (was {old}; {}). Kernels built to trust the old key reject modules signed now: rebuild them with this key.",
                    key.fingerprint, key.origin
                ),
                None => println!("{name}: locked {} ({})", key.fingerprint, key.origin),
            }
            println!("updated {}", ctx.keys_lock.display());
            Ok(ExitCode::SUCCESS)
        }
        ToolchainWhat::Symvers { .. } => unreachable!("handled above"),
    }
}

/// `toolchain symvers`: recover, then write and/or compare.
fn symvers(dir: &Path, output: Option<&Path>, compare: Option<&Path>, verbosity: Verbosity) -> Result<ExitCode> {
    let started = Instant::now();
    let r = symvers::recover(dir)?;
    let (kernel, modules) = r.symvers.counts();
    if !verbosity.is_quiet() {
        eprintln!(
            "{}: release {}, {} ({}), {}, {} modules in {}: {kernel} kernel and {modules} module exports ({:.1?})",
            dir.display(),
            r.release,
            r.kernel.display(),
            r.kernel_format,
            r.system_map.display(),
            r.modules,
            r.modules_dir.display(),
            started.elapsed()
        );
    }
    let text = r.symvers.to_text();
    match output {
        Some(path) => {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, &text).with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
            if !verbosity.is_quiet() {
                eprintln!("wrote {}", path.display());
            }
        }
        None if compare.is_none() => print!("{text}"),
        None => {}
    }
    if let Some(path) = compare {
        let want = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let want = Symvers::parse(&want, path)?;
        let diffs = want.differences(&r.symvers);
        if !diffs.is_empty() {
            println!(
                "{} differences between {} (first) and the recovered exports (second):",
                diffs.len(),
                path.display()
            );
            for d in &diffs {
                println!("  {d}");
            }
            return Ok(ExitCode::FAILURE);
        }
        println!("{}: all {} exports equal (CRC, owner, GPL flag, namespace)", path.display(), want.exports.len());
    }
    Ok(ExitCode::SUCCESS)
}

fn list(ctx: &KernelContext, root: &std::path::Path) -> Result<ExitCode> {
    let lock = KeysLock::load(&ctx.keys_lock)?;
    let mut rows = Vec::new();
    for name in Toolchain::names(root)? {
        let tc = Toolchain::load(root, &name)?;
        rows.push([
            name.clone(),
            tc.kind().to_string(),
            Arch::ALL.iter().map(|a| tc.kernel_release(*a)).collect::<Vec<_>>().join(" "),
            match tc.compiler().llvm_make_value() {
                Some(llvm) => format!("clang {} (LLVM={llvm})", tc.compiler().version),
                None => format!("gcc {}", tc.compiler().version),
            },
            lock.keys.get(&name).map_or_else(|| "-".into(), |f| short_fingerprint(f)),
        ]);
    }
    print_table(&["NAME", "KIND", "RELEASES (amd64 arm64)", "COMPILER", "LOCKED KEY"], &rows);
    Ok(ExitCode::SUCCESS)
}

/// The first 16 characters of a locked fingerprint, for the table; a shorter (hand-edited or
/// truncated) value whole, and never a panic on it.
fn short_fingerprint(fingerprint: &str) -> String {
    fingerprint.chars().take(16).collect()
}

#[cfg(test)]
mod tests {
    use super::short_fingerprint;

    #[test]
    fn short_fingerprints_of_any_length() {
        let full = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(short_fingerprint(full), "0123456789abcdef");
        assert_eq!(short_fingerprint("abc"), "abc");
        assert_eq!(short_fingerprint(""), "");
        assert_eq!(short_fingerprint("ééééééééééééééééé"), "éééééééééééééééé");
    }
}
