//! Recipe for `wasmedge`: the shim `containerd-shim-wasmedge-v1` out of upstream's (runwasi)
//! release archive for the arch (the `[[payloads]]` of Cargo.toml) at `/usr/local/bin/`, where
//! containerd finds the shim of `runtime_type = "io.containerd.wasmedge.v1"`, and the CRI part
//! `files/10-wasm.part` that declares the `wasmedge` runtime, as upstream's extension does.

use talos_ext_build::prelude::*;

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    s.install_payloads()?;
    s.install_cri_part("10-wasm.part")?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
