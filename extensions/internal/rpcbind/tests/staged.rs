//! Stages `rpcbind` for both arches from Debian's real rpcbind 1.2.7 release (a source override:
//! the pinned 1.2.8 tarball is not reachable offline and Debian carries 1.2.7), with its libtirpc
//! stage from the exact pin through an offline directory mirror, and checks the sysroot: rpcbind
//! and rpcinfo, static for the arch, under the service's container root, and that they run
//! (arm64 under qemu).

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

#[path = "../../libtirpc/build.rs"]
#[allow(dead_code)]
mod libtirpc;

use talos_ext_build::testing::{TestOptions, check_static_program, internal_crate, stage_with, target_command};
use talos_ext_build::{Arch, TestLibrary};

fn check(arch: Arch) {
    let tmp = tempfile::tempdir().unwrap();
    let pins = [(internal_crate("libtirpc"), "libtirpc", "libtirpc=1.3.6+ds-1")];
    let mut opts = TestOptions::offline_debian_pins(tmp.path(), arch, &pins).unwrap_or_else(|e| panic!("{e:#}"));
    opts.override_with_debian_orig("rpcbind", None, "rpcbind=1.2.7-1").unwrap_or_else(|e| panic!("{e:#}"));
    opts.libraries = vec![TestLibrary::internal("libtirpc", libtirpc::recipe)];
    let s = stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts)
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    assert_eq!(s.overridden_sources, ["rpcbind"], "rpcbind is Debian's 1.2.7; libtirpc is the pin");
    let sbin = s.dir.join("usr/local/lib/containers/rpcbind/sbin");
    for program in ["rpcbind", "rpcinfo"] {
        check_static_program(arch, &sbin.join(program)).unwrap_or_else(|e| panic!("{e:#}"));
    }
    assert!(!s.dir.join("usr/local/lib/containers/rpcbind/share").exists(), "no man pages");
    // `-h` wants a host address: without one rpcbind prints its usage and stops.
    let out =
        target_command(arch, &sbin.join("rpcbind")).arg("-h").output_unchecked().unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{arch}: {stderr}");
    assert!(stderr.contains("usage: rpcbind [-adhilswf]"), "{arch}: {stderr}");
    // The SBOM component the extension takes over.
    let component = std::fs::read_to_string(s.dir.join(".talos-ext-sbom/rpcbind.json")).unwrap();
    assert!(component.contains("1.2.8") && component.contains("rpcbind-1.2.8.tar.bz2"), "{component}");
}

#[test]
fn tier_kinds_amd64_from_debian_rpcbind_1_2_7() {
    check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_from_debian_rpcbind_1_2_7_under_qemu() {
    check(Arch::Arm64);
}
