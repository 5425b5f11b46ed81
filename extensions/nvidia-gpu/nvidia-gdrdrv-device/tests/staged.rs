//! Builds `nvidia-gdrdrv-device` for both arches from the crate's own Go module (`go/`, the
//! recipe's own source: there is no upstream source to pin, so this is the exact program the
//! recipe ships), with the pinned Go toolchain: the program is static for the arch, holds no
//! build path, reports its stamped version, and does its job against a generated
//! `/proc/devices` listing in a temporary directory (arm64 under qemu): it creates the character
//! device with the listed major number, minor 0 and mode 0666 in place of an old file, ignores a
//! block device of the same name, and gives up after `-timeout` naming the driver. The service
//! spec validates strictly (staging does that too).

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::Path;

use talos_ext_build::Arch;
use talos_ext_build::testing::{Staged, mode, own_go, stage, target_command};
use talos_ext_build::validate::service;

/// The program's path in the rootfs.
fn program_rel() -> String {
    format!("{}/nvidia-gdrdrv-device", build::CONTAINER)
}

/// The major number the generated listing gives gdrdrv: above 255, so that the device number's
/// encoding of the major's high bits is exercised.
const MAJOR: u64 = 508;

/// A `/proc/devices` listing with gdrdrv among the character devices (or only among the block
/// devices, where it must not count).
fn listing(registered: bool) -> String {
    let chr = if registered { format!("{MAJOR} gdrdrv\n") } else { String::new() };
    format!(
        "Character devices:\n  1 mem\n  4 /dev/vc/0\n195 nvidia\n{chr}510 nvidia-uvm\n\nBlock devices:\n  8 sd\n259 blkext\n{}\n",
        if registered { "" } else { "254 gdrdrv" }
    )
}

/// Linux's `MAJOR`/`MINOR` of a device number (the new encoding).
fn major_minor(rdev: u64) -> (u64, u64) {
    (((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff), (rdev & 0xff) | ((rdev >> 12) & !0xff))
}

/// Runs the staged program against generated listings in a temporary directory.
fn check_the_program_creates_the_node(arch: Arch, program: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let devices = tmp.path().join("devices");
    let dev = tmp.path().join("dev");
    std::fs::create_dir_all(&dev).unwrap();
    let node = dev.join("gdrdrv");
    // An old file in the way is replaced.
    std::fs::write(&node, "stale\n").unwrap();
    std::fs::write(&devices, listing(true)).unwrap();
    let out = target_command(arch, program)
        .arg("-devices")
        .arg(&devices)
        .arg("-node")
        .arg(&node)
        .arg("-timeout=10s")
        .output_unchecked()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{arch}: {stderr}");
    assert!(stderr.contains(&format!("created {}: character device {MAJOR}:0, mode 0666", node.display())), "{stderr}");
    let meta = std::fs::symlink_metadata(&node).unwrap();
    assert!(meta.file_type().is_char_device(), "{arch}: {} is not a character device", node.display());
    assert_eq!(major_minor(meta.rdev()), (MAJOR, 0), "{arch}: the device number");
    assert_eq!(meta.mode() & 0o7777, 0o666, "{arch}: the node's mode");

    // gdrdrv only among the block devices: not registered; the program waits, then gives up.
    let missing = dev.join("missing");
    std::fs::write(&devices, listing(false)).unwrap();
    let out = target_command(arch, program)
        .arg("-devices")
        .arg(&devices)
        .arg("-node")
        .arg(&missing)
        .args(["-timeout=300ms", "-interval=50ms"])
        .output_unchecked()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{arch}: succeeded without gdrdrv registered: {stderr}");
    assert!(stderr.contains("waiting for gdrdrv to register in"), "{stderr}");
    assert!(
        stderr
            .contains(&format!("gdrdrv is not registered as a character device in {} after 300ms", devices.display())),
        "{stderr}"
    );
    assert!(std::fs::symlink_metadata(&missing).is_err(), "{arch}: a node was made without the driver");

    // Stray arguments are refused.
    let out = target_command(arch, program).arg("now").output_unchecked().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unexpected arguments"));
}

fn build_and_check(arch: Arch) -> Staged {
    let started = std::time::Instant::now();
    let s = stage(env!("CARGO_MANIFEST_DIR"), build::recipe, arch).unwrap_or_else(|e| panic!("{arch}: {e:#}"));
    eprintln!("nvidia-gdrdrv-device {arch}: built from the crate's own go/ module in {:.0?}", started.elapsed());
    let rel = program_rel();
    let spec = format!("usr/local/etc/containers/{}", build::SPEC);
    let mut expected = vec![rel.clone(), spec.clone(), talos_ext_build::sbom::spdx_path("nvidia-gdrdrv-device")];
    expected.sort();
    assert_eq!(s.rootfs_files(), expected);
    assert_eq!(mode(&s.rootfs(&spec)), 0o644);
    let program = own_go::check_staged_program(&s, arch, "nvidia-gdrdrv-device", &rel, "nvidia-gdrdrv-device v2.5.2");
    check_the_program_creates_the_node(arch, &program);
    s
}

#[test]
fn tier_kinds_amd64_builds_and_creates_the_node() {
    build_and_check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_builds_and_creates_the_node_under_qemu() {
    build_and_check(Arch::Arm64);
}

/// The spec passes Talos' `Validate()` and the strict schema, runs the program from its
/// container root, and gives it the node's `/dev` with shared propagation.
#[test]
fn the_service_spec_validates_strictly() {
    let bytes = std::fs::read(format!("{}/files/{}", env!("CARGO_MANIFEST_DIR"), build::SPEC)).unwrap();
    let spec = service::parse(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(service::check(&spec), Vec::<String>::new());
    let doc: serde_norway::Value = serde_norway::from_slice(&bytes).unwrap();
    assert_eq!(doc["name"].as_str(), Some("nvidia-gdrdrv-device"));
    let entry = doc["container"]["entrypoint"].as_str().unwrap();
    assert_eq!(format!("{}{entry}", build::CONTAINER), program_rel(), "the entrypoint is the installed program");
    let mounts = doc["container"]["mounts"].as_sequence().unwrap();
    let dev = mounts.iter().find(|m| m["destination"].as_str() == Some("/dev")).expect("a /dev mount");
    assert_eq!(dev["source"].as_str(), Some("/dev"));
    let options: Vec<&str> = dev["options"].as_sequence().unwrap().iter().filter_map(|o| o.as_str()).collect();
    assert!(options.contains(&"rw") && options.contains(&"rshared"), "{options:?}");
    assert_eq!(doc["container"]["security"]["rootfsPropagation"].as_str(), Some("shared"));
    assert_eq!(doc["restart"].as_str(), Some("untilSuccess"));
}

/// The crate carries the Go module itself (standard library only); the version stamp is gdrcopy's.
#[test]
fn the_go_module_is_the_crates_own() {
    let ldflags = own_go::check_crates_own_module(env!("CARGO_MANIFEST_DIR"));
    assert_eq!(ldflags, ["-X=main.version=v2.5.2"]);
}
