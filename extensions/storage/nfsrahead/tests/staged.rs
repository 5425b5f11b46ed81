//! Builds `nfsrahead` for both arches from the **exact pin**, offline: nfs-utils 2.8.3 through a
//! directory mirror holding Debian's byte-identical `nfs-utils_2.8.3.orig.tar.xz`, with its
//! library stages libtirpc, libevent and util-linux-libs from their exact pins the same way.
//! Checks the tree (validated strictly by staging), the program's machine, libc, build paths and
//! configuration path, runs it (arm64 under qemu), the udev rule, `nfs.conf` and the SBOM.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

#[path = "../../../internal/libevent/build.rs"]
#[allow(dead_code)]
mod libevent;

#[path = "../../../internal/libtirpc/build.rs"]
#[allow(dead_code)]
mod libtirpc;

#[path = "../../../internal/util-linux-libs/build.rs"]
#[allow(dead_code)]
mod util_linux_libs;

use std::path::{Path, PathBuf};

use talos_ext_build::testing::{
    Staged, TestOptions, check_static_program, internal_crate, mode, stage_with, target_command,
};
use talos_ext_build::{Arch, TestLibrary};

const PROGRAM: &str = "usr/local/libexec/nfsrahead";
const RULE: &str = "usr/lib/udev/rules.d/99-nfs.rules";
const CONF: &str = "usr/local/etc/nfsrahead/nfs.conf";

fn staged(arch: Arch, tmp: &Path) -> Staged {
    let pins = [
        (PathBuf::from(env!("CARGO_MANIFEST_DIR")), "nfs-utils", "nfs-utils=1:2.8.3-1"),
        (internal_crate("libtirpc"), "libtirpc", "libtirpc=1.3.6+ds-1"),
        (internal_crate("libevent"), "libevent", "libevent=2.1.13-stable-1"),
        (internal_crate("util-linux-libs"), "util-linux", "util-linux=2.42.2-1"),
    ];
    let mut opts = TestOptions::offline_debian_pins(tmp, arch, &pins).unwrap_or_else(|e| panic!("{e:#}"));
    opts.libraries = vec![
        TestLibrary::internal("libtirpc", libtirpc::recipe),
        TestLibrary::internal("libevent", libevent::recipe),
        TestLibrary::internal("util-linux-libs", util_linux_libs::recipe),
    ];
    stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts)
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"))
}

fn check(arch: Arch) {
    let tmp = tempfile::tempdir().unwrap();
    let s = staged(arch, tmp.path());
    assert!(s.overridden_sources.is_empty(), "built from the pins: {:?}", s.overridden_sources);
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("  name: nfsrahead\n  version: 2.8.3\n"), "{manifest}");

    let program = s.rootfs(PROGRAM);
    assert_eq!(mode(&program), 0o755);
    check_static_program(arch, &program).unwrap_or_else(|e| panic!("{e:#}"));
    s.check_no_build_paths(PROGRAM).unwrap();
    let bytes = std::fs::read(&program).unwrap();
    let conf = b"/usr/local/etc/nfsrahead/nfs.conf";
    assert!(bytes.windows(conf.len()).any(|w| w == conf), "{arch}: the configuration path is compiled in");
    // Without a device number it says udev should have given one, on stderr (-F), and fails.
    let out = target_command(arch, &program).arg("-F").output_unchecked().unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{arch}: {stderr}");
    assert!(stderr.contains("expected the device number of a BDI"), "{arch}: {stderr}");

    let rule = std::fs::read_to_string(s.rootfs(RULE)).unwrap();
    assert!(
        rule.lines()
            .any(|l| l.starts_with("SUBSYSTEM==\"bdi\"") && l.contains("PROGRAM=\"/usr/local/libexec/nfsrahead %k\"")),
        "{rule}"
    );
    let conf = std::fs::read_to_string(s.rootfs(CONF)).unwrap();
    assert!(conf.lines().any(|l| l == "[nfsrahead]"), "{conf}");
    for rel in [RULE, CONF] {
        assert_eq!(mode(&s.rootfs(rel)), 0o644, "{rel}");
    }
    let sbom = talos_ext_build::sbom::spdx_path("nfsrahead");
    let mut files = s.rootfs_files();
    files.sort();
    let mut want = vec![PROGRAM.to_string(), RULE.to_string(), CONF.to_string(), sbom.clone()];
    want.sort();
    assert_eq!(files, want);

    // The SBOM: nfs-utils' helper and the library stages the build used, each with its pin.
    let packages = s.sbom_packages("nfsrahead").unwrap();
    let names: Vec<(&str, &str)> = packages.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert_eq!(
        names,
        [("nfsrahead", "2.8.3"), ("libevent", "2.1.13"), ("libtirpc", "1.3.6"), ("util-linux-libs", "2.42.2")]
    );
}

#[test]
fn tier_kinds_amd64_exact_pin() {
    check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_exact_pin_under_qemu() {
    check(Arch::Arm64);
}
