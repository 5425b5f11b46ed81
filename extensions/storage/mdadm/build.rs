//! Recipe for `mdadm`: upstream deprecated this extension into a placeholder whose image holds
//! only an empty `/usr/local/sbin` directory (and its `manifest.yaml`); this reproduces exactly
//! that. No sources, no SBOM (`kind = "noop"` ships no software).

use talos_ext_build::prelude::*;

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    s.mkdir("usr/local/sbin")?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
