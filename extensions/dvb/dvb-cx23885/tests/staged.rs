//! Stages `dvb-cx23885` for amd64 with the Debian toolchain's signed modules, `v4l-uvc-drivers`
//! layered in (staged by its own recipe, systemd's rules file its exact pin), and a STAND-IN dvb-firmware tarball under the
//! test's own pin (OpenELEC's release archive is on GitHub, not reachable offline, and no package
//! archive carries it): the firmware bytes checked are the stand-in's, not OpenELEC's.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

#[path = "../../../drivers/v4l-uvc-drivers/build.rs"]
#[allow(dead_code)]
mod v4l;

use std::path::{Path, PathBuf};

use talos_ext_build::kernel::{KernelOverrides, with_overrides};
use talos_ext_build::testing::{
    Pins, Repin, TestOptions, absent_from_debian, check_staged_in_tree_modules, debian_orig, meta, mode, stage_with,
    tar_gz_member, without_modules, write_tar_gz,
};
use talos_ext_build::{Arch, TestLibrary};

fn v4l_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../drivers/v4l-uvc-drivers")
}

/// A dvb-firmware-shaped tarball: the three files the recipe takes and one it must leave.
fn stand_in_tarball(dir: &Path) -> (PathBuf, Vec<(String, Vec<u8>)>) {
    let mut members = Vec::new();
    for name in build::FIRMWARE.iter().chain(["dvb-fe-not-taken.fw"].iter()) {
        let bytes = format!("stand-in firmware {name}\n").into_bytes();
        members.push((format!("dvb-firmware-0.0.51/firmware/{name}"), bytes, 0o644));
    }
    members.push(("dvb-firmware-0.0.51/README".to_string(), b"stand-in\n".to_vec(), 0o644));
    let file = dir.join("dvb-firmware.tar.gz");
    write_tar_gz(&file, &members).unwrap();
    let files = members.into_iter().map(|(m, b, _)| (m.rsplit('/').next().unwrap().to_string(), b)).collect();
    (file, files)
}

#[test]
fn tier_kinds_amd64_layers_v4l_and_installs_modules_and_firmware() {
    let arch = Arch::Amd64;
    let tmp = tempfile::tempdir().unwrap();
    let (tarball, files) = stand_in_tarball(tmp.path());
    let repin = Repin::of_file("dvb-firmware", arch, &tarball).unwrap();
    // The layer's own source, its exact pin: systemd's rules from Debian's systemd source.
    let rules = tmp.path().join("60-persistent-v4l.rules");
    let orig = debian_orig("systemd=257.13-1~deb13u1").unwrap_or_else(|e| panic!("{e:#}"));
    std::fs::write(&rules, tar_gz_member(&orig, "rules.d/60-persistent-v4l.rules").unwrap()).unwrap();
    let rules_pin = meta_of(&v4l_dir()).source("persistent-v4l-rules", arch).unwrap().sha256.to_string();
    let mirrored = [(tarball.as_path(), repin.sha256.to_string()), (rules.as_path(), rules_pin)];
    let list: Vec<(&Path, &str)> = mirrored.iter().map(|(f, s)| (*f, s.as_str())).collect();
    let mut opts = TestOptions::offline_mirror(&tmp.path().join("fetch"), &list).unwrap();
    opts.repins = vec![repin];
    opts.libraries =
        vec![TestLibrary { links: "v4l-uvc-drivers".into(), manifest_dir: v4l_dir(), recipe: v4l::recipe }];
    let meta = meta(env!("CARGO_MANIFEST_DIR")).unwrap();
    let absent = absent_from_debian(&meta, arch);
    opts.absent_modules = absent.clone();
    let pins = Pins::load().unwrap();
    let debian = KernelOverrides { toolchain: Some(pins.debian.name.clone()), ..Default::default() };
    let s = with_overrides(debian, || stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts))
        .unwrap_or_else(|e| panic!("{e:#}"));

    // Its own modules (those Debian's kernel has as modules), signed, for Debian's release.
    let own = check_staged_in_tree_modules(&s, &without_modules(meta.clone(), arch, &absent), arch);
    assert!(own.len() > 250, "most of the {} listed modules: {}", meta.modules_for(arch).len(), own.len());
    // The layer: every module v4l-uvc-drivers lists is in this image too.
    let v4l = meta_of(&v4l_dir());
    let release = own[0].split('/').nth(3).unwrap().to_string();
    for m in v4l.modules_for(arch) {
        assert!(s.rootfs(&format!("usr/lib/modules/{release}/{m}")).is_file(), "layered {m}");
    }
    assert!(s.rootfs("usr/local/share/spdx/v4l-uvc-drivers.spdx.json").is_file(), "the layer's SBOM comes along");
    assert!(s.rootfs(v4l::RULES).is_file(), "the layer's udev rules come along");
    // Exactly the three firmware files, with the tarball's bytes.
    let firmware: Vec<String> = s.rootfs_files().into_iter().filter(|f| f.starts_with("usr/lib/firmware/")).collect();
    let want: Vec<String> = build::FIRMWARE.iter().map(|n| format!("usr/lib/firmware/{n}")).collect();
    assert_eq!(firmware, want);
    for name in build::FIRMWARE {
        let path = s.rootfs(&format!("usr/lib/firmware/{name}"));
        let bytes = files.iter().find(|(n, _)| n == name).map(|(_, b)| b.clone()).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name}");
        assert_eq!(mode(&path), 0o644, "{name}");
    }
}

fn meta_of(dir: &Path) -> talos_ext_build::model::ExtensionMeta {
    meta(dir.to_str().unwrap()).unwrap()
}
