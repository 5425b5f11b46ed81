//! Stages `dvb-m88ds3103` for amd64 with the Debian toolchain's signed modules and its layers
//! staged by their own recipes: `dvb-cx23885` (with a STAND-IN dvb-firmware tarball under the
//! test's own pin) and, under it, `v4l-uvc-drivers` (systemd's rules file its exact pin, from
//! Debian's systemd source). The M88DS3103 firmware file is a STAND-IN under the test's own pin
//! too: OpenELEC's files are on GitHub, not reachable offline, and no package archive carries
//! them, so the firmware bytes checked are the stand-ins', not OpenELEC's.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

#[path = "../../dvb-cx23885/build.rs"]
#[allow(dead_code)]
mod cx23885;

#[path = "../../../drivers/v4l-uvc-drivers/build.rs"]
#[allow(dead_code)]
mod v4l;

use std::path::{Path, PathBuf};

use talos_ext_build::kernel::{KernelOverrides, with_overrides};
use talos_ext_build::testing::{
    Pins, Repin, TestOptions, absent_from_debian, debian_orig, meta, mode, stage_with, tar_gz_member, write_tar_gz,
};
use talos_ext_build::{Arch, TestLibrary};

fn crate_dir(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[test]
fn metadata_pins_the_single_firmware_file_for_amd64_only() {
    let m = meta(env!("CARGO_MANIFEST_DIR")).unwrap();
    assert_eq!(m.arches, vec![Arch::Amd64], "upstream ships no payload for arm64");
    let pin = m.source("m88ds3103-firmware", Arch::Amd64).unwrap();
    assert!(pin.url.ends_with(&format!("/firmware/{}", build::FIRMWARE)), "{}", pin.url);
}

#[test]
fn tier_kinds_amd64_layers_dvb_cx23885_and_adds_the_firmware() {
    let arch = Arch::Amd64;
    let tmp = tempfile::tempdir().unwrap();
    // This recipe's firmware file: a stand-in.
    let fw = tmp.path().join(build::FIRMWARE);
    std::fs::write(&fw, b"stand-in dvb-demod-m88ds3103.fw, not OpenELEC's\n").unwrap();
    let fw_repin = Repin::of_file("m88ds3103-firmware", arch, &fw).unwrap();
    // dvb-cx23885's dvb-firmware tarball: a stand-in in its layout.
    let members: Vec<(String, Vec<u8>, u32)> = cx23885::FIRMWARE
        .iter()
        .map(|n| (format!("dvb-firmware-0.0.51/firmware/{n}"), format!("stand-in {n}\n").into_bytes(), 0o644))
        .collect();
    let tarball = tmp.path().join("dvb-firmware.tar.gz");
    write_tar_gz(&tarball, &members).unwrap();
    let tar_repin = Repin::of_layer("dvb-cx23885", "dvb-firmware", arch, &tarball).unwrap();
    // v4l-uvc-drivers' rules file: its exact pin, from Debian's systemd source.
    let rules = tmp.path().join("60-persistent-v4l.rules");
    let orig = debian_orig("systemd=257.13-1~deb13u1").unwrap_or_else(|e| panic!("{e:#}"));
    std::fs::write(&rules, tar_gz_member(&orig, "rules.d/60-persistent-v4l.rules").unwrap()).unwrap();
    let v4l_meta = meta(crate_dir("../../drivers/v4l-uvc-drivers").to_str().unwrap()).unwrap();
    let rules_pin = v4l_meta.source("persistent-v4l-rules", arch).unwrap().sha256.to_string();

    let mirrored = [
        (fw.as_path(), fw_repin.sha256.to_string()),
        (tarball.as_path(), tar_repin.sha256.to_string()),
        (rules.as_path(), rules_pin),
    ];
    let list: Vec<(&Path, &str)> = mirrored.iter().map(|(f, s)| (*f, s.as_str())).collect();
    let mut opts = TestOptions::offline_mirror(&tmp.path().join("fetch"), &list).unwrap();
    opts.repins = vec![fw_repin, tar_repin];
    opts.libraries = vec![
        TestLibrary { links: "dvb-cx23885".into(), manifest_dir: crate_dir("../dvb-cx23885"), recipe: cx23885::recipe },
        TestLibrary {
            links: "v4l-uvc-drivers".into(),
            manifest_dir: crate_dir("../../drivers/v4l-uvc-drivers"),
            recipe: v4l::recipe,
        },
    ];
    let cx_meta = meta(crate_dir("../dvb-cx23885").to_str().unwrap()).unwrap();
    opts.absent_modules = absent_from_debian(&cx_meta, arch);
    let pins = Pins::load().unwrap();
    let debian = KernelOverrides { toolchain: Some(pins.debian.name.clone()), ..Default::default() };
    let s = with_overrides(debian, || stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts))
        .unwrap_or_else(|e| panic!("{e:#}"));

    // Both layers: their modules, rules, firmware and SBOM documents.
    let modules: Vec<String> = s.rootfs_files().into_iter().filter(|f| f.ends_with(".ko")).collect();
    for m in cx_meta.modules_for(arch).iter().chain(v4l_meta.modules_for(arch)) {
        if opts.absent_modules.contains(m) {
            continue;
        }
        assert!(modules.iter().any(|f| f.ends_with(&format!("/{m}"))), "layered {m}");
    }
    assert!(s.rootfs(v4l::RULES).is_file(), "v4l-uvc-drivers' udev rules come along");
    for doc in ["dvb-cx23885", "v4l-uvc-drivers"] {
        assert!(s.rootfs(&format!("usr/local/share/spdx/{doc}.spdx.json")).is_file(), "{doc}'s SBOM comes along");
    }
    // Exactly the layer's three firmware files and this recipe's one, with their bytes and mode.
    let firmware: Vec<String> = s.rootfs_files().into_iter().filter(|f| f.starts_with("usr/lib/firmware/")).collect();
    let mut want: Vec<String> =
        cx23885::FIRMWARE.iter().chain([build::FIRMWARE].iter()).map(|n| format!("usr/lib/firmware/{n}")).collect();
    want.sort();
    assert_eq!(firmware, want);
    let ours = s.rootfs(&format!("usr/lib/firmware/{}", build::FIRMWARE));
    assert_eq!(std::fs::read(&ours).unwrap(), std::fs::read(&fw).unwrap());
    assert_eq!(mode(&ours), 0o644);
    for (member, bytes, _) in &members {
        let name = member.rsplit('/').next().unwrap();
        assert_eq!(&std::fs::read(s.rootfs(&format!("usr/lib/firmware/{name}"))).unwrap(), bytes, "{name}");
    }
}
