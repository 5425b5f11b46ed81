//! Recipe for `spin`: the shim `containerd-shim-spin-v2` out of upstream's release archive for
//! the arch (the `[[payloads]]` of Cargo.toml) at `/usr/local/bin/`, where containerd finds the
//! shim of `runtime_type = "io.containerd.spin.v2"`, and the CRI part `files/10-spin.part` that
//! declares the `spin` runtime, as upstream's extension does.

use talos_ext_build::prelude::*;

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    s.install_payloads()?;
    s.install_cri_part("10-spin.part")?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
