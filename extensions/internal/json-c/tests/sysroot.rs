//! Stages the `json-c` library for both arches through its real recipe, from Debian's copy of
//! the upstream json-c 0.18 release (a local source override: the pinned URL is unreachable
//! here), and checks the sysroot: headers, `json-c.pc`, and a static archive of objects for the
//! right machine.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::{Staged, check_archive_machine, stage_debian_override};

fn staged(arch: Arch) -> Staged {
    stage_debian_override(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, None, "json-c=0.18+ds-1")
        .unwrap_or_else(|e| panic!("{arch}: {e:#}"))
}

fn check(arch: Arch) {
    let s = staged(arch);
    let sysroot = &s.dir;
    for header in ["json.h", "json_object.h", "json_tokener.h", "json_config.h"] {
        assert!(sysroot.join("usr/include/json-c").join(header).is_file(), "{arch}: no {header}");
    }
    let pc = std::fs::read_to_string(sysroot.join("usr/lib/pkgconfig/json-c.pc")).unwrap();
    assert!(pc.contains("Version: 0.18"), "{pc}");
    assert!(pc.contains("prefix=/usr\n"), "{pc}");
    let archive = std::fs::read(sysroot.join("usr/lib/libjson-c.a")).unwrap();
    check_archive_machine(&archive, arch, "libjson-c.a");
    assert!(!sysroot.join("usr/lib/libjson-c.so").exists(), "static only");
}

#[test]
fn tier_kinds_amd64_sysroot() {
    check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_sysroot() {
    check(Arch::Arm64);
}
