//! Builds `nebula` from its exact pin (`github.com/slackhq/nebula` v1.11.0 through the Go module
//! proxy, or the cache after `cargo xtask fetch nebula`) for both arches: the programs are static
//! for the arch and hold no build path, both report the stamped version (arm64 under qemu), the
//! service spec (validated strictly by staging) runs nebula with the configuration the
//! ExtensionServiceConfig provides, and the SBOM lists the module and the Go toolchain.
//! A wrong graph hash fails before anything is built.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::{
    Staged, check_static_program, go_wrapper_requiring_the_pin, mode, stage, target_command,
};

const PROGRAMS: &[&str] = &["nebula", "nebula-cert"];

fn staged(arch: Arch) -> Staged {
    let started = std::time::Instant::now();
    let s = stage(env!("CARGO_MANIFEST_DIR"), build::recipe, arch).unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    eprintln!("nebula {arch}: built from the exact pin github.com/slackhq/nebula v1.11.0 in {:.0?}", started.elapsed());
    s
}

fn check(arch: Arch, s: &Staged) {
    assert!(s.overridden_sources.is_empty());
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("  name: nebula\n  version: 1.11.0\n"), "{manifest}");
    for program in PROGRAMS {
        let rel = format!("{}/usr/local/bin/{program}", build::CONTAINER);
        let path = s.rootfs(&rel);
        assert_eq!(mode(&path), 0o755, "{program}");
        check_static_program(arch, &path).unwrap_or_else(|e| panic!("{e:#}"));
        s.check_no_build_paths(&rel).unwrap();
        eprintln!("nebula {arch}: {program} {} bytes", std::fs::metadata(&path).unwrap().len());
        let out = target_command(arch, &path).arg("-version").read().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.trim(), "Version: 1.11.0", "{program} -version");
    }
    let spec = std::fs::read_to_string(s.rootfs("usr/local/etc/containers/nebula.yaml")).unwrap();
    assert!(spec.starts_with("name: nebula\n"), "{spec}");
    assert!(spec.contains("entrypoint: /usr/local/bin/nebula\n"), "{spec}");
    assert!(spec.contains("- /etc/nebula/config.yml\n") && spec.contains("- configuration: true\n"), "{spec}");
    assert_eq!(mode(&s.rootfs(&format!("{}/etc/nebula", build::CONTAINER))), 0o755);

    let sbom = talos_ext_build::sbom::spdx_path("nebula");
    let mut want: Vec<String> = PROGRAMS.iter().map(|p| format!("{}/usr/local/bin/{p}", build::CONTAINER)).collect();
    want.push(sbom);
    want.push("usr/local/etc/containers/nebula.yaml".into());
    want.sort();
    assert_eq!(s.rootfs_files(), want);
    let names = s.sbom_packages("nebula").unwrap();
    let names: Vec<(&str, &str)> = names.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert!(names.contains(&("github.com/slackhq/nebula", "v1.11.0")), "{names:?}");
    assert!(names.contains(&("go", "1.26.8")), "{names:?}");
}

#[test]
#[ignore = "tier full: a whole nebula compile for amd64; the default tier builds ecr-credential-provider"]
fn tier_full_amd64_exact_pin() {
    let s = staged(Arch::Amd64);
    check(Arch::Amd64, &s);
}

#[test]
#[ignore = "tier full: a whole nebula compile for arm64, run under qemu"]
fn tier_full_arm64_exact_pin_under_qemu() {
    let s = staged(Arch::Arm64);
    check(Arch::Arm64, &s);
}

#[test]
fn the_wrapper_module_requires_the_pinned_module() {
    let gomod = go_wrapper_requiring_the_pin(env!("CARGO_MANIFEST_DIR"));
    assert!(!gomod.lines().any(|l| l.trim_start().starts_with("replace")), "upstream's go.mod has no replace lines");
}
