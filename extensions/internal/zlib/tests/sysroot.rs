//! Stages the `zlib` library for amd64 from Debian's zlib 1.3.2 upstream tarball (a source
//! override: Debian's `zlib_1.3.dfsg+really1.3.2.orig.tar.gz` is repacked, so it is the pinned
//! release but not the pinned bytes), and checks the sysroot. (arm64 is built by the zfs
//! tests, which link it.)

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::stage_debian_override;

#[test]
fn tier_kinds_amd64_static_zlib_from_debian_1_3_2() {
    let s = stage_debian_override(
        env!("CARGO_MANIFEST_DIR"),
        build::recipe,
        Arch::Amd64,
        None,
        "zlib=1:1.3.dfsg+really1.3.2-3",
    )
    .unwrap_or_else(|e| panic!("staging: {e:#}"));
    let a = std::fs::read(s.dir.join("usr/lib/libz.a")).unwrap();
    assert!(a.starts_with(b"!<arch>\n"), "libz.a is a static archive");
    assert!(a.windows(b"deflateInit2_".len()).any(|w| w == b"deflateInit2_"), "libz.a defines deflate");
    assert!(!s.dir.join("usr/lib/libz.so").exists(), "no shared zlib");
    let header = std::fs::read_to_string(s.dir.join("usr/include/zlib.h")).unwrap();
    assert!(header.contains("#define ZLIB_VERSION \"1.3.2\""), "zlib.h is 1.3.2");
    let pc = std::fs::read_to_string(s.dir.join("usr/lib/pkgconfig/zlib.pc")).unwrap();
    assert!(pc.contains("Version: 1.3.2"), "{pc}");
}
