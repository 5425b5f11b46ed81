//! Builds `netbird` from its exact pin (`github.com/netbirdio/netbird` v0.76.3 through the Go
//! module proxy, or the cache after `cargo xtask fetch netbird`) for both arches, with the
//! `replace` lines of upstream's go.mod repeated in the wrapper module: the client is static for
//! the arch, holds no build path and reports the stamped release (arm64 under qemu), the service
//! spec (validated strictly by staging) runs it in the foreground, and the SBOM lists the module,
//! a replaced module at its replacement's version, and Go.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::{check_static_program, go_wrapper_requiring_the_pin, mode, stage, target_command};

fn check(arch: Arch) {
    let started = std::time::Instant::now();
    let s = stage(env!("CARGO_MANIFEST_DIR"), build::recipe, arch).unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    eprintln!(
        "netbird {arch}: built from the exact pin github.com/netbirdio/netbird v0.76.3 in {:.0?}",
        started.elapsed()
    );
    assert!(s.overridden_sources.is_empty());
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("  name: netbird\n  version: 0.76.3\n"), "{manifest}");

    let rel = format!("{}/usr/local/bin/netbird", build::CONTAINER);
    let path = s.rootfs(&rel);
    assert_eq!(mode(&path), 0o755);
    check_static_program(arch, &path).unwrap_or_else(|e| panic!("{e:#}"));
    s.check_no_build_paths(&rel).unwrap();
    eprintln!("netbird {arch}: {} bytes", std::fs::metadata(&path).unwrap().len());
    // A private HOME: the client writes nothing outside it when asked for its version.
    let home = tempfile::tempdir().unwrap();
    let out =
        target_command(arch, &path).env("HOME", home.path()).arg("version").read().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.trim(), "0.76.3", "netbird version");

    let spec = std::fs::read_to_string(s.rootfs("usr/local/etc/containers/netbird.yaml")).unwrap();
    assert!(spec.starts_with("name: netbird\n") && spec.contains("- configuration: true\n"), "{spec}");
    assert!(spec.contains("  args:\n    - up\n    - --foreground-mode\n"), "{spec}");

    let sbom = talos_ext_build::sbom::spdx_path("netbird");
    let mut want = vec![rel, sbom, "usr/local/etc/containers/netbird.yaml".to_string()];
    want.sort();
    assert_eq!(s.rootfs_files(), want);
    let packages = s.sbom_packages("netbird").unwrap();
    // golang.zx2c4.com/wireguard is built from its replacement, and the SBOM names that.
    for (name, version) in [
        ("github.com/netbirdio/netbird", "v0.76.3"),
        ("github.com/netbirdio/wireguard-go", "v0.0.0-20260628102922-2834bebf6c1a"),
        ("go", "1.26.8"),
    ] {
        assert!(packages.iter().any(|(n, v)| n == name && v == version), "{name} {version} in {packages:?}");
    }
}

#[test]
#[ignore = "tier full: a whole netbird client compile (WireGuard, ICE, gRPC) for amd64"]
fn tier_full_amd64_exact_pin() {
    check(Arch::Amd64);
}

#[test]
#[ignore = "tier full: a whole netbird client compile for arm64, run under qemu"]
fn tier_full_arm64_exact_pin_under_qemu() {
    check(Arch::Arm64);
}

#[test]
fn the_wrapper_module_repeats_upstreams_replace_lines() {
    let gomod = go_wrapper_requiring_the_pin(env!("CARGO_MANIFEST_DIR"));
    let replaced: Vec<&str> = gomod.lines().filter(|l| l.starts_with("replace ")).collect();
    assert_eq!(replaced.len(), 9, "{gomod}");
    assert!(replaced.contains(
        &"replace golang.zx2c4.com/wireguard => github.com/netbirdio/wireguard-go v0.0.0-20260628102922-2834bebf6c1a"
    ));
}
