//! Stages the `pcre2` library for both arches from its exact pin, offline, through a directory
//! mirror holding Debian's byte-identical `pcre2_10.48.orig.tar.gz`, and checks the sysroot:
//! `pcre2.h` of 10.48, `libpcre2-8.pc`, a static archive of objects for the arch's machine only,
//! and its SBOM component.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::{check_archive_machine, stage_debian_pin};

fn check(arch: Arch) {
    let s = stage_debian_pin(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, "pcre2", "pcre2=10.48-3.1")
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    let sysroot = &s.dir;
    let header = std::fs::read_to_string(sysroot.join("usr/include/pcre2.h")).unwrap();
    assert!(header.contains("#define PCRE2_MAJOR           10\n"), "pcre2.h is PCRE2 10");
    assert!(header.contains("#define PCRE2_MINOR           48\n"), "pcre2.h is 10.48");
    let pc = std::fs::read_to_string(sysroot.join("usr/lib/pkgconfig/libpcre2-8.pc")).unwrap();
    assert!(pc.contains("Version: 10.48"), "{pc}");
    let bytes = std::fs::read(sysroot.join("usr/lib/libpcre2-8.a")).unwrap();
    check_archive_machine(&bytes, arch, "libpcre2-8.a");
    assert!(bytes.windows(b"pcre2_compile_8".len()).any(|w| w == b"pcre2_compile_8"), "defines pcre2_compile");
    for absent in ["libpcre2-8.so", "libpcre2-16.a", "libpcre2-32.a"] {
        assert!(!sysroot.join("usr/lib").join(absent).exists(), "{arch}: {absent} is not built");
    }
    let component = std::fs::read_to_string(sysroot.join(talos_ext_build::SYSROOT_COMPONENTS).join("pcre2.json"))
        .unwrap_or_else(|e| panic!("{arch}: the SBOM component: {e}"));
    assert!(component.contains("\"10.48\""), "{component}");
}

#[test]
fn tier_kinds_amd64_static_pcre2_from_pin() {
    check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_static_pcre2_from_pin() {
    check(Arch::Arm64);
}
