//! Kata's `kata-static` release tarball as a GENERATED STAND-IN, for the tests of both Kata
//! recipes (`kata-containers`, `kata-containers-snp`), which take pieces of the same release:
//! the real tarballs are on GitHub, which is not reachable here, and no package archive carries
//! them. The stand-in is a `.tar.zst` in the release's layout (`./opt/kata/...`):
//!
//! - `cloud-hypervisor`, `qemu-system-<arch>` and `virtiofsd`: small static musl programs built
//!   for a given arch ([`super::stand_in_program`]: they print `stand-in <name>, not the vendor
//!   bytes`);
//! - the guest kernel and image as versioned text files behind the release's links
//!   (`vmlinux.container`, `kata-containers.img`), QEMU's data directory with files the
//!   `kata-containers` recipe keeps and files it must drop ([`QEMU_DATA`]), AAVMF on arm64, and a
//!   short default `configuration-qemu.toml` naming `/opt/kata` paths ([`QEMU_DEFAULTS`]);
//! - on amd64 the confidential-computing pieces: `share/ovmf/AMDSEV.fd`, the confidential guest
//!   kernel and dm-verity image behind `vmlinuz.container` and
//!   `kata-containers-confidential.img`, and short default `configuration-qemu-snp.toml` and
//!   `configuration-qemu-coco-dev.toml` ([`SNP_DEFAULTS`], [`COCO_DEV_DEFAULTS`]).
//!
//! [`super::stand_in_options`] serves such files through an offline directory mirror under the
//! test's own pins ([`super::Repin`], which `extensions/test-overrides.toml` must list).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use talos_ext_model::Arch;

use super::{TEST_EPOCH, stand_in_program};

/// The release the stand-in stands in for.
pub const VERSION: &str = "3.32.0";

/// The standard guest kernel's versioned name (what `vmlinux.container` links to).
pub const GUEST_KERNEL: &str = "vmlinux-6.12.47-173";
/// The standard guest image's versioned name (what `kata-containers.img` links to).
pub const GUEST_IMAGE: &str = "kata-ubuntu-noble.image";
/// The confidential guest kernel's versioned name (what `vmlinuz.container` links to).
pub const CONFIDENTIAL_KERNEL: &str = "vmlinuz-6.16.7-173-confidential";
/// The confidential guest image's versioned name (what `kata-containers-confidential.img` links to).
pub const CONFIDENTIAL_IMAGE: &str = "kata-ubuntu-noble-confidential.image";

/// QEMU's data files in the stand-in: (name, kept by the `kata-containers` recipe).
pub const QEMU_DATA: &[(&str, bool)] = &[
    ("bios-256k.bin", true),
    ("efi-virtio.rom", true),
    ("kvmvapic.bin", true),
    ("edk2-x86_64-code.fd", false),
    ("edk2-aarch64-code.fd", false),
    ("firmware/60-edk2-x86_64.json", false),
    ("hppa-firmware.img", false),
    ("s390-ccw.img", false),
    ("slof.bin", false),
    ("vof.bin", false),
    ("npcm7xx_bootrom.bin", false),
    ("qemu-nsis.bmp", false),
    ("pnv-pnor.bin", false),
    ("qemu_vga.ndrv", false),
    ("keymaps/en-us", true),
];

/// The release's default QEMU configuration, shortened (`@QEMU@` is QEMU's program name).
pub const QEMU_DEFAULTS: &str = "[hypervisor.qemu]\n\
path = \"/opt/kata/bin/@QEMU@\"\n\
kernel = \"/opt/kata/share/kata-containers/vmlinux.container\"\n\
image = \"/opt/kata/share/kata-containers/kata-containers.img\"\n\
firmware_volume = \"/opt/kata/share/aavmf/AAVMF_VARS.fd\"\n\
valid_hypervisor_paths = [\"/opt/kata/bin/@QEMU@\"]\n\
virtio_fs_daemon = \"/opt/kata/libexec/virtiofsd\"\n\
valid_virtio_fs_daemon_paths = [\"/opt/kata/libexec/virtiofsd\"]\n\
\n[agent.kata]\ndial_timeout = 45\n\n[runtime]\ninternetworking_model = \"tcfilter\"\n";

/// The dm-verity parameters of the stand-in's confidential image (made up).
pub const VERITY_PARAMS: &str =
    "root_hash=5e1c0ffee0ddba11,salt=feedface,data_blocks=262144,data_block_size=4096,hash_block_size=4096";

/// The release's default SEV-SNP configuration, shortened: the keys the SNP recipe rewrites or
/// checks, and some it keeps as they are (`@VERITY@` is [`VERITY_PARAMS`]).
pub const SNP_DEFAULTS: &str = "[hypervisor.qemu]\n\
path = \"/opt/kata/bin/qemu-system-x86_64\"\n\
kernel = \"/opt/kata/share/kata-containers/vmlinuz.container\"\n\
image = \"/opt/kata/share/kata-containers/kata-containers-confidential.img\"\n\
machine_type = \"q35\"\n\
confidential_guest = true\n\
sev_snp_guest = true\n\
firmware = \"/opt/kata/share/ovmf/AMDSEV.fd\"\n\
kernel_verity_params = \"@VERITY@\"\n\
valid_hypervisor_paths = [\"/opt/kata/bin/qemu-system-x86_64\"]\n\
virtio_fs_daemon = \"/opt/kata/libexec/virtiofsd\"\n\
valid_virtio_fs_daemon_paths = [\"/opt/kata/libexec/virtiofsd\"]\n\
default_memory = 2048\n\
\n[agent.kata]\ndial_timeout = 90\n\n[runtime]\ninternetworking_model = \"tcfilter\"\n\
create_container_timeout = 60\n\
experimental_force_guest_pull = false\n";

/// The release's default confidential configuration without a TEE (`coco-dev`), shortened.
pub const COCO_DEV_DEFAULTS: &str = "[hypervisor.qemu]\n\
path = \"/opt/kata/bin/qemu-system-x86_64\"\n\
kernel = \"/opt/kata/share/kata-containers/vmlinuz.container\"\n\
image = \"/opt/kata/share/kata-containers/kata-containers-confidential.img\"\n\
machine_type = \"q35\"\n\
confidential_guest = false\n\
firmware = \"\"\n\
kernel_verity_params = \"@VERITY@\"\n\
valid_hypervisor_paths = [\"/opt/kata/bin/qemu-system-x86_64\"]\n\
virtio_fs_daemon = \"/opt/kata/libexec/virtiofsd\"\n\
valid_virtio_fs_daemon_paths = [\"/opt/kata/libexec/virtiofsd\"]\n\
\n[agent.kata]\ndial_timeout = 90\n\n[runtime]\ninternetworking_model = \"tcfilter\"\n\
create_container_timeout = 60\n\
experimental_force_guest_pull = false\n";

/// One tar member: contents and mode, a link target, or a directory.
enum Member {
    File(Vec<u8>, u32),
    Link(&'static str),
    Dir,
}

fn text(s: &str) -> Member {
    Member::File(s.as_bytes().to_vec(), 0o644)
}

/// Writes the stand-in `kata-static-<VERSION>-<arch>.tar.zst` for `arch`, its programs built
/// for `program_arch` (the other arch, to test the machine checks), into `dir`; returns its path.
pub fn stand_in_kata_static(arch: Arch, program_arch: Arch, dir: &Path) -> Result<PathBuf> {
    let programs = dir.join(format!("programs-{program_arch}"));
    let qemu = crate::kata::qemu_program(arch);
    let mut members: Vec<(String, Member)> = vec![("./".into(), Member::Dir)];
    for (rel, name) in [("bin", "cloud-hypervisor"), ("bin", qemu), ("libexec", "virtiofsd")] {
        let program = stand_in_program(program_arch, &programs, name)?;
        let bytes = std::fs::read(&program).with_context(|| format!("reading {}", program.display()))?;
        members.push((format!("./opt/kata/{rel}/{name}"), Member::File(bytes, 0o755)));
    }
    let share = "./opt/kata/share/kata-containers";
    members.push((format!("{share}/{GUEST_KERNEL}"), text("stand-in guest kernel\n")));
    members.push((format!("{share}/vmlinux.container"), Member::Link(GUEST_KERNEL)));
    members.push((format!("{share}/{GUEST_IMAGE}"), text("stand-in guest image\n")));
    members.push((format!("{share}/kata-containers.img"), Member::Link(GUEST_IMAGE)));
    for (name, _) in QEMU_DATA {
        members
            .push((format!("./opt/kata/share/kata-qemu/qemu/{name}"), text(&format!("stand-in QEMU data {name}\n"))));
    }
    if arch == Arch::Arm64 {
        for name in ["AAVMF_CODE.fd", "AAVMF_VARS.fd"] {
            members.push((format!("./opt/kata/share/aavmf/{name}"), text(&format!("stand-in {name}\n"))));
        }
    }
    let defaults = format!("./opt/kata/{}", crate::kata::DEFAULTS);
    members.push((format!("{defaults}/configuration-qemu.toml"), text(&QEMU_DEFAULTS.replace("@QEMU@", qemu))));
    if arch == Arch::Amd64 {
        members.push(("./opt/kata/share/ovmf/AMDSEV.fd".into(), text("stand-in AMDSEV.fd\n")));
        members.push((format!("{share}/{CONFIDENTIAL_KERNEL}"), text("stand-in confidential guest kernel\n")));
        members.push((format!("{share}/vmlinuz.container"), Member::Link(CONFIDENTIAL_KERNEL)));
        members.push((format!("{share}/{CONFIDENTIAL_IMAGE}"), text("stand-in confidential guest image\n")));
        members.push((format!("{share}/kata-containers-confidential.img"), Member::Link(CONFIDENTIAL_IMAGE)));
        for (name, body) in
            [("configuration-qemu-snp.toml", SNP_DEFAULTS), ("configuration-qemu-coco-dev.toml", COCO_DEV_DEFAULTS)]
        {
            members.push((format!("{defaults}/{name}"), text(&body.replace("@VERITY@", VERITY_PARAMS))));
        }
    }

    let file = dir.join(format!("kata-static-{VERSION}-{arch}.tar.zst"));
    let out = std::fs::File::create(&file).with_context(|| format!("creating {}", file.display()))?;
    let zst = zstd::Encoder::new(out, 3).context("starting zstd")?;
    let mut tar = tar::Builder::new(zst);
    for (path, member) in members {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(TEST_EPOCH);
        match member {
            Member::File(bytes, m) => {
                header.set_size(bytes.len() as u64);
                header.set_mode(m);
                header.set_entry_type(tar::EntryType::Regular);
                tar.append_data(&mut header, &path, bytes.as_slice())
            }
            Member::Link(target) => {
                header.set_size(0);
                header.set_mode(0o777);
                header.set_entry_type(tar::EntryType::Symlink);
                tar.append_link(&mut header, &path, target)
            }
            Member::Dir => {
                header.set_size(0);
                header.set_mode(0o755);
                header.set_entry_type(tar::EntryType::Directory);
                tar.append_data(&mut header, &path, std::io::empty())
            }
        }
        .with_context(|| format!("writing {path} into {}", file.display()))?;
    }
    tar.into_inner()
        .and_then(|z| z.finish())
        .and_then(|mut f| std::io::Write::flush(&mut f))
        .with_context(|| format!("writing {}", file.display()))?;
    Ok(file)
}
