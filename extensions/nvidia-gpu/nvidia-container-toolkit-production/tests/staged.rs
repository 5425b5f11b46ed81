//! `nvidia-container-toolkit-production`: the metadata and wrapper module, the offline
//! fail-fast, and (tier full; the LTS crate's default tier builds the same toolkit) the whole
//! extension staged per arch: NVIDIA's container toolkit built from the EXACT PIN
//! (github.com/NVIDIA/nvidia-container-toolkit v1.19.1 through the Go module proxy, cgo against
//! glibc), the driver userspace from a generated STAND-IN of NVIDIA's driver archive (not the
//! vendor bytes: they are not reachable offline; served through a mirror under the test's own
//! pin, listed in `extensions/test-overrides.toml`), the `glibc` layer a STAND-IN
//! (`testing::glibc_layer_stand_in`: this machine's glibc 2.36 in the glibc extension's layout;
//! the LTS crate's full tier layers the real glibc recipe). See
//! `talos_ext_build::testing::check_staged_nvidia_container_toolkit` for what is checked.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::Staged;
use talos_ext_build::testing::{
    check_nvidia_container_toolkit_pins, check_offline_fails_naming_a_source, check_staged_nvidia_container_toolkit,
    nvidia_container_toolkit_options, stage_with,
};

/// Stages the recipe for `arch` with the stand-in driver archive (re-pinned with
/// `testing::Repin::of_file` by `nvidia_container_toolkit_options`); the mirror directory is
/// returned with the tree.
fn stage(arch: Arch) -> (impl Sized, Staged) {
    let dir = env!("CARGO_MANIFEST_DIR");
    let (mirror, opts) = nvidia_container_toolkit_options(dir, arch).unwrap_or_else(|e| panic!("{e:#}"));
    let started = std::time::Instant::now();
    let s = stage_with(dir, build::recipe, arch, &opts).unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    eprintln!("{arch}: staged (toolkit v1.19.1 built, stand-in driver) in {:.0?}", started.elapsed());
    (mirror, s)
}

fn check(arch: Arch) {
    let (_mirror, s) = stage(arch);
    check_staged_nvidia_container_toolkit(env!("CARGO_MANIFEST_DIR"), &s, arch);
}

#[test]
fn metadata_pins_the_toolkit_and_the_driver_archives() {
    check_nvidia_container_toolkit_pins(env!("CARGO_MANIFEST_DIR"), "595.91.07");
}

#[test]
fn offline_without_the_driver_archive_fails_naming_it() {
    check_offline_fails_naming_a_source(env!("CARGO_MANIFEST_DIR"), build::recipe);
}

#[test]
#[ignore = "tier full: the toolkit's seven cgo programs for amd64 (the LTS crate's default tier builds them too)"]
fn tier_full_amd64_toolkit_from_the_exact_pin_with_a_stand_in_driver() {
    check(Arch::Amd64);
}

#[test]
#[ignore = "tier full: the toolkit's seven cgo programs for arm64, run under qemu"]
fn tier_full_arm64_toolkit_from_the_exact_pin_with_a_stand_in_driver_under_qemu() {
    check(Arch::Arm64);
}
