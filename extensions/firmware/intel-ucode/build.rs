//! Recipe for `intel-ucode`: the microcode files of Intel's release (`intel-ucode/<family>-
//! <model>-<stepping>`) into `/usr/lib/firmware/intel-ucode/`, where the Talos imager collects
//! them into the early-boot `GenuineIntel.bin`; and the release's license beside them, outside
//! that directory (everything in it is concatenated into the microcode blob). Every file is
//! checked as Linux's loader checks it (container, checksums, name), so a corrupt or misnamed
//! file fails the build instead of being skipped at boot.

use std::path::{Path, PathBuf};

use talos_ext_build::microcode;
use talos_ext_build::prelude::*;

/// Where the imager looks for Intel microcode.
pub const UCODE_DIR: &str = "usr/lib/firmware/intel-ucode";
/// The release's redistribution license, next to (not inside) the microcode directory.
pub const LICENSE: &str = "usr/lib/firmware/LICENSE.intel-ucode";

/// Stages the rootfs (the same for every arch).
pub fn recipe(s: &mut Stage) -> Result<()> {
    let src = s.source("intel-ucode")?;
    for (name, path) in microcode_files(&src.join("intel-ucode"))? {
        install_checked_microcode(s, &name, &path)?;
    }
    s.install(&src.join("license"), LICENSE, 0o644)?;
    Ok(())
}

/// The release's microcode files (name, path), sorted; anything else in the directory, or
/// nothing, is an error.
fn microcode_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}: not an Intel microcode release?", dir.display()))?;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_microcode_name(&name) || !entry.file_type()?.is_file() {
            bail!("intel-ucode/{name} is not a microcode file (`<family>-<model>-<stepping>` in hex)");
        }
        files.push((name, entry.path()));
    }
    files.sort();
    if files.is_empty() {
        bail!("{} holds no microcode", dir.display());
    }
    Ok(files)
}

/// Checks one file with [`microcode::check`] (the error names it) and installs it, 0644.
fn install_checked_microcode(s: &Stage, name: &str, path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    microcode::check(&format!("intel-ucode/{name}"), &bytes)?;
    s.install_bytes(&format!("{UCODE_DIR}/{name}"), &bytes, 0o644)
}

/// `06-8f-08`: three two-digit lowercase hex fields, as Intel names its files.
fn is_microcode_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() == 3 && parts.iter().all(|p| p.len() == 2 && p.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

fn main() {
    talos_ext_build::build_script(recipe)
}
