//! `nvidia-fabricmanager-lts`: the metadata, the offline fail-fast, and the whole extension
//! staged per arch from GENERATED STAND-INS of NVIDIA's fabric manager 580.178.04 and NVLSM 2025.06.5
//! archives (not the vendor bytes: NVIDIA's download site is not reachable offline; glibc programs
//! and libraries built by Debian's gcc in NVIDIA's layout, served through a mirror under the
//! test's own pins, listed in `extensions/test-overrides.toml`). The `glibc` extension layered
//! into the container root is a STAND-IN (`testing::glibc_layer_stand_in`: this machine's glibc
//! 2.36 in glibc's layout; the image is marked) except in the full-tier test that builds the real
//! glibc recipe; the stand-in programs run through the layered glibc. The zlib-ng stage (amd64) is built
//! from zlib-ng 2.2.4 (Debian's component tarball of node-yarnpkg, a listed override; the pin is
//! 2.3.3). The gcc runtime is this machine's Debian package; the wrapper is built from our source. See
//! `talos_ext_build::testing::fabricmanager::check_staged` for what is checked.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

#[path = "../../../internal/zlib-ng-nvidia/build.rs"]
#[allow(dead_code)]
mod zlib_ng;

#[path = "../../../misc/glibc/build.rs"]
#[allow(dead_code)]
mod glibc;

use talos_ext_build::Arch;
use talos_ext_build::testing::fabricmanager::{check_staged, options, options_with_glibc, stage};

/// Stages and checks the recipe for `arch` from the stand-in archives (re-pinned with
/// `testing::Repin::of_file` by `testing::fabricmanager::options`) and the stand-in glibc layer.
fn check(arch: Arch) {
    let dir = env!("CARGO_MANIFEST_DIR");
    let (_mirror, opts) = options(dir, arch, zlib_ng::recipe).unwrap_or_else(|e| panic!("{e:#}"));
    let s = stage(dir, build::recipe, arch, &opts, "STAND-INS (stand-in archives and glibc)");
    check_staged(dir, &s, arch);
}

talos_ext_build::fabricmanager_recipe_tests!(build::recipe, zlib_ng::recipe, "580.178.04", "2025.06.5");

#[test]
fn tier_kinds_amd64_staged_from_stand_ins_with_a_stand_in_glibc() {
    check(Arch::Amd64);
}

#[test]
#[ignore = "tier full: arm64 stand-ins, the wrapper under qemu"]
fn tier_full_arm64_staged_from_stand_ins_with_a_stand_in_glibc() {
    check(Arch::Arm64);
}

#[test]
#[ignore = "tier full: builds the real glibc recipe (Debian's glibc 2.43 orig, about 5 minutes) to layer it"]
fn tier_full_amd64_staged_with_the_real_glibc_from_debian() {
    use talos_ext_build::testing::fabricmanager::check_runs_with_the_layered_glibc;
    use talos_ext_build::testing::glibc_debian_override;
    let dir = env!("CARGO_MANIFEST_DIR");
    let arch = Arch::Amd64;
    let (_mirror, mut opts) =
        options_with_glibc(dir, arch, glibc::recipe, zlib_ng::recipe).unwrap_or_else(|e| panic!("{e:#}"));
    // Besides the zlib-ng stage's override the options carry.
    opts.overrides.push(glibc_debian_override().unwrap_or_else(|e| panic!("{e:#}")));
    let s = stage(dir, build::recipe, arch, &opts, "the real glibc recipe (Debian's 2.43) and STAND-IN archives");
    check_staged(dir, &s, arch);
    check_runs_with_the_layered_glibc(&s, arch);
    assert!(
        s.overridden_sources.iter().any(|o| o.starts_with("glibc")),
        "the glibc override marks the image: {:?}",
        s.overridden_sources
    );
}
