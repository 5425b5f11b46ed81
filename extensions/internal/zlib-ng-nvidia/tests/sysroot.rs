//! Stages `zlib-ng-nvidia` for amd64 from zlib-ng 2.2.4, Debian's `zlib-ng` component tarball of
//! `node-yarnpkg=4.1.0+dfsg-9` (`node-yarnpkg_4.1.0+dfsg.orig-zlib-ng.tar.xz`, upstream's 2.2.4
//! tree): a source override, listed in `extensions/test-overrides.toml` (the pin is the 2.3.3
//! GitHub archive, which is not reachable, and Debian has no zlib-ng source package of its own).

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::testing::{Staged, TestOptions, debian_orig_component, stage_with};
use talos_ext_build::{Arch, SourceOverride};

/// Debian's source package that carries zlib-ng as a component tarball, and the component.
pub const DEBIAN_ZLIB_NG: (&str, &str) = ("node-yarnpkg=4.1.0+dfsg-9", "zlib-ng");

fn stage() -> Staged {
    let mut opts = TestOptions::from_env().unwrap();
    opts.overrides = vec![SourceOverride {
        extension: "zlib-ng-nvidia".into(),
        source: None,
        path: debian_orig_component(DEBIAN_ZLIB_NG.0, DEBIAN_ZLIB_NG.1).unwrap_or_else(|e| panic!("{e:#}")),
    }];
    stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, Arch::Amd64, &opts)
        .unwrap_or_else(|e| panic!("staging: {e:#}"))
}

#[test]
fn tier_kinds_amd64_glibc_shared_zlib_ng_2_2_4_from_debian() {
    let s = stage();
    assert_eq!(s.overridden_sources, ["zlib-ng"], "the override is reported");
    let lib = s.dir.join("usr/local/lib");
    let soname = lib.join("libz.so.1");
    let real = std::fs::canonicalize(&soname).unwrap_or_else(|e| panic!("{}: {e}", soname.display()));
    assert!(real.file_name().unwrap().to_str().unwrap().starts_with("libz.so.1."), "{}", real.display());
    let elf = talos_ext_build::elf::ElfInfo::read(&real).unwrap();
    assert_eq!(elf.machine, Arch::Amd64.elf_machine());
    assert_eq!(elf.soname.as_deref(), Some("libz.so.1"), "zlib's soname (--zlib-compat)");
    assert!(elf.needed.iter().any(|n| n == "libc.so.6"), "a glibc library: {:?}", elf.needed);
    let header = std::fs::read_to_string(s.dir.join("usr/local/include/zlib.h")).unwrap();
    assert!(header.contains("zlib-ng"), "zlib.h is zlib-ng's");
    // Loads through this machine's glibc and compresses: zlibVersion() names zlib-ng.
    let dir = tempfile_dir();
    let c = dir.join("v.c");
    std::fs::write(
        &c,
        "#include <stdio.h>\nconst char *zlibVersion(void);\nint main(void) { puts(zlibVersion()); return 0; }\n",
    )
    .unwrap();
    let out = dir.join("v");
    talos_ext_build::step::Command::new(build::CC).arg("-o").arg(&out).arg(&c).arg(&soname).run().unwrap();
    let version = talos_ext_build::step::Command::new(&out).env("LD_LIBRARY_PATH", &lib).read().unwrap();
    assert_eq!(version.trim(), "1.3.1.zlib-ng", "zlib-ng 2.2.4's zlib-compatible version");
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("zlib-ng-nvidia-check");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
