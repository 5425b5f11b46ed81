//! Stages the `libcrypto` library for amd64 from its exact pin, offline, through a directory
//! mirror holding Debian's byte-identical `.orig`, and checks the sysroot. (arm64 is built by
//! the iscsi-tools tests, which link it.)

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::{TestOptions, debian_orig, stage_with};

#[test]
fn tier_kinds_amd64_static_libcrypto_from_pin() {
    let orig = debian_orig("openssl=3.5.7-1~deb13u2").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let pinned = "a8c0d28a529ca480f9f36cf5792e2cd21984552a3c8e4aa11a24aa31aeac98e8";
    let opts = TestOptions::offline_mirror(tmp.path(), &[(&orig, pinned)]).unwrap();
    let s = stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, Arch::Amd64, &opts)
        .unwrap_or_else(|e| panic!("staging: {e:#}"));
    assert!(s.overridden_sources.is_empty());
    let a = std::fs::read(s.dir.join("usr/lib/libcrypto.a")).unwrap();
    assert!(a.starts_with(b"!<arch>\n"), "libcrypto.a is a static archive");
    assert!(!s.dir.join("usr/lib/libcrypto.so").exists(), "no shared library");
    assert!(s.dir.join("usr/include/openssl/evp.h").is_file());
    let pc = std::fs::read_to_string(s.dir.join("usr/lib/pkgconfig/libcrypto.pc")).unwrap();
    assert!(pc.contains("Version: 3.5.7"), "{pc}");
}
