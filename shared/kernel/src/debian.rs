//! The Debian toolchain: kernel headers, kbuild and image packages from Debian's archive,
//! extracted into the toolchain cache.
//!
//! Recipe (shared/env-notes.md section 1): per arch, extract `linux-headers-<abi>-common`,
//! `linux-headers-<abi>-<arch>` and the **amd64** `linux-kbuild-<abi>` into one tree, so the arm64
//! tree's `scripts` link (relative) reaches host `fixdep`/`modpost`; then point the one-line arch
//! `Makefile`'s absolute `include /usr/src/...` at the extracted common tree. The image package
//! (`linux-image-<abi>-<arch>`, the signed one) gives `lib/modules/<release>` with Debian-signed
//! `*.ko.xz`, for in-tree selection.
//!
//! The packages are looked up in, and downloaded and extracted with, `talos-ext-debian`: a
//! private apt state of the toolchain's `suites` (component `main`, amd64 and arm64) in
//! `<cache>/debian`, independent of the machine's apt lists and dpkg architectures; every `.deb`
//! is checked against the sha256 of the signed index and extracted in Rust.
//!
//! Debian rotates ABI numbers: the pinned ABI is used while the indexes have it (or it is
//! already prepared in the cache); otherwise, with `fallback = "newest-in-series"`, the newest
//! listed ABI of the series, with a note saying so.

use std::fs;
use std::path::{Path, PathBuf};

use talos_ext_debian::{DebianError, PackageSpec, Repo, extract_debs};
use talos_ext_model::toolchain::{DebianToolchain, Fallback};
use talos_ext_model::{Arch, TOOLCHAINS_DIR};

use crate::cache::{Slot, remove_tree};
use crate::error::KernelError;

/// The private apt state of toolchain `d` under `debian_dir` (`<cache>/debian`).
fn repo(d: &DebianToolchain, debian_dir: &Path) -> Repo {
    let suites: Vec<&str> = d.debian.suites.iter().map(String::as_str).collect();
    Repo::binaries(debian_dir, &suites, &["main"], &["amd64", "arm64"])
}

fn debian_error(toolchain: &str) -> impl FnOnce(DebianError) -> KernelError + '_ {
    move |cause| KernelError::Debian { toolchain: toolchain.to_string(), cause: Box::new(cause) }
}

/// The ABI to use: the pinned one if `ready(pinned)` or the indexes have it, else the
/// fallback. Returns the ABI and notes for the user.
pub(crate) fn resolve_abi(
    toolchain: &str,
    d: &DebianToolchain,
    debian_dir: &Path,
    ready: impl Fn(&str) -> bool,
) -> Result<(String, Vec<String>), KernelError> {
    let k = &d.debian;
    if ready(&k.abi) {
        return Ok((k.abi.clone(), Vec::new()));
    }
    let repo = repo(d, debian_dir);
    let common = k.common_package(&k.abi);
    match repo.binary(&PackageSpec::new(&common)) {
        Ok(_) => return Ok((k.abi.clone(), Vec::new())),
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(debian_error(toolchain)(e)),
    }
    let file = format!("{TOOLCHAINS_DIR}/{toolchain}.toml");
    let unavailable = |reason: String| KernelError::AbiUnavailable {
        toolchain: toolchain.to_string(),
        abi: k.abi.clone(),
        package: common.clone(),
        suites: k.suites.join(", "),
        reason,
    };
    if k.fallback == Fallback::None {
        return Err(unavailable("`fallback = \"none\"` forbids using another one".into()));
    }
    // `linux-headers-6.12.` from the common package template.
    let probe = k.common_package(&format!("{}.", k.series));
    let cut = probe.find(&format!("{}.", k.series)).map_or(probe.len(), |i| i + k.series.len() + 1);
    let prefix = &probe[..cut];
    let start = cut - (k.series.len() + 1);
    let names = repo.binary_names(prefix, "amd64").map_err(debian_error(toolchain))?;
    let newest = names
        .iter()
        .filter_map(|name| {
            let abi = name.get(start..)?.split('-').next()?;
            let n = k.series_patch(abi)?;
            (k.common_package(abi) == *name).then(|| (n, abi.to_string()))
        })
        .max();
    match newest {
        Some((_, abi)) => {
            let note = format!(
                "toolchain `{toolchain}`: the pinned Debian kernel ABI `{}` is no longer in the Debian indexes ({}); using `{abi}`, the newest {} ABI listed (pin it in {file} to silence this)",
                k.abi,
                k.suites.join(", "),
                k.series
            );
            Ok((abi, vec![note]))
        }
        None => Err(unavailable(format!("no other {} ABI (`{prefix}*`) is listed either", k.series))),
    }
}

/// The headers tree of one arch: returns the kbuild directory (`make -C` target) and the
/// common headers tree its Makefile includes (the kernel source directory).
pub(crate) fn headers(
    toolchain: &str,
    d: &DebianToolchain,
    debian_dir: &Path,
    abi: &str,
    arch: Arch,
    slot: &Slot,
) -> Result<(PathBuf, PathBuf), KernelError> {
    let packages = d.debian.header_packages(abi, arch);
    let rel_build = format!("usr/src/linux-headers-{}", d.debian.release_for(abi, arch));
    let done = slot.ensure("headers", |partial, final_dir| {
        let debs = download_and_extract(toolchain, &repo(d, debian_dir), &packages, partial)?;
        let makefile = partial.join(&rel_build).join("Makefile");
        let text = fs::read_to_string(&makefile).map_err(KernelError::io("read", &makefile))?;
        let target = format!("include {}/usr/src/", final_dir.display());
        let fixed: String =
            text.lines().map(|l| format!("{}\n", l.replacen("include /usr/src/", &target, 1))).collect();
        if fixed == text || !fixed.contains(&target) {
            return Err(KernelError::Layout {
                toolchain: toolchain.to_string(),
                path: makefile,
                message: "expected a line `include /usr/src/...-common/Makefile` to point at the extracted tree".into(),
            });
        }
        fs::write(&makefile, fixed).map_err(KernelError::io("write", &makefile))?;
        for needed in ["scripts/basic/fixdep", "scripts/mod/modpost", "include/config/kernel.release", "Module.symvers"]
        {
            let path = partial.join(&rel_build).join(needed);
            if !path.exists() {
                return Err(KernelError::Layout {
                    toolchain: toolchain.to_string(),
                    path,
                    message: format!("missing after extracting {}", packages.join(" ")),
                });
            }
        }
        Ok(serde_json::json!({ "debs": debs, "build_dir": rel_build }))
    })?;
    let common = format!("usr/src/{}", d.debian.common_package(abi));
    let source = done.join(&common);
    if !source.join("include/linux").is_dir() {
        return Err(KernelError::Layout {
            toolchain: toolchain.to_string(),
            path: source,
            message: format!("expected the common headers tree of {}", packages.join(" ")),
        });
    }
    Ok((done.join(rel_build), source))
}

/// The module tree of one arch (`lib/modules/<release>`) from the image package.
pub(crate) fn image(
    toolchain: &str,
    d: &DebianToolchain,
    debian_dir: &Path,
    abi: &str,
    arch: Arch,
    slot: &Slot,
) -> Result<PathBuf, KernelError> {
    let package = d.debian.image_package(abi, arch);
    let release = d.debian.release_for(abi, arch);
    let done = slot.ensure("image", |partial, _| {
        let debs = download_and_extract(toolchain, &repo(d, debian_dir), std::slice::from_ref(&package), partial)?;
        let tree = partial.join("lib/modules").join(&release);
        if !tree.join("kernel").is_dir() {
            return Err(KernelError::Layout {
                toolchain: toolchain.to_string(),
                path: tree,
                message: format!("{package} has no module tree here"),
            });
        }
        // Only the module tree is used: drop the kernel image, docs and the rest.
        for entry in fs::read_dir(partial).map_err(KernelError::io("read directory", partial))? {
            let path = entry.map_err(KernelError::io("read directory", partial))?.path();
            if path.file_name().is_some_and(|n| n != "lib") {
                talos_ext_fs::remove_if_exists(&path)?;
            }
        }
        Ok(serde_json::json!({ "debs": debs }))
    })?;
    Ok(done.join("lib/modules").join(release))
}

/// Downloads `packages` (`name[:arch]`) into a directory beside `dest` (`dest` with the
/// extension `debs`), extracts them in order into `dest` (an empty directory), removes the
/// debs and returns their file names with the sha256 the signed index gave.
fn download_and_extract(
    toolchain: &str,
    repo: &Repo,
    packages: &[String],
    dest: &Path,
) -> Result<serde_json::Map<String, serde_json::Value>, KernelError> {
    let specs = packages
        .iter()
        .map(|p| PackageSpec::parse(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(debian_error(toolchain))?;
    let debs_dir = dest.with_extension("debs");
    remove_tree(&debs_dir)?;
    let extracted = repo.fetch_binaries(&specs, &debs_dir).and_then(|fetched| {
        let debs: Vec<PathBuf> = fetched.iter().map(|(_, path)| path.clone()).collect();
        extract_debs(&debs, dest).map(|_| fetched)
    });
    // The debs are not kept, whether that worked or not (the image package alone is ~100 MB).
    remove_tree(&debs_dir)?;
    let fetched = extracted.map_err(debian_error(toolchain))?;
    Ok(fetched.into_iter().map(|(package, _)| (package.file.name, package.file.sha256.as_str().into())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use talos_ext_model::Toolchain;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).map(Path::to_path_buf).unwrap_or_default()
    }

    /// The examples' Debian toolchain, as pinned.
    fn debian() -> (String, DebianToolchain) {
        let pin = talos_ext_model::Pin::load(&root()).unwrap();
        let name = pin.toolchains.examples.expect("an examples toolchain in the pin");
        match Toolchain::load(&root(), &name).map(|t| t.spec) {
            Ok(talos_ext_model::ToolchainSpec::Debian(d)) => (name, d),
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn a_rotated_away_abi_falls_back_to_the_newest_listed_with_a_note() {
        let (name, mut d) = debian();
        let pinned = d.debian.series_patch(&d.debian.abi).expect("the pinned ABI's patch level");
        // The pinned ABI with patch level 1: long gone from Debian.
        let gone =
            d.debian.abi.replacen(&format!("{}.{pinned}", d.debian.series), &format!("{}.1", d.debian.series), 1);
        d.debian.abi = gone.clone();
        let suites = d.debian.suites.join(", ");
        let debian_dir = talos_ext_debian::workspace_cache(&root());
        let (abi, notes) = resolve_abi(&name, &d, &debian_dir, |_| false).unwrap();
        assert_ne!(abi, gone);
        assert!(d.debian.series_patch(&abi).is_some_and(|n| n >= pinned), "{abi}");
        assert!(
            notes[0].contains(&format!("`{gone}` is no longer in the Debian indexes ({suites})"))
                && notes[0].contains(&abi),
            "{notes:?}"
        );
        d.debian.fallback = Fallback::None;
        let e = resolve_abi(&name, &d, &debian_dir, |_| false).unwrap_err().to_string();
        let common = d.debian.common_package(&gone);
        assert!(e.contains(&format!("{common} not found")) && e.contains(d.debian.suites.last().unwrap()), "{e}");
        // A prepared cache entry is used without asking apt.
        let (abi, notes) = resolve_abi(&name, &d, Path::new("/nonexistent"), |a| a == gone).unwrap();
        assert_eq!((abi.as_str(), notes.len()), (gone.as_str(), 0));
    }
}
