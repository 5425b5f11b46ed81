//! Stages the `libevent` library for both arches from its exact pin, offline, through a directory
//! mirror holding Debian's byte-identical `.orig`, and checks the sysroot: headers, `libevent.pc`
//! and static archives of objects for the right machine only.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::{check_archive_machine, stage_debian_pin};

fn check(arch: Arch) {
    let s = stage_debian_pin(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, "libevent", "libevent=2.1.13-stable-1")
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    let sysroot = &s.dir;
    for header in ["event2/event.h", "event2/bufferevent.h", "event2/event-config.h", "event.h"] {
        assert!(sysroot.join("usr/include").join(header).is_file(), "{arch}: no {header}");
    }
    let pc = std::fs::read_to_string(sysroot.join("usr/lib/pkgconfig/libevent.pc")).unwrap();
    assert!(pc.contains("Version: 2.1.13"), "{pc}");
    for lib in ["libevent.a", "libevent_core.a", "libevent_extra.a", "libevent_pthreads.a"] {
        let bytes = std::fs::read(sysroot.join("usr/lib").join(lib)).unwrap_or_else(|e| panic!("{arch}: {lib}: {e}"));
        check_archive_machine(&bytes, arch, lib);
    }
    for shared in ["libevent.so", "libevent_openssl.a", "libevent_openssl.pc"] {
        assert!(!sysroot.join("usr/lib").join(shared).exists(), "{arch}: {shared} is not built");
    }
}

#[test]
fn tier_kinds_amd64_static_libevent_from_pin() {
    check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_static_libevent_from_pin() {
    check(Arch::Arm64);
}
