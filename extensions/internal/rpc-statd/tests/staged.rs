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

use std::path::{Path, PathBuf};

use talos_ext_build::testing::{TestOptions, check_static_program, debian_orig, meta, stage_with, target_command};
use talos_ext_build::{Arch, SourceOverride, TestLibrary};

fn internal(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name)
}

fn check(arch: Arch) {
    let files: Vec<(PathBuf, String)> = [
        ("libtirpc=1.3.6+ds-1", "libtirpc", "libtirpc"),
        ("libevent=2.1.13-stable-1", "libevent", "libevent"),
        ("util-linux=2.42.2-1", "util-linux-libs", "util-linux"),
    ]
    .into_iter()
    .map(|(spec, lib, source)| {
        let pinned = meta(internal(lib).to_str().unwrap()).unwrap().source(source, arch).unwrap().sha256.to_string();
        (debian_orig(spec).unwrap_or_else(|e| panic!("{e:#}")), pinned)
    })
    .collect();
    let mirror: Vec<(&Path, &str)> = files.iter().map(|(p, h)| (p.as_path(), h.as_str())).collect();
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = TestOptions::offline_mirror(tmp.path(), &mirror).unwrap();
    let debian = |spec: &str| debian_orig(spec).unwrap_or_else(|e| panic!("{e:#}"));
    opts.overrides = vec![
        SourceOverride { extension: "rpc-statd".into(), source: None, path: debian("nfs-utils=1:2.8.3-1") },
        SourceOverride { extension: "rpcsvc-proto".into(), source: None, path: debian("rpcsvc-proto=1.4.3-1") },
    ];
    opts.libraries = vec![
        TestLibrary { links: "libtirpc".into(), manifest_dir: internal("libtirpc"), recipe: libtirpc::recipe },
        TestLibrary { links: "libevent".into(), manifest_dir: internal("libevent"), recipe: libevent::recipe },
        TestLibrary {
            links: "util-linux-libs".into(),
            manifest_dir: internal("util-linux-libs"),
            recipe: util_linux_libs::recipe,
        },
        TestLibrary {
            links: "rpcsvc-proto".into(),
            manifest_dir: internal("rpcsvc-proto"),
            recipe: rpcsvc_proto::recipe,
        },
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
