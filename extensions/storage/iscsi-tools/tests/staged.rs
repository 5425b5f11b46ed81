//! Builds `iscsi-tools` from Debian's real open-iscsi 2.1.13 release (a source override: the
//! pinned 2.1.12 archive is not reachable here) for both arches, with its internal libraries:
//! libkmod from Debian's kmod 34.2 (override), util-linux-libs and libcrypto from their exact
//! pins through an offline directory mirror. Checks the tree (validated strictly by staging),
//! the service spec, the SBOM (one package per library stage), the binaries' machine and libc, and
//! runs `iscsiadm`.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

#[path = "../../../internal/libcrypto/build.rs"]
#[allow(dead_code)]
mod libcrypto;
#[path = "../../../internal/libkmod/build.rs"]
#[allow(dead_code)]
mod libkmod;
#[path = "../../../internal/util-linux-libs/build.rs"]
#[allow(dead_code)]
mod util_linux_libs;

use std::path::Path;

use talos_ext_build::testing::{
    Staged, TestOptions, check_static_program, internal_crate, mode, stage_with, target_command,
};
use talos_ext_build::{Arch, TestLibrary};

/// The static programs (the rest of `sbin` is upstream's shell helpers).
const PROGRAMS: &[&str] = &["iscsiadm", "iscsid", "iscsistart", "iscsi-iname", "iscsid-wrapper"];

fn staged(arch: Arch, tmp: &Path) -> Staged {
    // The libraries' pins, served offline from a mirror of Debian's byte-identical tarballs.
    let pins = [
        (internal_crate("util-linux-libs"), "util-linux", "util-linux=2.42.2-1"),
        (internal_crate("libcrypto"), "openssl", "openssl=3.5.7-1~deb13u2"),
    ];
    let mut opts = TestOptions::offline_debian_pins(tmp, arch, &pins).unwrap_or_else(|e| panic!("{e:#}"));
    for (extension, source, spec) in
        [("iscsi-tools", "open-iscsi", "open-iscsi=2.1.13-1"), ("libkmod", "kmod", "kmod=34.2-2")]
    {
        opts.override_with_debian_orig(extension, Some(source), spec).unwrap_or_else(|e| panic!("{e:#}"));
    }
    let library = TestLibrary::internal;
    let libraries = vec![
        library("libkmod", libkmod::recipe),
        library("util-linux-libs", util_linux_libs::recipe),
        library("libcrypto", libcrypto::recipe),
    ];
    opts.libraries = libraries;
    stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts)
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"))
}

fn check(arch: Arch) {
    let tmp = tempfile::tempdir().unwrap();
    let s = staged(arch, tmp.path());
    // Its own override and libkmod's (a library's overridden sources mark what links it).
    assert_eq!(s.overridden_sources, ["libkmod/kmod", "open-iscsi"], "the overrides are reported");
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("  name: iscsi-tools\n  version: v0.2.0\n"), "{manifest}");

    for program in PROGRAMS {
        let path = s.rootfs(&format!("usr/local/sbin/{program}"));
        assert_eq!(mode(&path), 0o755, "{program}");
        check_static_program(arch, &path).unwrap_or_else(|e| panic!("{e:#}"));
        s.check_no_build_paths(&format!("usr/local/sbin/{program}")).unwrap();
    }
    let text = target_command(arch, &s.rootfs("usr/local/sbin/iscsiadm")).arg("--version").read();
    let text = text.unwrap_or_else(|e| panic!("{e}"));
    assert!(text.contains("2.1.13"), "iscsiadm --version: {text}");

    let spec = std::fs::read_to_string(s.rootfs("usr/local/etc/containers/iscsid.yaml")).unwrap();
    assert!(spec.starts_with("name: iscsid\n"), "{spec}");
    assert!(spec.contains("entrypoint: /usr/local/sbin/iscsid-wrapper"), "{spec}");
    for (file, want) in [
        ("usr/local/etc/containers/iscsid.yaml", 0o644),
        ("usr/local/etc/iscsi/iscsid.conf", 0o644),
        ("usr/local/etc/passwd", 0o644),
        ("usr/lib/udev/rules.d/50-iscsi-firmware-login.rules", 0o644),
        ("usr/local/lib/containers/iscsid", 0o755),
    ] {
        assert_eq!(mode(&s.rootfs(file)), want, "{file}");
    }
    let alias = std::fs::read_link(s.rootfs("usr/local/sbin/brcm_iscsiuio")).unwrap();
    assert_eq!(alias, Path::new("iscsiuio"));
    for absent in ["usr/local/include", "usr/local/share/man", "usr/local/lib/pkgconfig", "etc", "var"] {
        assert!(!s.rootfs(absent).exists(), "{absent} is not shipped");
    }
    let share: Vec<_> =
        std::fs::read_dir(s.rootfs("usr/local/share")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(share, ["spdx"], "only the SBOM under share/");
    // The SBOM lists open-iscsi and each library stage linked into it (by their pins).
    let sbom = std::fs::read_to_string(s.rootfs(&talos_ext_build::sbom::spdx_path("iscsi-tools"))).unwrap();
    for package in ["iscsi-tools", "libcrypto", "libkmod", "util-linux-libs"] {
        assert!(sbom.contains(&format!("\"name\": \"{package}\",")), "no package {package}:\n{sbom}");
    }
    assert!(sbom.contains("\"relatedSpdxElement\": \"SPDXRef-Package-libcrypto\""), "{sbom}");
    assert!(!s.rootfs("usr/local/etc/iscsi/initiatorname.iscsi").exists(), "the name is made per node");
}

#[test]
fn tier_kinds_amd64_from_debian_open_iscsi_2_1_13() {
    check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_from_debian_open_iscsi_2_1_13() {
    check(Arch::Arm64);
}
