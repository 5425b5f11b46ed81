//! `nonfree-kmod-nvidia-lts` (LTS, pinned 580.178.04): the metadata, the whole recipe failing fast offline
//! naming its pins (the driver archive, then gds-nvidia-fs), and the real build of NVIDIA's
//! proprietary modules for both arches against Debian's 6.12 kernel from the `kernel/` tree of
//! NVIDIA's 550.163.01 driver (Debian's non-free `nvidia-kernel-source` 550.163.01-2; a nearby
//! release, listed in `extensions/test-overrides.toml`), with nvidia-fs.ko LEFT OUT (no usable
//! source offline; see `common`). The real builds are heavy (the proprietary core is a 60 MB
//! object per arch), hence tier full.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

#[path = "../../nvidia-open-gpu-kernel-modules-lts/tests/common/mod.rs"]
mod common;

use common::PROPRIETARY;
use talos_ext_build::nvidia::DRIVER_SOURCE;
use talos_ext_build::testing::debian_deb;
use talos_ext_build::{Arch, SourceOverride};

const VERSION: &str = "580.178.04";

/// The NVIDIA modules for `arch` from Debian's 550.163.01 in place of the driver archive.
fn real_build(arch: Arch) {
    let driver = SourceOverride {
        extension: "nonfree-kmod-nvidia-lts".into(),
        source: Some(DRIVER_SOURCE.into()),
        path: PROPRIETARY.stand_in(arch, || debian_deb(&PROPRIETARY.debian_spec(arch))),
    };
    common::check_real_build(&PROPRIETARY, env!("CARGO_MANIFEST_DIR"), VERSION, arch, driver);
}

#[test]
fn metadata_pins_a_driver_archive_per_arch_and_gds_nvidia_fs() {
    common::check_metadata(&PROPRIETARY, env!("CARGO_MANIFEST_DIR"), VERSION);
}

#[test]
fn offline_the_recipe_fails_before_any_work_naming_the_driver_archive() {
    common::check_fails_naming_the_driver_archive(env!("CARGO_MANIFEST_DIR"), build::recipe);
}

#[test]
fn offline_with_a_stand_in_driver_the_recipe_fails_naming_gds_nvidia_fs_before_building() {
    common::check_needs_the_other_pins_before_building(&PROPRIETARY, env!("CARGO_MANIFEST_DIR"), build::recipe);
}

#[test]
#[ignore = "tier full: NVIDIA's proprietary kernel/ 550.163.01 (Debian's) for amd64 against Debian 6.12, without nvidia-fs (about 10 min on 2 loaded cores)"]
fn tier_full_amd64_nvidia_modules_from_debian_550_163_01() {
    real_build(Arch::Amd64);
}

#[test]
#[ignore = "tier full: NVIDIA's proprietary kernel/ 550.163.01 (Debian's) for arm64 (cross) against Debian 6.12, without nvidia-fs (about 10 min on 2 loaded cores)"]
fn tier_full_arm64_nvidia_modules_from_debian_550_163_01() {
    real_build(Arch::Arm64);
}
