//! Stages the `liburcu` library for both arches from Debian's real userspace-rcu 0.13.2 release
//! (`liburcu_0.13.2.orig.tar.bz2`, a source override listed in `extensions/test-overrides.toml`:
//! the pinned 0.15.6 is not reachable offline and the archive's pool serves only 0.13.2) and
//! checks the sysroot: headers, `liburcu.pc`, static archives for the right machine only, no
//! shared libraries. Offline with an empty cache the recipe fails before any work, naming its
//! pinned source.

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
    let s = stage_debian_override(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, None, "liburcu=0.13.2-1")
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    for header in ["urcu.h", "urcu/rculist.h", "urcu/uatomic.h", "urcu/config.h"] {
        assert!(s.dir.join("usr/include").join(header).is_file(), "{arch}: no {header}");
    }
    let pc = std::fs::read_to_string(s.dir.join("usr/lib/pkgconfig/liburcu.pc")).unwrap();
    assert!(pc.contains("Version: 0.13.2"), "{pc}");
    for lib in ["liburcu.a", "liburcu-common.a", "liburcu-bp.a", "liburcu-cds.a", "liburcu-qsbr.a", "liburcu-mb.a"] {
        let bytes = std::fs::read(s.dir.join("usr/lib").join(lib)).unwrap_or_else(|e| panic!("{arch}: {lib}: {e}"));
        check_archive_machine(&bytes, arch, lib);
    }
    assert!(!s.dir.join("usr/lib/liburcu.so").exists(), "{arch}: no shared liburcu");
}

#[test]
fn tier_kinds_amd64_static_liburcu_from_debian_0_13_2() {
    check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_static_liburcu_from_debian_0_13_2() {
    check(Arch::Arm64);
}
