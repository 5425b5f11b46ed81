//! Stages `hyperv-guest-agent`: offline with an empty cache it fails before any work, naming its
//! pinned source; from Debian's Linux 6.18.15 source (a listed override: the pinned kernel.org
//! tarball is not reachable) it builds both daemons for both arches, static, running their `-h`
//! (arm64 under qemu), with their service specs (validated strictly by staging).

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::{
    check_offline_fails_naming_a_source, check_static_program, mode, stage_debian_override, target_command,
};

#[test]
fn offline_without_the_source_fails_naming_it() {
    check_offline_fails_naming_a_source(env!("CARGO_MANIFEST_DIR"), build::recipe);
}

/// Debian's repacked Linux 6.18.15 source (trixie-backports), listed in test-overrides.toml.
const LINUX: &str = "linux=6.18.15-1~bpo13+1";

fn check(arch: Arch) {
    let started = std::time::Instant::now();
    let s = stage_debian_override(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, None, LINUX)
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    eprintln!(
        "hyperv-guest-agent {arch}: built from Linux 6.18.15 (Debian's orig; the pin is 6.18.44) in {:.0?}",
        started.elapsed()
    );
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("  name: hyperv-guest-agent\n  version: 6.18.44\n"), "{manifest}");

    let mut want = vec![talos_ext_build::sbom::spdx_path("hyperv-guest-agent")];
    for (program, _, service) in build::DAEMONS {
        let rel = format!("usr/local/lib/containers/{service}/usr/local/sbin/{program}");
        let path = s.rootfs(&rel);
        assert_eq!(mode(&path), 0o755, "{program}");
        check_static_program(arch, &path).unwrap_or_else(|e| panic!("{e:#}"));
        s.check_no_build_paths(&rel).unwrap();
        eprintln!("hyperv-guest-agent {arch}: {program} {} bytes", std::fs::metadata(&path).unwrap().len());
        // `-h` prints the usage (to stderr) and exits before the daemon opens its VMBus device.
        let out = target_command(arch, &path).arg("-h").output().unwrap_or_else(|e| panic!("{program} -h: {e}"));
        let usage = String::from_utf8_lossy(&out.stderr);
        assert!(usage.contains("Usage:") && usage.contains("--no-daemon"), "{program} -h: {usage}");
        let spec_rel = format!("usr/local/etc/containers/{service}.yaml");
        let spec = std::fs::read_to_string(s.rootfs(&spec_rel)).unwrap();
        assert!(spec.starts_with(&format!("name: {service}\n")), "{spec}");
        assert!(spec.contains(&format!("entrypoint: /usr/local/sbin/{program}\n")), "{spec}");
        assert!(spec.contains("    - -n\n"), "{spec}");
        want.push(rel);
        want.push(spec_rel);
    }
    want.sort();
    assert_eq!(s.rootfs_files(), want);
    assert_eq!(mode(&s.rootfs("usr/local/lib/containers/hyperv-kvp/var/lib/hyperv")), 0o755);
    let packages = s.sbom_packages("hyperv-guest-agent").unwrap();
    assert!(packages.iter().any(|(n, _)| n == "hyperv-guest-agent"), "{packages:?}");
}

#[test]
#[ignore = "tier full: unpacks a whole Linux source (Debian's 6.18.15 orig, 150 MB) per arch for two C files"]
fn tier_full_amd64_from_debian_linux_6_18_15() {
    check(Arch::Amd64);
}

#[test]
#[ignore = "tier full: unpacks a whole Linux source per arch; the daemons run under qemu"]
fn tier_full_arm64_from_debian_linux_6_18_15_under_qemu() {
    check(Arch::Arm64);
}
