//! Builds `newt` from its exact pin (`github.com/fosrl/newt` v1.15.0 through the Go module proxy,
//! or the cache after `cargo xtask fetch newt`) for both arches: the program is static for the
//! arch, holds no build path and reports the stamped release (arm64 under qemu), the per-arch
//! platform stamp is the arch's, the service spec (validated strictly by staging) takes its
//! credentials from the ExtensionServiceConfig, and the SBOM lists the module and Go.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::{check_static_program, go_wrapper_requiring_the_pin, mode, stage, target_command};

fn check(arch: Arch) {
    let started = std::time::Instant::now();
    let s = stage(env!("CARGO_MANIFEST_DIR"), build::recipe, arch).unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    eprintln!("newt {arch}: built from the exact pin github.com/fosrl/newt v1.15.0 in {:.0?}", started.elapsed());
    assert!(s.overridden_sources.is_empty());
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("  name: newt\n  version: 1.15.0\n"), "{manifest}");

    let rel = format!("{}/usr/local/bin/newt", build::CONTAINER);
    let path = s.rootfs(&rel);
    assert_eq!(mode(&path), 0o755);
    check_static_program(arch, &path).unwrap_or_else(|e| panic!("{e:#}"));
    s.check_no_build_paths(&rel).unwrap();
    eprintln!("newt {arch}: {} bytes", std::fs::metadata(&path).unwrap().len());
    // newt creates its state directory before it reads its flags: point it into a temporary one.
    let state = tempfile::tempdir().unwrap();
    let out = target_command(arch, &path)
        .env("CONFIG_FILE", state.path().join("config.json"))
        .arg("-version")
        .read()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.trim(), "Newt version 1.15.0", "newt -version");
    // The `{goarch}` ldflag: this arch's platform stamp is in the binary, the other's is not.
    let bytes = std::fs::read(&path).unwrap();
    let has = |s: &str| bytes.windows(s.len()).any(|w| w == s.as_bytes());
    let (own, other) = match arch {
        Arch::Amd64 => ("linux_amd64", "linux_arm64"),
        Arch::Arm64 => ("linux_arm64", "linux_amd64"),
    };
    assert!(has(own) && !has(other), "{arch}: platform stamp");

    let spec = std::fs::read_to_string(s.rootfs("usr/local/etc/containers/newt.yaml")).unwrap();
    assert!(spec.starts_with("name: newt\n") && spec.contains("- configuration: true\n"), "{spec}");
    assert!(spec.contains("- CONFIG_FILE=/var/lib/newt/config.json\n"), "{spec}");
    assert_eq!(mode(&s.rootfs(&format!("{}/var/lib/newt", build::CONTAINER))), 0o755);

    let sbom = talos_ext_build::sbom::spdx_path("newt");
    let mut want = vec![rel, sbom, "usr/local/etc/containers/newt.yaml".to_string()];
    want.sort();
    assert_eq!(s.rootfs_files(), want);
    let packages = s.sbom_packages("newt").unwrap();
    for (name, version) in [("github.com/fosrl/newt", "v1.15.0"), ("go", "1.26.8")] {
        assert!(packages.iter().any(|(n, v)| n == name && v == version), "{name} {version} in {packages:?}");
    }
}

#[test]
#[ignore = "tier full: a whole newt compile (WireGuard, netstack) for amd64"]
fn tier_full_amd64_exact_pin() {
    check(Arch::Amd64);
}

#[test]
#[ignore = "tier full: a whole newt compile for arm64, run under qemu"]
fn tier_full_arm64_exact_pin_under_qemu() {
    check(Arch::Arm64);
}

#[test]
fn the_wrapper_module_requires_the_pinned_module() {
    let gomod = go_wrapper_requiring_the_pin(env!("CARGO_MANIFEST_DIR"));
    assert!(!gomod.lines().any(|l| l.trim_start().starts_with("replace")), "upstream's go.mod has no replace lines");
}
