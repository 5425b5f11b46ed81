//! `nvidia-open-gpu-kernel-modules-lts` (LTS, pinned 580.178.04): the metadata, the whole recipe failing fast offline
//! naming its pins (the driver archive, then gdrcopy), and the real build of the NVIDIA modules for
//! both arches against Debian's 6.12 kernel from NVIDIA's open-gpu-kernel-modules 550.163.01
//! (Debian's `nvidia-open-kernel-source` 550.163.01-2; a nearby release, listed in
//! `extensions/test-overrides.toml`), with gdrdrv.ko and nvidia-fs.ko LEFT OUT (no usable source
//! offline; see `common`). The real builds are heavy (NVIDIA's kernel-open links a 200 MB core per
//! arch), hence tier full.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

mod common;

use common::OPEN;
use talos_ext_build::nvidia::DRIVER_SOURCE;
use talos_ext_build::testing::debian_deb;
use talos_ext_build::{Arch, SourceOverride};

const VERSION: &str = "580.178.04";

/// The NVIDIA modules for `arch` from Debian's 550.163.01 in place of the driver archive.
fn real_build(arch: Arch) {
    let driver = SourceOverride {
        extension: "nvidia-open-gpu-kernel-modules-lts".into(),
        source: Some(DRIVER_SOURCE.into()),
        path: OPEN.stand_in(arch, || debian_deb(&OPEN.debian_spec(arch))),
    };
    common::check_real_build(&OPEN, env!("CARGO_MANIFEST_DIR"), VERSION, arch, driver);
}

#[test]
fn metadata_pins_a_driver_archive_per_arch_with_gdrcopy_and_gds_nvidia_fs() {
    common::check_metadata(&OPEN, env!("CARGO_MANIFEST_DIR"), VERSION);
}

#[test]
fn offline_the_recipe_fails_before_any_work_naming_the_driver_archive() {
    common::check_fails_naming_the_driver_archive(env!("CARGO_MANIFEST_DIR"), build::recipe);
}

#[test]
fn offline_with_a_stand_in_driver_the_recipe_fails_naming_gdrcopy_before_building() {
    common::check_needs_the_other_pins_before_building(&OPEN, env!("CARGO_MANIFEST_DIR"), build::recipe);
}

#[test]
#[ignore = "tier full: NVIDIA's kernel-open 550.163.01 (Debian's) for amd64 against Debian 6.12, without gdrdrv and nvidia-fs (about 10 min on 2 loaded cores)"]
fn tier_full_amd64_nvidia_modules_from_debian_550_163_01() {
    real_build(Arch::Amd64);
}

#[test]
#[ignore = "tier full: NVIDIA's kernel-open 550.163.01 (Debian's) for arm64 (cross) against Debian 6.12, without gdrdrv and nvidia-fs (about 10 min on 2 loaded cores)"]
fn tier_full_arm64_nvidia_modules_from_debian_550_163_01() {
    real_build(Arch::Arm64);
}
