//! Stages `rpc-statd` for both arches from Debian's real nfs-utils 2.8.3 release (a source
//! override: the pinned 2.8.4 tarball is not reachable offline and Debian carries 2.8.3 and
//! 3.1.1), with our patches, and its library stages: libtirpc, libevent and util-linux-libs from
//! their exact pins through an offline directory mirror, rpcsvc-proto from Debian's 1.4.3 (its own
//! listed override). Checks rpc.statd and sm-notify, static for the arch, under the service's
//! container root, and runs them (arm64 under qemu).

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

#[path = "../../libevent/build.rs"]
#[allow(dead_code)]
mod libevent;

#[path = "../../libtirpc/build.rs"]
#[allow(dead_code)]
mod libtirpc;

#[path = "../../rpcsvc-proto/build.rs"]
#[allow(dead_code)]
mod rpcsvc_proto;

#[path = "../../util-linux-libs/build.rs"]
#[allow(dead_code)]
mod util_linux_libs;

use talos_ext_build::testing::{TestOptions, check_static_program, internal_crate, stage_with, target_command};
use talos_ext_build::{Arch, TestLibrary};

fn check(arch: Arch) {
    let pins = [
        (internal_crate("libtirpc"), "libtirpc", "libtirpc=1.3.6+ds-1"),
        (internal_crate("libevent"), "libevent", "libevent=2.1.13-stable-1"),
        (internal_crate("util-linux-libs"), "util-linux", "util-linux=2.42.2-1"),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = TestOptions::offline_debian_pins(tmp.path(), arch, &pins).unwrap_or_else(|e| panic!("{e:#}"));
    for (extension, spec) in [("rpc-statd", "nfs-utils=1:2.8.3-1"), ("rpcsvc-proto", "rpcsvc-proto=1.4.3-1")] {
        opts.override_with_debian_orig(extension, None, spec).unwrap_or_else(|e| panic!("{e:#}"));
    }
    opts.libraries = vec![
        TestLibrary::internal("libtirpc", libtirpc::recipe),
        TestLibrary::internal("libevent", libevent::recipe),
        TestLibrary::internal("util-linux-libs", util_linux_libs::recipe),
        TestLibrary::internal("rpcsvc-proto", rpcsvc_proto::recipe),
    ];
    let s = stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts)
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    let mut overridden = s.overridden_sources.clone();
    overridden.sort();
    assert_eq!(overridden, ["nfs-utils", "rpcsvc-proto/rpcsvc-proto"], "the listed overrides only");

    let sbin = s.dir.join("usr/local/lib/containers/rpc-statd/sbin");
    for program in ["rpc.statd", "sm-notify"] {
        check_static_program(arch, &sbin.join(program)).unwrap_or_else(|e| panic!("{e:#}"));
    }
    let version =
        target_command(arch, &sbin.join("rpc.statd")).arg("--version").read().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(version.trim(), "rpc.statd version 2.8.3", "{arch}");
    // sm-notify takes no operands: it prints its usage and stops before touching any state.
    let out =
        target_command(arch, &sbin.join("sm-notify")).arg("x").output_unchecked().unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{arch}: {stderr}");
    assert!(stderr.contains("Usage: sm-notify -notify"), "{arch}: {stderr}");
    // Our patches are in: the state directories are made, and a foreground statd logs to stderr.
    let statd = std::fs::read(sbin.join("rpc.statd")).unwrap();
    assert!(statd.windows(b"/var/lib/nfs/statd".len()).any(|w| w == b"/var/lib/nfs/statd"), "{arch}: statdpath");
    let component = std::fs::read_to_string(s.dir.join(".talos-ext-sbom/rpc-statd.json")).unwrap();
    assert!(component.contains("2.8.4") && component.contains("nfs-utils-2.8.4.tar.xz"), "{component}");
}

#[test]
fn tier_kinds_amd64_from_debian_nfs_utils_2_8_3() {
    check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_from_debian_nfs_utils_2_8_3_under_qemu() {
    check(Arch::Arm64);
}
