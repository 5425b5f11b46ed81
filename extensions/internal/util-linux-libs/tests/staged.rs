//! Stages the `util-linux-libs` library (libmount, libblkid, libuuid) for amd64 from its exact pin, offline, through a
//! directory mirror holding Debian's byte-identical `.orig`, and checks the sysroot. (arm64 is
//! built by the iscsi-tools tests, which link it.)

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::stage_debian_pin;

#[test]
fn tier_kinds_amd64_static_libmount_and_libblkid_from_pin() {
    let s =
        stage_debian_pin(env!("CARGO_MANIFEST_DIR"), build::recipe, Arch::Amd64, "util-linux", "util-linux=2.42.2-1")
            .unwrap_or_else(|e| panic!("staging: {e:#}"));
    for lib in ["libmount", "libblkid", "libuuid"] {
        let a = std::fs::read(s.dir.join(format!("usr/lib/{lib}.a"))).unwrap();
        assert!(a.starts_with(b"!<arch>\n"), "{lib}.a is a static archive");
        assert!(!s.dir.join(format!("usr/lib/{lib}.so")).exists(), "no shared {lib}");
    }
    assert!(s.dir.join("usr/include/libmount/libmount.h").is_file());
    assert!(s.dir.join("usr/include/blkid/blkid.h").is_file());
    assert!(s.dir.join("usr/include/uuid/uuid.h").is_file());
    let pc = std::fs::read_to_string(s.dir.join("usr/lib/pkgconfig/mount.pc")).unwrap();
    assert!(pc.contains("Version: 2.42.2"), "{pc}");
}
