//! Stages `mellanox-mstflint` through its recipe: offline with an empty cache it fails before any
//! work, naming its pinned source; and for both arches with the Debian 6.12 toolchain from
//! **mstflint 4.33.0**'s `kernel/` directory (Debian's sid source `mstflint_4.33.0+1.orig.tar.gz`,
//! the release nearest the pinned 4.34.1-4, whose kernel-only tarball is on GitHub and not
//! reachable offline), through a source override; the module checked with kmod's `modinfo`.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::kernel::{KernelOverrides, with_overrides};
use talos_ext_build::testing::{
    Pins, TestOptions, check_offline_fails_naming_a_source, check_out_of_tree_modules, debian_orig, stage_with,
    tar_gz_subdir,
};
use talos_ext_build::{Arch, SourceOverride};

#[test]
fn offline_without_the_source_fails_naming_it() {
    check_offline_fails_naming_a_source(env!("CARGO_MANIFEST_DIR"), build::recipe);
}

#[test]
fn tier_kinds_debian_toolchain_builds_and_signs_mstflint_access_from_debian_4_33() {
    let tmp = tempfile::tempdir().unwrap();
    let orig = debian_orig("mstflint=4.33.0+1-1.1").unwrap_or_else(|e| panic!("{e:#}"));
    let src = tmp.path().join("kernel-mstflint");
    assert!(tar_gz_subdir(&orig, "kernel", &src).unwrap() >= 4);
    let pins = Pins::load().unwrap();
    let toolchain = pins.debian.name.clone();
    let debian = KernelOverrides { toolchain: Some(toolchain.clone()), ..Default::default() };
    let mut opts = TestOptions::from_env().unwrap();
    opts.overrides = vec![SourceOverride { extension: "mellanox-mstflint".into(), source: None, path: src }];
    for arch in Arch::ALL {
        let s = with_overrides(debian.clone(), || stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts))
            .unwrap_or_else(|e| panic!("{arch}: {e:#}"));
        assert_eq!(s.overridden_sources, ["kernel-mstflint"]);
        let cache = opts.fetch.cache_dir.clone();
        let (release, _) = check_out_of_tree_modules(&s, arch, &toolchain, &cache, &["extras/mstflint_access.ko"]);
        let want = [
            format!("usr/lib/modules/{release}/extras/mstflint_access.ko"),
            "usr/local/share/spdx/mellanox-mstflint.spdx.json".to_string(),
        ];
        assert_eq!(s.rootfs_files(), want, "{arch}: the module and the SBOM");
    }
}
