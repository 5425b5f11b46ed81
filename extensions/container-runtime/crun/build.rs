//! Recipe for `crun`: upstream's static release binary for the arch (a whole-file download, the
//! `[[payloads]]` of Cargo.toml) at `/usr/local/bin/crun`, and the containerd CRI part
//! `files/10-crun.part` at `/etc/cri/conf.d/10-crun.part`, which declares the `crun` runtime
//! (`runtime_type = "io.containerd.runc.v2"` with `BinaryName = "/usr/local/bin/crun"`: containerd's
//! runc shim driving crun), as upstream's extension does.

use talos_ext_build::prelude::*;

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    s.install_payloads()?;
    s.install_cri_part("10-crun.part")?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
