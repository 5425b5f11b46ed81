//! Builds `lldpd` from Debian's real lldpd 1.0.18 release (a source override: the pinned 1.0.22
//! is not reachable here) for both arches, with its internal `libevent` stage from the exact pin
//! through an offline directory mirror. Checks the tree (validated strictly by staging), the
//! service spec and container root, the SBOM (lldpd and libevent), the binaries' machine, libc
//! and build paths, and runs `lldpd -v` and `lldpcli -v` (arm64 under qemu).

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

#[path = "../../../internal/libevent/build.rs"]
#[allow(dead_code)]
mod libevent;

use std::path::Path;

use talos_ext_build::testing::{
    Staged, TestOptions, check_static_program, internal_crate, mode, stage_with, target_command,
};
use talos_ext_build::{Arch, TestLibrary};

const CONTAINER: &str = "usr/local/lib/containers/lldpd";
const PROGRAMS: &[&str] = &["lldpd", "lldpcli"];

fn staged(arch: Arch, tmp: &Path) -> Staged {
    // libevent's pin, served offline from a mirror of Debian's byte-identical tarball.
    let pins = [(internal_crate("libevent"), "libevent", "libevent=2.1.13-stable-1")];
    let mut opts = TestOptions::offline_debian_pins(tmp, arch, &pins).unwrap_or_else(|e| panic!("{e:#}"));
    opts.override_with_debian_orig("lldpd", None, "lldpd=1.0.18-1").unwrap_or_else(|e| panic!("{e:#}"));
    opts.libraries = vec![TestLibrary::internal("libevent", libevent::recipe)];
    stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts)
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"))
}

fn check(arch: Arch) {
    let tmp = tempfile::tempdir().unwrap();
    let s = staged(arch, tmp.path());
    assert_eq!(s.overridden_sources, ["lldpd"], "only lldpd is overridden; libevent is the pin");
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("  name: lldpd\n  version: 1.0.22\n"), "{manifest}");

    for program in PROGRAMS {
        let rel = format!("{CONTAINER}/usr/local/sbin/{program}");
        assert_eq!(mode(&s.rootfs(&rel)), 0o755, "{program}");
        check_static_program(arch, &s.rootfs(&rel)).unwrap_or_else(|e| panic!("{e:#}"));
        s.check_no_build_paths(&rel).unwrap();
        let out = target_command(arch, &s.rootfs(&rel)).arg("-v").read().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.trim(), "1.0.18", "{program} -v");
    }
    let alias = std::fs::read_link(s.rootfs(&format!("{CONTAINER}/usr/local/sbin/lldpctl"))).unwrap();
    assert_eq!(alias, Path::new("lldpcli"));

    let spec = std::fs::read_to_string(s.rootfs("usr/local/etc/containers/lldpd.yaml")).unwrap();
    assert!(spec.starts_with("name: lldpd\n"), "{spec}");
    assert!(spec.contains("entrypoint: /usr/local/sbin/lldpd\n"), "{spec}");
    let passwd = std::fs::read_to_string(s.rootfs(&format!("{CONTAINER}/etc/passwd"))).unwrap();
    assert!(passwd.starts_with("root:x:0:0:"), "the privilege separation user: {passwd}");
    for (rel, want) in [
        ("usr/local/etc/containers/lldpd.yaml", 0o644),
        ("usr/local/etc/lldpd/lldpd.d/README.conf", 0o644),
        ("etc/passwd", 0o644),
        ("etc/group", 0o644),
        ("opt/lldpd", 0o755),
        ("usr/local/var/run", 0o755),
    ] {
        let path =
            if rel.starts_with("usr/local/etc/containers") { rel.to_string() } else { format!("{CONTAINER}/{rel}") };
        assert_eq!(mode(&s.rootfs(&path)), want, "{path}");
    }
    let files = s.rootfs_files();
    let sbom = talos_ext_build::sbom::spdx_path("lldpd");
    let shipped = |f: &String| f.starts_with(CONTAINER) || *f == sbom || f == "usr/local/etc/containers/lldpd.yaml";
    assert!(files.iter().all(shipped), "{files:?}");
    for absent in ["include", "lib", "share"] {
        assert!(!s.rootfs(&format!("{CONTAINER}/usr/local/{absent}")).exists(), "{absent} is not shipped");
    }

    // The SBOM lists lldpd and the libevent built into it, each with its pinned source.
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(s.rootfs(&sbom)).unwrap()).unwrap();
    let packages: Vec<(&str, &str)> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["versionInfo"].as_str().unwrap()))
        .collect();
    assert_eq!(packages, [("lldpd", "1.0.22"), ("libevent", "2.1.13")]);
    let libevent_file = &doc["files"].as_array().unwrap()[1];
    assert!(libevent_file["fileName"].as_str().unwrap().ends_with("libevent-2.1.13-stable.tar.gz"), "{libevent_file}");
}

#[test]
fn tier_kinds_amd64_from_debian_lldpd_1_0_18() {
    check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_from_debian_lldpd_1_0_18_under_qemu() {
    check(Arch::Arm64);
}
