//! Stages the `libnvme` library for both arches through its real recipe, from PyPI's sdist of
//! upstream libnvme 1.16.2 (the complete meson project) and Debian's json-c 0.18, both as local
//! source overrides (the pinned URLs are unreachable here), and checks the sysroot: static
//! archives for the right machine, headers, `pkg-config` files, and json-c merged in.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

#[path = "../../json-c/build.rs"]
#[allow(dead_code)]
mod json_c;

use std::path::PathBuf;

use talos_ext_build::prelude::Result;
use talos_ext_build::testing::{Staged, TestOptions, check_archive_machine, debian_orig, pypi_sdist, stage_with};
use talos_ext_build::{Arch, SourceOverride, TestLibrary};

fn staged(arch: Arch) -> Staged {
    let source = |extension: &str, path: Result<PathBuf>| SourceOverride {
        extension: extension.into(),
        source: None,
        path: path.unwrap_or_else(|e| panic!("{e:#}")),
    };
    let mut opts = TestOptions::from_env().unwrap();
    opts.overrides =
        vec![source("libnvme", pypi_sdist("libnvme==1.16.2")), source("json-c", debian_orig("json-c=0.18+ds-1"))];
    opts.libraries = vec![TestLibrary::internal("json-c", json_c::recipe)];
    stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts).unwrap_or_else(|e| panic!("{arch}: {e:#}"))
}

fn check(arch: Arch) {
    let s = staged(arch);
    let mut overridden = s.overridden_sources.clone();
    overridden.sort();
    assert_eq!(overridden, ["json-c/json-c", "libnvme"], "its own and json-c's overridden sources");
    let lib = s.dir.join("usr/lib");
    for archive in ["libnvme.a", "libnvme-mi.a", "libjson-c.a"] {
        let bytes = std::fs::read(lib.join(archive)).unwrap_or_else(|e| panic!("{arch}: {archive}: {e}"));
        check_archive_machine(&bytes, arch, archive);
    }
    assert!(!lib.join("libnvme.so").exists(), "static only");
    for header in ["libnvme.h", "libnvme-mi.h", "nvme/types.h", "json-c/json.h"] {
        assert!(s.dir.join("usr/include").join(header).is_file(), "{arch}: no {header}");
    }
    let pc = std::fs::read_to_string(lib.join("pkgconfig/libnvme.pc")).unwrap();
    assert!(pc.contains("Version: 1.16.2"), "{pc}");
    assert!(pc.contains("json-c"), "libnvme.pc must pull in json-c for static links:\n{pc}");
    assert!(lib.join("pkgconfig/libnvme-mi.pc").is_file());
}

#[test]
fn tier_kinds_amd64_sysroot() {
    check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_sysroot() {
    check(Arch::Arm64);
}
