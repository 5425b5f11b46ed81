//! Stages the `libcrypto` library for amd64 from its exact pin, offline, through a directory
//! mirror holding Debian's byte-identical `.orig`, and checks the sysroot. (arm64 is built by
//! the iscsi-tools tests, which link it.)

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::stage_debian_pin;

#[test]
fn tier_kinds_amd64_static_libcrypto_from_pin() {
    let s =
        stage_debian_pin(env!("CARGO_MANIFEST_DIR"), build::recipe, Arch::Amd64, "openssl", "openssl=3.5.7-1~deb13u2")
            .unwrap_or_else(|e| panic!("staging: {e:#}"));
    let a = std::fs::read(s.dir.join("usr/lib/libcrypto.a")).unwrap();
    assert!(a.starts_with(b"!<arch>\n"), "libcrypto.a is a static archive");
    assert!(!s.dir.join("usr/lib/libcrypto.so").exists(), "no shared library");
    assert!(s.dir.join("usr/include/openssl/evp.h").is_file());
    let pc = std::fs::read_to_string(s.dir.join("usr/lib/pkgconfig/libcrypto.pc")).unwrap();
    assert!(pc.contains("Version: 3.5.7"), "{pc}");
}
