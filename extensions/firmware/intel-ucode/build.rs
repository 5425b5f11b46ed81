//! Recipe for `intel-ucode`: the microcode files of Intel's release (`intel-ucode/<family>-
//! <model>-<stepping>`) into `/usr/lib/firmware/intel-ucode/`, where the Talos imager collects
//! them into the early-boot `GenuineIntel.bin`; and the release's license beside them, outside
//! that directory (everything in it is concatenated into the microcode blob).

use talos_ext_build::prelude::*;

/// Where the imager looks for Intel microcode.
pub const UCODE_DIR: &str = "usr/lib/firmware/intel-ucode";
/// The release's redistribution license, next to (not inside) the microcode directory.
pub const LICENSE: &str = "usr/lib/firmware/LICENSE.intel-ucode";

/// Stages the rootfs (the same for every arch).
pub fn recipe(s: &mut Stage) -> Result<()> {
    let src = s.source("intel-ucode")?;
    let ucode = src.join("intel-ucode");
    let mut files: Vec<_> = std::fs::read_dir(&ucode)
        .with_context(|| format!("reading {}: not an Intel microcode release?", ucode.display()))?
        .collect::<std::io::Result<_>>()?;
    files.sort_by_key(|e| e.file_name());
    if files.is_empty() {
        bail!("{} holds no microcode", ucode.display());
    }
    for entry in files {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_microcode_name(&name) || !entry.file_type()?.is_file() {
            bail!("intel-ucode/{name} is not a microcode file (`<family>-<model>-<stepping>` in hex)");
        }
        s.install(&entry.path(), &format!("{UCODE_DIR}/{name}"), 0o644)?;
    }
    s.install(&src.join("license"), LICENSE, 0o644)?;
    Ok(())
}

/// `06-8f-08`: three two-digit lowercase hex fields, as Intel names its files.
fn is_microcode_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() == 3 && parts.iter().all(|p| p.len() == 2 && p.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

fn main() {
    talos_ext_build::build_script(recipe)
}
