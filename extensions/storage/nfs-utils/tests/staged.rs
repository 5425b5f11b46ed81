//! Builds the `nfs-utils` extension for both arches from its stages: `rpcbind` from Debian's
//! rpcbind 1.2.7 and `rpc-statd` from Debian's nfs-utils 2.8.3 (source overrides: the pinned
//! 1.2.8 and 2.8.4 are not reachable offline, see extensions/test-overrides.toml), rpcsvc-proto
//! from Debian's 1.4.3 (likewise), libtirpc, libevent and util-linux-libs from their exact pins
//! through an offline directory mirror. Checks the tree (validated strictly by staging, service
//! specs included), both container roots, the programs' machine, libc and build paths, runs
//! `rpcbind -h` and `rpc.statd --version` (arm64 under qemu), and the SBOM.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

#[path = "../../../internal/libevent/build.rs"]
#[allow(dead_code)]
mod libevent;

#[path = "../../../internal/libtirpc/build.rs"]
#[allow(dead_code)]
mod libtirpc;

#[path = "../../../internal/rpc-statd/build.rs"]
#[allow(dead_code)]
mod rpc_statd;

#[path = "../../../internal/rpcbind/build.rs"]
#[allow(dead_code)]
mod rpcbind;

#[path = "../../../internal/rpcsvc-proto/build.rs"]
#[allow(dead_code)]
mod rpcsvc_proto;

#[path = "../../../internal/util-linux-libs/build.rs"]
#[allow(dead_code)]
mod util_linux_libs;

use std::path::Path;

use talos_ext_build::testing::{
    Staged, TestOptions, check_static_program, internal_crate, mode, stage_with, target_command,
};
use talos_ext_build::{Arch, TestLibrary};

const RPCBIND: &str = "usr/local/lib/containers/rpcbind";
const STATD: &str = "usr/local/lib/containers/rpc-statd";

fn staged(arch: Arch, tmp: &Path) -> Staged {
    let pins = [
        (internal_crate("libtirpc"), "libtirpc", "libtirpc=1.3.6+ds-1"),
        (internal_crate("libevent"), "libevent", "libevent=2.1.13-stable-1"),
        (internal_crate("util-linux-libs"), "util-linux", "util-linux=2.42.2-1"),
    ];
    let mut opts = TestOptions::offline_debian_pins(tmp, arch, &pins).unwrap_or_else(|e| panic!("{e:#}"));
    for (extension, spec) in
        [("rpcbind", "rpcbind=1.2.7-1"), ("rpc-statd", "nfs-utils=1:2.8.3-1"), ("rpcsvc-proto", "rpcsvc-proto=1.4.3-1")]
    {
        opts.override_with_debian_orig(extension, None, spec).unwrap_or_else(|e| panic!("{e:#}"));
    }
    let lib = TestLibrary::internal;
    opts.libraries = vec![
        lib("libtirpc", libtirpc::recipe),
        lib("libevent", libevent::recipe),
        lib("util-linux-libs", util_linux_libs::recipe),
        lib("rpcsvc-proto", rpcsvc_proto::recipe),
        lib("rpcbind", rpcbind::recipe),
        lib("rpc-statd", rpc_statd::recipe),
    ];
    stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts)
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"))
}

fn check(arch: Arch) {
    let tmp = tempfile::tempdir().unwrap();
    let s = staged(arch, tmp.path());
    let mut overridden = s.overridden_sources.clone();
    overridden.sort();
    assert_eq!(overridden, ["rpc-statd/nfs-utils", "rpcbind/rpcbind", "rpcsvc-proto/rpcsvc-proto"]);
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("  name: nfs-utils\n  version: v0.1.1\n"), "{manifest}");

    for rel in [
        format!("{RPCBIND}/sbin/rpcbind"),
        format!("{RPCBIND}/sbin/rpcinfo"),
        format!("{STATD}/sbin/rpc.statd"),
        format!("{STATD}/sbin/sm-notify"),
    ] {
        assert_eq!(mode(&s.rootfs(&rel)), 0o755, "{rel}");
        check_static_program(arch, &s.rootfs(&rel)).unwrap_or_else(|e| panic!("{e:#}"));
        s.check_no_build_paths(&rel).unwrap();
    }
    let out = target_command(arch, &s.rootfs(&format!("{RPCBIND}/sbin/rpcbind")))
        .arg("-h")
        .output_unchecked()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{arch}: {stderr}");
    assert!(stderr.contains("usage: rpcbind"), "{arch}: {stderr}");
    let version = target_command(arch, &s.rootfs(&format!("{STATD}/sbin/rpc.statd")))
        .arg("--version")
        .read()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(version.trim(), "rpc.statd version 2.8.3", "{arch}");

    // The services and what their container roots hold around the programs.
    let spec = std::fs::read_to_string(s.rootfs("usr/local/etc/containers/rpcbind.yaml")).unwrap();
    assert!(spec.starts_with("name: rpcbind\n") && spec.contains("entrypoint: /sbin/rpcbind\n"), "{spec}");
    let spec = std::fs::read_to_string(s.rootfs("usr/local/etc/containers/rpc-statd.yaml")).unwrap();
    assert!(spec.starts_with("name: rpc-statd\n") && spec.contains("entrypoint: /sbin/rpc.statd\n"), "{spec}");
    assert!(spec.contains("- service: ext-rpcbind\n"), "statd waits for rpcbind: {spec}");
    for container in [RPCBIND, STATD] {
        let netconfig = std::fs::read_to_string(s.rootfs(&format!("{container}/etc/netconfig"))).unwrap();
        assert!(netconfig.lines().any(|l| l.starts_with("udp ")), "{netconfig}");
        assert_eq!(mode(&s.rootfs(&format!("{container}/var/run"))), 0o755);
    }
    let services = std::fs::read_to_string(s.rootfs(&format!("{RPCBIND}/etc/services"))).unwrap();
    assert!(services.lines().any(|l| l.starts_with("sunrpc") && l.contains("111/udp")), "{services}");
    let passwd = std::fs::read_to_string(s.rootfs(&format!("{RPCBIND}/etc/passwd"))).unwrap();
    assert!(passwd.lines().any(|l| l.starts_with("nobody:x:65534:")), "rpcbind's user: {passwd}");
    assert!(s.rootfs(&format!("{STATD}/var/lib/nfs")).is_dir());
    let sbom = talos_ext_build::sbom::spdx_path("nfs-utils");
    let shipped = |f: &String| {
        f.starts_with(RPCBIND) || f.starts_with(STATD) || *f == sbom || f.starts_with("usr/local/etc/containers/")
    };
    let files = s.rootfs_files();
    assert!(files.iter().all(shipped), "{files:?}");
    assert_eq!(files.iter().filter(|f| f.starts_with("usr/local/etc/containers/")).count(), 2, "{files:?}");

    // The SBOM: the extension, its two services and the library stages their builds used.
    let packages = s.sbom_packages("nfs-utils").unwrap();
    let names: Vec<(&str, &str)> = packages.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert_eq!(
        names,
        [
            ("nfs-utils", "v0.1.1"),
            ("libevent", "2.1.13"),
            ("libtirpc", "1.3.6"),
            ("rpc-statd", "2.8.4"),
            ("rpcbind", "1.2.8"),
            ("rpcsvc-proto", "1.4.4"),
            ("util-linux-libs", "2.42.2"),
        ]
    );
}

#[test]
fn tier_kinds_amd64_from_its_stages() {
    check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_from_its_stages_under_qemu() {
    check(Arch::Arm64);
}
