//! Builds `metal-agent` from its exact pin (`github.com/siderolabs/talos-metal-agent` v0.1.6
//! through the Go module proxy, or the cache after `cargo xtask fetch metal-agent`) for both
//! arches: the agent is static for the arch and holds no build path, reports its release (arm64
//! under qemu), the service spec (validated strictly by staging) gives it machined's socket and
//! the devices, the marker is there, and the SBOM lists the module and the Go toolchain.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::{
    Staged, check_static_program, go_wrapper_requiring_the_pin, mode, stage, target_command,
};

const AGENT: &str = "talos-metal-agent";

fn staged(arch: Arch) -> Staged {
    let started = std::time::Instant::now();
    let s = stage(env!("CARGO_MANIFEST_DIR"), build::recipe, arch).unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    eprintln!(
        "metal-agent {arch}: built from the exact pin github.com/siderolabs/talos-metal-agent v0.1.6 in {:.0?}",
        started.elapsed()
    );
    s
}

fn check(arch: Arch, s: &Staged) {
    assert!(s.overridden_sources.is_empty());
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("  name: metal-agent\n  version: v0.1.6\n"), "{manifest}");

    let rel = format!("{}/usr/local/bin/{AGENT}", build::CONTAINER);
    let path = s.rootfs(&rel);
    assert_eq!(mode(&path), 0o755);
    check_static_program(arch, &path).unwrap_or_else(|e| panic!("{e:#}"));
    s.check_no_build_paths(&rel).unwrap();
    eprintln!("metal-agent {arch}: {AGENT} {} bytes", std::fs::metadata(&path).unwrap().len());
    // cobra's version line: the program name comes from the build info's main package path.
    let out = target_command(arch, &path).arg("--version").read().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.trim(), "talos-metal-agent version v0.1.6", "{AGENT} --version");

    let spec = std::fs::read_to_string(s.rootfs("usr/local/etc/containers/metal-agent.yaml")).unwrap();
    assert!(spec.starts_with("name: metal-agent\n"), "{spec}");
    assert!(spec.contains(&format!("entrypoint: /usr/local/bin/{AGENT}\n")), "{spec}");
    assert!(spec.contains("destination: /system/run/machined/machine.sock\n"), "{spec}");
    let marker = s.rootfs(build::MARKER);
    assert_eq!((std::fs::metadata(&marker).unwrap().len(), mode(&marker)), (0, 0o644));

    let sbom = talos_ext_build::sbom::spdx_path("metal-agent");
    let mut want = vec![rel, sbom, build::MARKER.to_string(), "usr/local/etc/containers/metal-agent.yaml".into()];
    want.sort();
    assert_eq!(s.rootfs_files(), want);
    let packages = s.sbom_packages("metal-agent").unwrap();
    for (name, version) in [("github.com/siderolabs/talos-metal-agent", "v0.1.6"), ("go", "1.26.8")] {
        assert!(packages.iter().any(|(n, v)| n == name && v == version), "{name} {version} in {packages:?}");
    }
}

#[test]
#[ignore = "tier full: a whole talos-metal-agent compile (Talos machinery, gRPC) for amd64"]
fn tier_full_amd64_exact_pin() {
    let s = staged(Arch::Amd64);
    check(Arch::Amd64, &s);
}

#[test]
#[ignore = "tier full: a whole talos-metal-agent compile for arm64, run under qemu"]
fn tier_full_arm64_exact_pin_under_qemu() {
    let s = staged(Arch::Arm64);
    check(Arch::Arm64, &s);
}

#[test]
fn the_wrapper_module_requires_the_pinned_module() {
    let gomod = go_wrapper_requiring_the_pin(env!("CARGO_MANIFEST_DIR"));
    assert!(!gomod.lines().any(|l| l.trim_start().starts_with("replace")), "upstream's go.mod has no replace lines");
}
