//! Stages the `libaio` library for both arches from its exact pin, offline, through a directory
//! mirror holding Debian's byte-identical `libaio_0.3.113.orig.tar.gz`, and checks the sysroot:
//! the header and a static archive of objects for the right machine only, no shared library.
//! Offline with an empty cache the recipe fails before any work, naming its pinned source.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::{check_archive_machine, check_offline_fails_naming_a_source, stage_debian_pin};

#[test]
fn offline_without_the_source_fails_naming_it() {
    check_offline_fails_naming_a_source(env!("CARGO_MANIFEST_DIR"), build::recipe);
}

fn check(arch: Arch) {
    let s = stage_debian_pin(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, "libaio", "libaio=0.3.113-4")
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    let header = std::fs::read_to_string(s.dir.join("usr/include/libaio.h")).unwrap();
    assert!(header.contains("io_submit"), "{arch}: libaio.h declares io_submit");
    let a = std::fs::read(s.dir.join("usr/lib/libaio.a")).unwrap_or_else(|e| panic!("{arch}: libaio.a: {e}"));
    check_archive_machine(&a, arch, "libaio.a");
    assert!(a.windows(b"io_setup".len()).any(|w| w == b"io_setup"), "{arch}: libaio.a defines io_setup");
    for shared in ["libaio.so", "libaio.so.1"] {
        assert!(!s.dir.join("usr/lib").join(shared).exists(), "{arch}: {shared} is not built");
    }
}

#[test]
fn tier_kinds_amd64_static_libaio_from_pin() {
    check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_static_libaio_from_pin() {
    check(Arch::Arm64);
}
