//! Stages the `libdevmapper` library for both arches from Debian's real LVM2 2.03.31 release
//! (`lvm2_2.03.31.orig.tar.xz`, a source override listed in `extensions/test-overrides.toml`:
//! the pinned 2.03.42 is not reachable offline and Debian carries 2.03.16 and 2.03.31) and checks
//! the sysroot: header, `devmapper.pc`, a static archive for the right machine only, no shared
//! library. Offline with an empty cache the recipe fails before any work, naming its pinned
//! source.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::{check_archive_machine, check_offline_fails_naming_a_source, stage_debian_override};

#[test]
fn offline_without_the_source_fails_naming_it() {
    check_offline_fails_naming_a_source(env!("CARGO_MANIFEST_DIR"), build::recipe);
}

fn check(arch: Arch) {
    let s = stage_debian_override(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, Some("lvm2"), "lvm2=2.03.31-2")
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    let header = std::fs::read_to_string(s.dir.join("usr/include/libdevmapper.h")).unwrap();
    assert!(header.contains("dm_task_create"), "{arch}: libdevmapper.h declares dm_task_create");
    let pc = std::fs::read_to_string(s.dir.join("usr/lib/pkgconfig/devmapper.pc")).unwrap();
    assert!(pc.contains("Version: 1.02."), "{pc}");
    let a = std::fs::read(s.dir.join("usr/lib/libdevmapper.a")).unwrap_or_else(|e| panic!("{arch}: {e}"));
    check_archive_machine(&a, arch, "libdevmapper.a");
    assert!(a.windows(b"dm_task_run".len()).any(|w| w == b"dm_task_run"), "{arch}: defines dm_task_run");
    assert!(!s.dir.join("usr/lib/libdevmapper.so").exists(), "{arch}: no shared libdevmapper");
    assert!(!s.dir.join("usr/sbin/dmsetup").exists(), "{arch}: only the library is installed");
}

#[test]
fn tier_kinds_amd64_static_libdevmapper_from_debian_lvm2_2_03_31() {
    check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_static_libdevmapper_from_debian_lvm2_2_03_31() {
    check(Arch::Arm64);
}
