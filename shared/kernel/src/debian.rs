//! The Debian toolchain: kernel headers, kbuild and image packages from the apt lists, extracted
//! with `dpkg -x` into the toolchain cache.
//!
//! Recipe (shared/env-notes.md section 1): per arch, extract `linux-headers-<abi>-common`,
//! `linux-headers-<abi>-<arch>` and the **amd64** `linux-kbuild-<abi>` into one tree, so the arm64
//! tree's `scripts` link (relative) reaches host `fixdep`/`modpost`; then point the one-line arch
//! `Makefile`'s absolute `include /usr/src/...` at the extracted common tree. The image package
//! (`linux-image-<abi>-<arch>`, the signed one) gives `lib/modules/<release>` with Debian-signed
//! `*.ko.xz`, for in-tree selection.
//!
//! Debian rotates ABI numbers: the pinned ABI is used while the apt lists have it (or it is
//! already prepared in the cache); otherwise, with `fallback = "newest-in-series"`, the newest
//! listed ABI of the series, with a note saying so.
//!
//! Downloads use plain `apt-get download` against the system's apt lists (the arm64 dpkg
//! architecture is added by ci/setup.sh); the system's apt state is not changed.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use talos_ext_model::toolchain::{DebianToolchain, Fallback};
use talos_ext_model::{Arch, TOOLCHAINS_DIR};

use crate::cache::{Slot, remove_tree};
use crate::error::KernelError;
use talos_ext_process::{Command, Log};

const APT_HINT: &str = "apt-get and dpkg come with Debian; run on a Debian 12 machine (see ci/setup.sh)";

/// The ABI to use: the pinned one if `ready(pinned)` or the apt lists have it, else the
/// fallback. Returns the ABI and notes for the user.
pub(crate) fn resolve_abi(
    toolchain: &str,
    d: &DebianToolchain,
    ready: impl Fn(&str) -> bool,
) -> Result<(String, Vec<String>), KernelError> {
    let k = &d.debian;
    if ready(&k.abi) {
        return Ok((k.abi.clone(), Vec::new()));
    }
    let common = k.common_package(&k.abi);
    if apt_has(toolchain, &common)? {
        return Ok((k.abi.clone(), Vec::new()));
    }
    let file = format!("{TOOLCHAINS_DIR}/{toolchain}.toml");
    let unavailable = |reason: String| KernelError::AbiUnavailable {
        toolchain: toolchain.to_string(),
        abi: k.abi.clone(),
        package: common.clone(),
        reason,
        file: file.clone(),
    };
    if k.fallback == Fallback::None {
        return Err(unavailable("`fallback = \"none\"` forbids using another one".into()));
    }
    // `linux-headers-6.12.` from the common package template.
    let probe = k.common_package(&format!("{}.", k.series));
    let cut = probe.find(&format!("{}.", k.series)).map_or(probe.len(), |i| i + k.series.len() + 1);
    let prefix = &probe[..cut];
    let start = cut - (k.series.len() + 1);
    let names = Command::new("apt-cache").args(["pkgnames", prefix]).hint(APT_HINT).output_unchecked();
    let names = names.map_err(KernelError::process(toolchain))?;
    let names = String::from_utf8_lossy(&names.stdout);
    let newest = names
        .lines()
        .filter_map(|name| {
            let abi = name.get(start..)?.split('-').next()?;
            let n = k.series_patch(abi)?;
            (k.common_package(abi) == name).then(|| (n, abi.to_string()))
        })
        .max();
    match newest {
        Some((_, abi)) => {
            let note = format!(
                "toolchain `{toolchain}`: the pinned Debian kernel ABI `{}` is no longer in the apt lists; using `{abi}`, the newest {} ABI listed (pin it in {file} to silence this)",
                k.abi, k.series
            );
            Ok((abi, vec![note]))
        }
        None => Err(unavailable(format!("no other {} ABI (`{prefix}*`) is listed either", k.series))),
    }
}

/// Whether the apt lists know `package` (any architecture).
fn apt_has(toolchain: &str, package: &str) -> Result<bool, KernelError> {
    let out = Command::new("apt-cache").args(["show", "--no-all-versions", package]).hint(APT_HINT).output_unchecked();
    let out = out.map_err(KernelError::process(toolchain))?;
    Ok(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Package:"))
}

/// The headers tree of one arch: returns the kbuild directory (`make -C` target).
pub(crate) fn headers(
    toolchain: &str,
    d: &DebianToolchain,
    abi: &str,
    arch: Arch,
    slot: &Slot,
) -> Result<PathBuf, KernelError> {
    let packages = d.debian.header_packages(abi, arch);
    let rel_build = format!("usr/src/linux-headers-{}", d.debian.release_for(abi, arch));
    let done = slot.ensure("headers", |partial, final_dir| {
        let debs = download_and_extract(toolchain, &packages, partial)?;
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
    Ok(done.join(rel_build))
}

/// The module tree of one arch (`lib/modules/<release>`) from the image package.
pub(crate) fn image(
    toolchain: &str,
    d: &DebianToolchain,
    abi: &str,
    arch: Arch,
    slot: &Slot,
) -> Result<PathBuf, KernelError> {
    let package = d.debian.image_package(abi, arch);
    let release = d.debian.release_for(abi, arch);
    let done = slot.ensure("image", |partial, _| {
        let debs = download_and_extract(toolchain, std::slice::from_ref(&package), partial)?;
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

/// `apt-get download`s `packages` into `<dest>/.debs`, `dpkg -x`es each into `dest`, removes the
/// debs and returns their file names with sha256.
fn download_and_extract(
    toolchain: &str,
    packages: &[String],
    dest: &Path,
) -> Result<serde_json::Map<String, serde_json::Value>, KernelError> {
    let debs_dir = dest.join(".debs");
    fs::create_dir_all(&debs_dir).map_err(KernelError::io("create directory", &debs_dir))?;
    let log = dest.join(".prepare.log");
    Command::new("apt-get")
        .args(["-q", "-o", "APT::Sandbox::User=root", "download"])
        .args(packages)
        .dir(&debs_dir)
        .log(Log::File(log.clone()))
        .hint(APT_HINT)
        .run()
        .map_err(KernelError::process(toolchain))?;
    let mut debs: Vec<PathBuf> = fs::read_dir(&debs_dir)
        .map_err(KernelError::io("read directory", &debs_dir))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
        .collect();
    debs.sort();
    if debs.len() != packages.len() {
        return Err(KernelError::Layout {
            toolchain: toolchain.to_string(),
            path: debs_dir,
            message: format!("`apt-get download {}` gave {} files", packages.join(" "), debs.len()),
        });
    }
    let mut sums = serde_json::Map::new();
    for deb in &debs {
        let bytes = fs::read(deb).map_err(KernelError::io("read", deb))?;
        let name = deb.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        sums.insert(name, hex::encode(Sha256::digest(&bytes)).into());
        Command::new("dpkg")
            .arg("-x")
            .arg(deb)
            .arg(dest)
            .log(Log::File(log.clone()))
            .hint(APT_HINT)
            .run()
            .map_err(KernelError::process(toolchain))?;
    }
    remove_tree(&debs_dir)?;
    Ok(sums)
}

#[cfg(test)]
mod tests {
    use super::*;
    use talos_ext_model::Toolchain;

    fn debian() -> DebianToolchain {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).map(Path::to_path_buf).unwrap_or_default();
        match Toolchain::load(&root, "debian-6.12").map(|t| t.spec) {
            Ok(talos_ext_model::ToolchainSpec::Debian(d)) => d,
            other => panic!("debian-6.12: {other:?}"),
        }
    }

    #[test]
    fn a_rotated_away_abi_falls_back_to_the_newest_listed_with_a_note() {
        let mut d = debian();
        d.debian.abi = "6.12.1+deb12".into();
        let (abi, notes) = resolve_abi("debian-6.12", &d, |_| false).unwrap();
        assert_ne!(abi, "6.12.1+deb12");
        assert!(d.debian.series_patch(&abi).is_some_and(|n| n >= 117), "{abi}");
        assert!(
            notes[0].contains("`6.12.1+deb12` is no longer in the apt lists") && notes[0].contains(&abi),
            "{notes:?}"
        );
        d.debian.fallback = Fallback::None;
        let e = resolve_abi("debian-6.12", &d, |_| false).unwrap_err().to_string();
        assert!(e.contains("linux-headers-6.12.1+deb12-common not found"), "{e}");
        // A prepared cache entry is used without asking apt.
        let (abi, notes) = resolve_abi("debian-6.12", &d, |a| a == "6.12.1+deb12").unwrap();
        assert_eq!((abi.as_str(), notes.len()), ("6.12.1+deb12", 0));
    }
}
