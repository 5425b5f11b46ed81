//! Builds `ctr` from its exact pin (`github.com/containerd/containerd/v2` v2.3.3 through the Go
//! module proxy, or the cache after `cargo xtask fetch ctr`) for both arches: the program is
//! static for the arch, holds no build path and reports the stamped release (arm64 under qemu);
//! the SBOM lists the module and the Go toolchain.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::{check_static_program, go_wrapper_requiring_the_pin, mode, stage, target_command};

fn check(arch: Arch) {
    let started = std::time::Instant::now();
    let s = stage(env!("CARGO_MANIFEST_DIR"), build::recipe, arch).unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    eprintln!(
        "ctr {arch}: built from the exact pin github.com/containerd/containerd/v2 v2.3.3 in {:.0?}",
        started.elapsed()
    );
    assert!(s.overridden_sources.is_empty());
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("  name: ctr\n  version: v2.3.3\n"), "{manifest}");

    let rel = "usr/local/bin/ctr";
    let path = s.rootfs(rel);
    assert_eq!(mode(&path), 0o755);
    check_static_program(arch, &path).unwrap_or_else(|e| panic!("{e:#}"));
    s.check_no_build_paths(rel).unwrap();
    eprintln!("ctr {arch}: {} bytes", std::fs::metadata(&path).unwrap().len());
    let out = target_command(arch, &path).arg("--version").read().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.trim(), "ctr github.com/containerd/containerd/v2 v2.3.3", "ctr --version");

    let sbom = talos_ext_build::sbom::spdx_path("ctr");
    assert_eq!(s.rootfs_files(), [rel.to_string(), sbom]);
    let packages = s.sbom_packages("ctr").unwrap();
    for (name, version) in [("github.com/containerd/containerd/v2", "v2.3.3"), ("go", "1.26.8")] {
        assert!(packages.iter().any(|(n, v)| n == name && v == version), "{name} {version} in {packages:?}");
    }
}

#[test]
#[ignore = "tier full: a whole ctr compile (containerd's client side) for amd64"]
fn tier_full_amd64_exact_pin() {
    check(Arch::Amd64);
}

#[test]
#[ignore = "tier full: a whole ctr compile for arm64, run under qemu"]
fn tier_full_arm64_exact_pin_under_qemu() {
    check(Arch::Arm64);
}

#[test]
fn the_wrapper_module_requires_the_pinned_module() {
    let gomod = go_wrapper_requiring_the_pin(env!("CARGO_MANIFEST_DIR"));
    assert!(!gomod.lines().any(|l| l.trim_start().starts_with("replace")), "upstream's go.mod has no replace lines");
}
