//! Stages the `libtirpc` library for amd64 from its exact pin, offline, through a directory
//! mirror holding Debian's byte-identical `libtirpc_1.3.6+ds.orig.tar.gz`, and checks the
//! sysroot. (arm64 is built by the zfs tests, which link it.)

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::stage_debian_pin;

#[test]
fn tier_kinds_amd64_static_libtirpc_from_pin() {
    let s = stage_debian_pin(env!("CARGO_MANIFEST_DIR"), build::recipe, Arch::Amd64, "libtirpc", "libtirpc=1.3.6+ds-1")
        .unwrap_or_else(|e| panic!("staging: {e:#}"));
    let a = std::fs::read(s.dir.join("usr/lib/libtirpc.a")).unwrap();
    assert!(a.starts_with(b"!<arch>\n"), "libtirpc.a is a static archive");
    assert!(a.windows(b"xdr_string".len()).any(|w| w == b"xdr_string"), "libtirpc.a defines the XDR routines");
    assert!(!s.dir.join("usr/lib/libtirpc.so").exists(), "no shared libtirpc");
    for header in ["usr/include/tirpc/rpc/xdr.h", "usr/include/tirpc/rpc/rpc.h", "usr/include/sys/queue.h"] {
        assert!(s.dir.join(header).is_file(), "{header}");
    }
    let pc = std::fs::read_to_string(s.dir.join("usr/lib/pkgconfig/libtirpc.pc")).unwrap();
    assert!(pc.contains("Version: 1.3.6"), "{pc}");
}
