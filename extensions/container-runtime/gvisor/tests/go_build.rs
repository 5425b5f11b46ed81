//! Builds `gvisor` from the `go` branch snapshot it pins (`gvisor.dev/gvisor`
//! v0.0.0-20260905035102-160fafc42237 through the Go module proxy, or the cache after `cargo
//! xtask fetch gvisor`; upstream's pin, the 20260810.0 release, has no snapshot the proxy serves)
//! for both arches: runsc and the shim are static for the arch and hold no build path, runsc
//! reports the stamped version (arm64 under qemu), the CRI parts declare both handlers with the
//! configurations they name (validated strictly by staging), and the SBOM lists the module and Go.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::{check_static_program, go_wrapper_requiring_the_pin, mode, stage, target_command};

const VERSION: &str = "0.0.0-20260905035102-160fafc42237";

fn check(arch: Arch) {
    let started = std::time::Instant::now();
    let s = stage(env!("CARGO_MANIFEST_DIR"), build::recipe, arch).unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    eprintln!(
        "gvisor {arch}: built gvisor.dev/gvisor v{VERSION} (a nearby snapshot, not the 20260810.0 pin) in {:.0?}",
        started.elapsed()
    );
    assert!(s.overridden_sources.is_empty());
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains(&format!("  name: gvisor\n  version: {VERSION}\n")), "{manifest}");

    for (_, rel) in build::PROGRAMS {
        let path = s.rootfs(rel);
        assert_eq!(mode(&path), 0o755, "{rel}");
        check_static_program(arch, &path).unwrap_or_else(|e| panic!("{e:#}"));
        s.check_no_build_paths(rel).unwrap();
        eprintln!("gvisor {arch}: {rel} {} bytes", std::fs::metadata(&path).unwrap().len());
    }
    let out = target_command(arch, &s.rootfs("usr/local/bin/runsc"))
        .arg("--version")
        .read()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.starts_with(&format!("runsc version {VERSION}\n")), "runsc --version: {out}");
    // The shim answers `-v` with its version line and exits.
    let shim = target_command(arch, &s.rootfs("usr/local/bin/containerd-shim-runsc-v1"))
        .arg("-v")
        .read()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(shim.contains("containerd-shim-runsc-v1"), "shim -v: {shim}");

    let conf = |name: &str| std::fs::read_to_string(s.rootfs(&format!("etc/cri/conf.d/{name}"))).unwrap();
    for (part, handler, config) in
        [("10-gvisor.part", "runsc", "runsc.toml"), ("10-gvisor-kvm.part", "runsc-kvm", "runsc-kvm.toml")]
    {
        let text = conf(part);
        assert!(
            text.contains(&format!("containerd.runtimes.{handler}]\n  runtime_type = \"io.containerd.runsc.v1\"\n")),
            "{text}"
        );
        assert!(text.contains(&format!("ConfigPath = \"/etc/cri/conf.d/{config}\"\n")), "{text}");
        assert!(conf(config).contains("[runsc_config]\n"), "{config}");
    }
    assert!(conf("runsc-kvm.toml").contains("platform = \"kvm\"\n"));

    let sbom = talos_ext_build::sbom::spdx_path("gvisor");
    let mut want: Vec<String> = build::PROGRAMS.iter().map(|(_, rel)| rel.to_string()).collect();
    want.extend(build::CRI_FILES.iter().map(|f| format!("etc/cri/conf.d/{f}")));
    want.push(sbom);
    want.sort();
    assert_eq!(s.rootfs_files(), want);
    let packages = s.sbom_packages("gvisor").unwrap();
    for (name, version) in [("gvisor.dev/gvisor", format!("v{VERSION}").as_str()), ("go", "1.26.8")] {
        assert!(packages.iter().any(|(n, v)| n == name && v == version), "{name} {version} in {packages:?}");
    }
}

#[test]
#[ignore = "tier full: a whole runsc compile (the gVisor kernel) for amd64"]
fn tier_full_amd64_nearby_snapshot() {
    check(Arch::Amd64);
}

#[test]
#[ignore = "tier full: a whole runsc compile for arm64, run under qemu"]
fn tier_full_arm64_nearby_snapshot_under_qemu() {
    check(Arch::Arm64);
}

#[test]
fn the_wrapper_module_requires_the_pinned_module() {
    let gomod = go_wrapper_requiring_the_pin(env!("CARGO_MANIFEST_DIR"));
    assert!(!gomod.lines().any(|l| l.trim_start().starts_with("replace")), "upstream's go.mod has no replace lines");
}
