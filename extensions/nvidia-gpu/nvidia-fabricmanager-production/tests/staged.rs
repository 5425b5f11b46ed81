//! `nvidia-fabricmanager-production`: the metadata, the offline fail-fast, and the whole extension
//! staged per arch from GENERATED STAND-INS of NVIDIA's fabric manager 595.91.07 and NVLSM 2025.10.11
//! archives (not the vendor bytes: NVIDIA's download site is not reachable offline; glibc programs
//! and libraries built by Debian's gcc in NVIDIA's layout, served through a mirror under the
//! test's own pins, listed in `extensions/test-overrides.toml`). The `glibc` extension layered
//! into the container root is a STAND-IN (`testing::glibc_layer_stand_in`: this machine's glibc
//! 2.36 in glibc's layout; the image is marked), through which the stand-in programs run (the LTS
//! crate's full-tier test layers the real glibc recipe). The zlib-ng stage (amd64) is built
//! from zlib-ng 2.2.4 (Debian's component tarball of node-yarnpkg, a listed override; the pin is
//! 2.3.3). The gcc runtime is this machine's Debian package; the wrapper is built from our source. See
//! `talos_ext_build::testing::fabricmanager::check_staged` for what is checked.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

#[path = "../../../internal/zlib-ng-nvidia/build.rs"]
#[allow(dead_code)]
mod zlib_ng;

use talos_ext_build::Arch;
use talos_ext_build::testing::fabricmanager::{check_staged, options, stage};

/// Stages and checks the recipe for `arch` from the stand-in archives (re-pinned with
/// `testing::Repin::of_file` by `testing::fabricmanager::options`) and the stand-in glibc layer.
fn check(arch: Arch) {
    let dir = env!("CARGO_MANIFEST_DIR");
    let (_mirror, opts) = options(dir, arch, zlib_ng::recipe).unwrap_or_else(|e| panic!("{e:#}"));
    let s = stage(dir, build::recipe, arch, &opts, "STAND-INS (stand-in archives and glibc)");
    check_staged(dir, &s, arch);
}

talos_ext_build::fabricmanager_recipe_tests!(build::recipe, zlib_ng::recipe, "595.91.07", "2025.10.11");

#[test]
#[ignore = "tier full: the production branch stages like the LTS one, whose amd64 test is in the default tier"]
fn tier_full_amd64_staged_from_stand_ins_with_a_stand_in_glibc() {
    check(Arch::Amd64);
}

#[test]
#[ignore = "tier full: arm64 stand-ins, the wrapper under qemu"]
fn tier_full_arm64_staged_from_stand_ins_with_a_stand_in_glibc() {
    check(Arch::Arm64);
}
