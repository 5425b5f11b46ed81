//! Recipe for `youki`: the program `youki` out of upstream's static musl release archive for the
//! arch (the `[[payloads]]` of Cargo.toml) at `/usr/local/bin/youki`, and the CRI part
//! `files/10-youki.part` at `/etc/cri/conf.d/10-youki.part`, which declares the `youki` runtime
//! (`runtime_type = "io.containerd.runc.v2"` with `BinaryName = "/usr/local/bin/youki"`:
//! containerd's runc shim driving youki, which takes runc's command line), as upstream's
//! extension does.

use talos_ext_build::prelude::*;

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    s.install_payloads()?;
    s.install_cri_part("10-youki.part")?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
