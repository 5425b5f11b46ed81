//! `nvidia-container-toolkit-lts`: the metadata and wrapper module, the offline fail-fast, and
//! the whole extension staged per arch: NVIDIA's container toolkit built from the EXACT PIN
//! (github.com/NVIDIA/nvidia-container-toolkit v1.19.1 through the Go module proxy, cgo against
//! glibc), the driver userspace from a generated STAND-IN of NVIDIA's driver archive (not the
//! vendor bytes: they are not reachable offline; served through a mirror under the test's own
//! pin, listed in `extensions/test-overrides.toml`). See
//! `talos_ext_build::testing::check_staged_nvidia_container_toolkit` for what is checked. The
//! `glibc` layer is a STAND-IN (`testing::glibc_layer_stand_in`: this machine's glibc 2.36 in the
//! glibc extension's layout), except in the full-tier test that layers the real glibc recipe's
//! build of Debian's glibc 2.43 snapshot; either way the toolkit's programs run through the
//! image's own loader and libraries (arm64 under qemu).

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

#[path = "../../../misc/glibc/build.rs"]
#[allow(dead_code)]
mod glibc;

use talos_ext_build::testing::Staged;
use talos_ext_build::testing::{
    check_nvidia_container_toolkit_pins, check_offline_fails_naming_a_source, check_staged_nvidia_container_toolkit,
    glibc_debian_override, nvidia_container_toolkit_options, resolve_in_rootfs, stage_with, target_command,
};
use talos_ext_build::{Arch, TestLibrary};

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
    check_nvidia_container_toolkit_pins(env!("CARGO_MANIFEST_DIR"), "580.178.04");
}

#[test]
fn offline_without_the_driver_archive_fails_naming_it() {
    check_offline_fails_naming_a_source(env!("CARGO_MANIFEST_DIR"), build::recipe);
}

#[test]
fn tier_kinds_amd64_toolkit_from_the_exact_pin_with_a_stand_in_driver() {
    check(Arch::Amd64);
}

#[test]
#[ignore = "tier full: the toolkit's seven cgo programs for arm64, run under qemu"]
fn tier_full_arm64_toolkit_from_the_exact_pin_with_a_stand_in_driver_under_qemu() {
    check(Arch::Arm64);
}

/// The real layer: the glibc recipe builds Debian's glibc 2.43 snapshot (the override the glibc
/// crate's own tests use) and the toolkit image carries it; the toolkit's programs run through
/// that glibc, not this machine's 2.36.
#[test]
#[ignore = "tier full: builds glibc (about 5 minutes) besides the toolkit"]
fn tier_full_amd64_toolkit_layered_on_the_real_glibc_recipe() {
    let arch = Arch::Amd64;
    let dir = env!("CARGO_MANIFEST_DIR");
    let (_mirror, mut opts) = nvidia_container_toolkit_options(dir, arch).unwrap_or_else(|e| panic!("{e:#}"));
    let glibc_dir = std::path::Path::new(dir).join("../../misc/glibc");
    opts.libraries.retain(|l| l.links != "glibc");
    opts.libraries.push(TestLibrary { links: "glibc".into(), manifest_dir: glibc_dir, recipe: glibc::recipe });
    opts.overrides.push(glibc_debian_override().unwrap_or_else(|e| panic!("{e:#}")));
    let started = std::time::Instant::now();
    let s = stage_with(dir, build::recipe, arch, &opts).unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    eprintln!("{arch}: staged with the real glibc layer in {:.0?}", started.elapsed());
    check_staged_nvidia_container_toolkit(dir, &s, arch);
    let ld_so = resolve_in_rootfs(&s.dir.join("rootfs"), &glibc::loader_path(arch)).unwrap();
    let version = target_command(arch, &ld_so).arg("--version").read().unwrap();
    assert!(version.contains("release version 2.43"), "the image's loader is the glibc recipe's: {version}");
    assert!(s.rootfs("usr/local/glibc/etc/ld.so.cache").is_file(), "the real layer's ldconfig cache");
}
