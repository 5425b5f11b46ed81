//! Recipe for `kata-containers-snp`: what AMD SEV-SNP guests need on top of the
//! `kata-containers` extension, as upstream's extension ships it (facts from
//! siderolabs/extensions 99ddb4f4acfc, container-runtime/kata-containers-snp/pkg.yaml; our own
//! code and CRI part), all from Kata's `kata-static` release tarball for amd64 (unpacked by
//! `Stage::source`, `opt/` stripped; `talos_ext_build::kata`, shared with `kata-containers`):
//!
//! - `share/ovmf/AMDSEV.fd`, the OVMF build with SEV-SNP support, into `/usr/local/share/ovmf`;
//! - the confidential guest kernel `vmlinuz.container` and dm-verity guest image
//!   `kata-containers-confidential.img` (links in the release to its versioned files, installed
//!   as the files they name) into `/usr/local/share/kata-containers`;
//! - `configuration-qemu-snp.toml` and `configuration-qemu-coco-dev.toml`, derived from the
//!   release's defaults exactly as upstream does: `/opt/kata` paths moved to `/usr/local`,
//!   `experimental_force_guest_pull = true` (images are pulled inside the guest: Talos runs no
//!   nydus snapshotter) and `create_container_timeout = 1200` (guest pulls of large images);
//!   everything else, the dm-verity parameters included, is the release's. The result is checked
//!   as upstream's test step checks it ([`check_configuration`]), so a changed release fails the
//!   build instead of shipping a configuration that misses an edit;
//! - `11-kata-containers-snp.part`, declaring the `kata-qemu-snp` and `kata-qemu-coco-dev`
//!   handlers with Kata's shim, each naming its configuration.
//!
//! The extension declares only amd64, as upstream's does (Kata's SEV-SNP support is x86 only).

use talos_ext_build::kata::{SHARE, derive_default, release_tree};
use talos_ext_build::prelude::*;

/// The CRI part.
pub const CRI_PART: &str = "11-kata-containers-snp.part";

/// The handlers' configurations: (file, the `firmware` line it must end up with).
pub const CONFIGURATIONS: &[(&str, &str)] = &[
    ("configuration-qemu-snp.toml", "firmware = \"/usr/local/share/ovmf/AMDSEV.fd\""),
    ("configuration-qemu-coco-dev.toml", "firmware = \"\""),
];

/// What upstream's extension changes in the release's defaults.
pub const SETTINGS: &[(&str, &str)] =
    &[("experimental_force_guest_pull", "true"), ("create_container_timeout", "1200")];

/// The guest files taken from the release's `share/kata-containers`.
pub const GUEST_FILES: &[&str] = &["vmlinuz.container", "kata-containers-confidential.img"];

/// Where the SEV-SNP firmware goes.
pub const OVMF: &str = "usr/local/share/ovmf/AMDSEV.fd";

/// Stages the rootfs (amd64).
pub fn recipe(s: &mut Stage) -> Result<()> {
    if s.arch() != Arch::Amd64 {
        bail!("kata-containers-snp is amd64 only (Kata's SEV-SNP support is x86), not {}", s.arch());
    }
    let kata = release_tree(s)?;
    s.install(&kata.join("share/ovmf/AMDSEV.fd"), OVMF, 0o644)?;
    for name in GUEST_FILES {
        s.install(&kata.join("share/kata-containers").join(name), &format!("{SHARE}/{name}"), 0o644)?;
    }
    for (name, firmware) in CONFIGURATIONS {
        let config = derive_default(&kata, name, SETTINGS)?;
        check_configuration(&config, firmware).with_context(|| format!("the {name} derived from the release"))?;
        s.install_bytes(&format!("{SHARE}/{name}"), config.as_bytes(), 0o644)?;
    }
    s.install_cri_part(CRI_PART)?;
    Ok(())
}

/// Upstream's checks of a derived configuration, as lines: QEMU at the kata-containers
/// extension's path (also as the only valid one), both settings, the release's dm-verity root
/// hash, the expected `firmware` line, and no `/opt/kata` left. Every failed check is named.
pub fn check_configuration(config: &str, firmware: &str) -> Result<()> {
    let lines: Vec<&str> = config.lines().collect();
    let mut missing: Vec<String> = [
        "path = \"/usr/local/bin/qemu-system-x86_64\"",
        "valid_hypervisor_paths = [\"/usr/local/bin/qemu-system-x86_64\"]",
        "experimental_force_guest_pull = true",
        "create_container_timeout = 1200",
        firmware,
    ]
    .iter()
    .filter(|want| !lines.contains(want))
    .map(|want| format!("no line `{want}`"))
    .collect();
    if !lines.iter().any(|l| l.starts_with("kernel_verity_params = \"root_hash=")) {
        missing.push("no `kernel_verity_params = \"root_hash=...` line".into());
    }
    if config.contains("/opt/kata") {
        missing.push("an /opt/kata path is left".into());
    }
    if !missing.is_empty() {
        bail!("{}", missing.join("; "));
    }
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
