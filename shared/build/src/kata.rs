//! What the Kata Containers recipes share: both take pieces of the same `kata-static` release
//! tarball (Kata's prebuilt static payload for the arch, `./opt/kata/...`) and derive their
//! runtime configurations from the release's own defaults.
//!
//! - [`release_tree`]: the unpacked tarball's `opt/kata` directory (source [`STATIC_SOURCE`],
//!   unpacked by [`Stage::source`] with `opt/` stripped), checked to be there.
//! - [`derive_configuration`]: a default configuration of the release made to fit an extension:
//!   every [`RELEASE_PREFIX`] path moved to [`NODE_PREFIX`], and the given top-level `key = value`
//!   lines set. It fails closed, as upstream's extension tests do after its `sed`: a release
//!   without `/opt/kata` paths or without one of the keys is a layout the recipe does not know.
//!
//! `kata-containers` installs the VMMs, the standard guest and the QEMU configuration;
//! `kata-containers-snp` the SEV-SNP firmware, the confidential guest and its two handlers'
//! configurations. Their tests build one stand-in of the release for both
//! (`testing::kata`).

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use talos_ext_model::Arch;

use crate::stage::Stage;

/// The pinned source that is Kata's static release tarball, in both recipes.
pub const STATIC_SOURCE: &str = "kata-static";

/// The prefix Kata's release is built for.
pub const RELEASE_PREFIX: &str = "/opt/kata";

/// Where the Kata extensions put it on the node instead.
pub const NODE_PREFIX: &str = "/usr/local";

/// Where configuration files, guest kernels and images go (relative to the rootfs).
pub const SHARE: &str = "usr/local/share/kata-containers";

/// The release's default configurations, relative to its `opt/kata` directory.
pub const DEFAULTS: &str = "share/defaults/kata-containers";

/// QEMU's program name in the release for the arch.
pub fn qemu_program(arch: Arch) -> &'static str {
    match arch {
        Arch::Amd64 => "qemu-system-x86_64",
        Arch::Arm64 => "qemu-system-aarch64",
    }
}

/// The unpacked release tarball's `opt/kata` directory.
pub fn release_tree(s: &Stage) -> Result<PathBuf> {
    let kata = s.source(STATIC_SOURCE)?.join("kata");
    if !kata.is_dir() {
        bail!("source `{STATIC_SOURCE}` has no opt/kata/ directory: not a kata-static release tarball");
    }
    Ok(kata)
}

/// The release's default configuration `name` (in [`DEFAULTS`]) of the tree `kata`, derived
/// with [`derive_configuration`]; errors name the file.
pub fn derive_default(kata: &std::path::Path, name: &str, settings: &[(&str, &str)]) -> Result<String> {
    let path = kata.join(DEFAULTS).join(name);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    derive_configuration(&text, settings).with_context(|| format!("{}", path.display()))
}

/// `release` with every [`RELEASE_PREFIX`] moved to [`NODE_PREFIX`] and, for each `(key,
/// value)` of `settings`, every line `key = ...` (at the start of a line, as Kata's files write
/// them) replaced by `key = value` (`value` is TOML: `"\"\""`, `true`, `1200`). Fails when the
/// release names no `/opt/kata` path or lacks a line for one of the keys.
pub fn derive_configuration(release: &str, settings: &[(&str, &str)]) -> Result<String> {
    if !release.contains(RELEASE_PREFIX) {
        bail!("the release's configuration names no {RELEASE_PREFIX} path: not the layout this recipe knows");
    }
    let mut found = vec![false; settings.len()];
    let mut out = String::new();
    for line in release.replace(RELEASE_PREFIX, NODE_PREFIX).lines() {
        // The key of a `key = value` line that starts the line (not indented, not a comment).
        let key = line.split_once('=').map(|(k, _)| k.trim_end());
        match settings.iter().position(|(k, _)| key == Some(*k)) {
            Some(i) => {
                found[i] = true;
                out.push_str(&format!("{} = {}", settings[i].0, settings[i].1));
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    let missing: Vec<&str> = settings.iter().zip(&found).filter(|(_, f)| !**f).map(|((k, _), _)| *k).collect();
    if !missing.is_empty() {
        bail!("the release's configuration has no `{}` line to set", missing.join("`, `"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_paths_and_settings_and_fails_closed() {
        let release = "[hypervisor.qemu]\npath = \"/opt/kata/bin/q\"\nfirmware = \"/opt/kata/share/ovmf/AMDSEV.fd\"\n\
                       firmware_volume = \"x\"\n# firmware_volume = \"comment\"\n\n[runtime]\ncreate_container_timeout = 60\n";
        let out = derive_configuration(release, &[("firmware_volume", "\"\""), ("create_container_timeout", "1200")])
            .unwrap();
        assert_eq!(
            out,
            "[hypervisor.qemu]\npath = \"/usr/local/bin/q\"\nfirmware = \"/usr/local/share/ovmf/AMDSEV.fd\"\n\
             firmware_volume = \"\"\n# firmware_volume = \"comment\"\n\n[runtime]\ncreate_container_timeout = 1200\n"
        );
        // `firmware` is not `firmware_volume`: only the exact key is set.
        let out = derive_configuration(release, &[("firmware", "\"\"")]).unwrap();
        assert!(out.contains("firmware = \"\"\nfirmware_volume = \"x\"\n"), "{out}");
        let e = derive_configuration(release, &[("experimental_force_guest_pull", "true"), ("nope", "1")]).unwrap_err();
        assert!(e.to_string().contains("no `experimental_force_guest_pull`, `nope` line to set"), "{e}");
        let e = derive_configuration("[hypervisor.qemu]\npath = \"/usr/bin/q\"\n", &[]).unwrap_err();
        assert!(e.to_string().contains("names no /opt/kata path"), "{e}");
    }
}
