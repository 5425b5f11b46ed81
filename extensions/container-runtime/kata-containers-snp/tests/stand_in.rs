//! Stages `kata-containers-snp` (amd64) from a GENERATED STAND-IN of Kata's release tarball,
//! never the real bytes: `kata-static-3.32.0-amd64.tar.zst` is on GitHub, which is not reachable
//! here, and no package archive carries it. The stand-in (`talos_ext_build::testing::kata`, the
//! one the `kata-containers` tests use: one release, both recipes' pieces) is a `.tar.zst` in the
//! release's `./opt/kata/` layout with text files as `AMDSEV.fd` and as the confidential guest
//! kernel and image behind the release's links, and short default SEV-SNP and coco-dev
//! configurations naming `/opt/kata` paths and made-up dm-verity parameters, served through an
//! offline directory mirror under the test's own pin (`testing::Repin`, listed in
//! `extensions/test-overrides.toml`).
//!
//! Checks the exact file list and modes, that the links were installed as the files they name,
//! both derived configurations (TOML; upstream's edits landed, the release's dm-verity
//! parameters kept, the paths they name shipped here or by `kata-containers`), the CRI part (the
//! strict `cri-part` rule, both handlers and the configuration each names), the SBOM, and that
//! a release whose defaults lack an edited key fails naming it.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use std::path::Path;

use talos_ext_build::kata::{SHARE, derive_configuration};
use talos_ext_build::testing::kata::{COCO_DEV_DEFAULTS, SNP_DEFAULTS, VERITY_PARAMS, stand_in_kata_static};
use talos_ext_build::testing::{Staged, mode, stage_with, stand_in_options};
use talos_ext_build::validate::cri;
use talos_ext_build::{Arch, sbom};

/// Stages amd64 from the stand-in, offline.
fn stage_stand_in(tmp: &Path) -> anyhow::Result<Staged> {
    let tarball = stand_in_kata_static(Arch::Amd64, Arch::Amd64, tmp)?;
    let opts = stand_in_options(&tmp.join("fetch"), &[("kata-static", Arch::Amd64, &tarball)])?;
    stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, Arch::Amd64, &opts)
}

/// A TOML value at `keys` of `table`.
fn at<'a>(table: &'a toml::Table, keys: &[&str]) -> &'a toml::Value {
    let mut value = table.get(keys[0]).unwrap_or_else(|| panic!("no `{}`", keys[0]));
    for key in &keys[1..] {
        value = value.get(key).unwrap_or_else(|| panic!("no `{key}` in {keys:?}"));
    }
    value
}

#[test]
fn amd64_stand_in_release_installs_the_snp_pieces_and_configures_both_handlers() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stage_stand_in(tmp.path()).unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!("kata-containers-snp amd64: staged from a GENERATED STAND-IN kata-static tarball, not Kata's release");
    let mut expected = vec![
        format!("etc/cri/conf.d/{}", build::CRI_PART),
        build::OVMF.to_string(),
        format!("{SHARE}/configuration-qemu-coco-dev.toml"),
        format!("{SHARE}/configuration-qemu-snp.toml"),
        format!("{SHARE}/kata-containers-confidential.img"),
        format!("{SHARE}/vmlinuz.container"),
        sbom::spdx_path("kata-containers-snp"),
    ];
    expected.sort();
    assert_eq!(s.rootfs_files(), expected);

    // The firmware and the confidential guest: the files the release's links name, 0644.
    for (rel, bytes) in [
        (build::OVMF.to_string(), "stand-in AMDSEV.fd\n"),
        (format!("{SHARE}/vmlinuz.container"), "stand-in confidential guest kernel\n"),
        (format!("{SHARE}/kata-containers-confidential.img"), "stand-in confidential guest image\n"),
    ] {
        let path = s.rootfs(&rel);
        assert!(std::fs::symlink_metadata(&path).unwrap().is_file(), "{rel} is a regular file");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), bytes, "{rel}");
        assert_eq!(mode(&path), 0o644, "{rel}");
    }

    // Both configurations: upstream's edits, the release's own values otherwise.
    for (name, defaults, firmware) in [
        ("configuration-qemu-snp.toml", SNP_DEFAULTS, "/usr/local/share/ovmf/AMDSEV.fd"),
        ("configuration-qemu-coco-dev.toml", COCO_DEV_DEFAULTS, ""),
    ] {
        let path = s.rootfs(&format!("{SHARE}/{name}"));
        assert_eq!(mode(&path), 0o644);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("/opt/kata"), "{name}: {text}");
        let release = defaults.replace("@VERITY@", VERITY_PARAMS);
        assert_eq!(text, derive_configuration(&release, build::SETTINGS).unwrap(), "{name}");
        let cfg: toml::Table = text.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(at(&cfg, &["runtime", "experimental_force_guest_pull"]).as_bool(), Some(true), "{name}");
        assert_eq!(at(&cfg, &["runtime", "create_container_timeout"]).as_integer(), Some(1200), "{name}");
        assert_eq!(at(&cfg, &["hypervisor", "qemu", "kernel_verity_params"]).as_str(), Some(VERITY_PARAMS), "{name}");
        assert_eq!(at(&cfg, &["hypervisor", "qemu", "firmware"]).as_str(), Some(firmware), "{name}");
        // The guest and the firmware are this extension's; QEMU and virtiofsd kata-containers'.
        for key in ["kernel", "image"] {
            let named = at(&cfg, &["hypervisor", "qemu", key]).as_str().unwrap();
            assert!(s.rootfs(named.trim_start_matches('/')).is_file(), "{name}: {key} {named} is not shipped");
        }
        if !firmware.is_empty() {
            assert!(s.rootfs(firmware.trim_start_matches('/')).is_file(), "{name}: {firmware}");
        }
        assert_eq!(at(&cfg, &["hypervisor", "qemu", "path"]).as_str(), Some("/usr/local/bin/qemu-system-x86_64"));
        assert_eq!(
            at(&cfg, &["hypervisor", "qemu", "virtio_fs_daemon"]).as_str(),
            Some("/usr/local/libexec/virtiofsd"),
            "{name}"
        );
    }

    // The CRI part: clean under the strict rule, both handlers with Kata's shim, each naming
    // the configuration this extension ships.
    let bytes = std::fs::read(s.rootfs(&format!("etc/cri/conf.d/{}", build::CRI_PART))).unwrap();
    assert_eq!(cri::check(build::CRI_PART, &bytes), Vec::<String>::new());
    assert_eq!(
        cri::config_paths(&bytes),
        [format!("/{SHARE}/configuration-qemu-coco-dev.toml"), format!("/{SHARE}/configuration-qemu-snp.toml")],
        "config_paths lists them sorted"
    );
    let part: toml::Table = std::str::from_utf8(&bytes).unwrap().parse().unwrap();
    for handler in ["kata-qemu-snp", "kata-qemu-coco-dev"] {
        let runtime = at(&part, &["plugins", "io.containerd.cri.v1.runtime", "containerd", "runtimes", handler]);
        assert_eq!(runtime["runtime_type"].as_str(), Some("io.containerd.kata.v2"), "{handler}");
        assert_eq!(runtime["privileged_without_host_devices"].as_bool(), Some(true), "{handler}");
    }

    let packages = s.sbom_packages("kata-containers-snp").unwrap();
    assert_eq!(packages[0], ("kata-containers-snp".to_string(), "3.32.0".to_string()), "{packages:?}");
}

/// Upstream's fail-closed checks: a release whose defaults lack a key upstream edits, or whose
/// result lacks one of the checked lines, fails naming what is missing.
#[test]
fn a_release_without_an_edited_key_or_checked_line_fails_naming_it() {
    let release = SNP_DEFAULTS.replace("@VERITY@", VERITY_PARAMS);
    let without = release.replace("experimental_force_guest_pull = false\n", "");
    let e = derive_configuration(&without, build::SETTINGS).unwrap_err();
    assert!(e.to_string().contains("no `experimental_force_guest_pull` line"), "{e}");

    let derived = derive_configuration(&release, build::SETTINGS).unwrap();
    build::check_configuration(&derived, build::CONFIGURATIONS[0].1).unwrap();
    // The coco-dev configuration's firmware line is not the SNP one.
    let e = build::check_configuration(&derived, build::CONFIGURATIONS[1].1).unwrap_err();
    assert!(e.to_string().contains("no line `firmware = \"\"`"), "{e}");
    let unverified =
        derived.replace(&format!("kernel_verity_params = \"{VERITY_PARAMS}\""), "kernel_verity_params = \"\"");
    let e = build::check_configuration(&unverified, build::CONFIGURATIONS[0].1).unwrap_err();
    assert!(e.to_string().contains("kernel_verity_params"), "{e}");
}

/// amd64 only, as upstream: the metadata declares no other arch, and the recipe refuses one.
#[test]
fn only_amd64_is_declared() {
    let m = talos_ext_build::testing::meta(env!("CARGO_MANIFEST_DIR")).unwrap();
    assert_eq!(m.arches, [Arch::Amd64]);
    let source = m.sources.iter().find(|s| s.name == "kata-static").unwrap();
    assert!(source.url.ends_with("/3.32.0/kata-static-3.32.0-amd64.tar.zst"), "{}", source.url);
}
