//! Stages the `libkmod` library from Debian's kmod 34.2 release tarball through a source override
//! (the pinned kernel.org tarball is not reachable here) and checks the sysroot it produced.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::{TestOptions, stage_with};

fn check(arch: Arch) {
    let mut opts = TestOptions::from_env().unwrap();
    opts.fetch.offline = true;
    opts.override_with_debian_orig("libkmod", Some("kmod"), "kmod=34.2-2").unwrap();
    let s = stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts)
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    assert_eq!(s.overridden_sources, ["kmod"]);
    let lib = std::fs::read(s.dir.join("usr/lib/libkmod.a")).unwrap();
    assert!(lib.starts_with(b"!<arch>\n"), "libkmod.a is a static archive");
    assert!(!s.dir.join("usr/lib/libkmod.so").exists(), "no shared library");
    assert!(s.dir.join("usr/include/libkmod.h").is_file());
    let pc = std::fs::read_to_string(s.dir.join("usr/lib/pkgconfig/libkmod.pc")).unwrap();
    assert!(pc.contains("Version: 34.2"), "{pc}");
    for lib in ["zstd", "lzma", "zlib", "crypto"] {
        assert!(!pc.contains(lib), "compression and signatures are off: {pc}");
    }
    assert!(!s.dir.join("usr/bin").exists(), "no tools");
}

#[test]
fn tier_kinds_amd64_static_libkmod() {
    check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_static_libkmod() {
    check(Arch::Arm64);
}
