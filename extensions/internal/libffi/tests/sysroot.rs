//! Stages the `libffi` library for both arches from its exact pin, offline, through a directory
//! mirror holding Debian's byte-identical `libffi_3.8.0.orig.tar.gz` (GitHub's tag archive), and
//! checks the sysroot: `ffi.h` and `libffi.pc` of 3.8.0, a static archive of objects for the
//! arch's machine only, and its SBOM component.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::{check_archive_machine, stage_debian_pin};

fn check(arch: Arch) {
    let s = stage_debian_pin(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, "libffi", "libffi=3.8.0-2")
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    let sysroot = &s.dir;
    for header in ["ffi.h", "ffitarget.h"] {
        assert!(sysroot.join("usr/include").join(header).is_file(), "{arch}: no {header}");
    }
    let pc = std::fs::read_to_string(sysroot.join("usr/lib/pkgconfig/libffi.pc")).unwrap();
    assert!(pc.contains("Version: 3.8.0"), "{pc}");
    let bytes = std::fs::read(sysroot.join("usr/lib/libffi.a")).unwrap();
    check_archive_machine(&bytes, arch, "libffi.a");
    assert!(bytes.windows(b"ffi_prep_cif".len()).any(|w| w == b"ffi_prep_cif"), "defines ffi_prep_cif");
    assert!(!sysroot.join("usr/lib/libffi.so").exists(), "{arch}: no shared libffi");
    let component = std::fs::read_to_string(sysroot.join(talos_ext_build::SYSROOT_COMPONENTS).join("libffi.json"))
        .unwrap_or_else(|e| panic!("{arch}: the SBOM component: {e}"));
    assert!(component.contains("\"3.8.0\""), "{component}");
}

#[test]
fn tier_kinds_amd64_static_libffi_from_pin() {
    check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_static_libffi_from_pin() {
    check(Arch::Arm64);
}
