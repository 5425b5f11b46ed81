//! Recipe for `mellanox-mstflint`: mstflint's `mstflint_access` kernel module (the PCI
//! configuration-space access that mstflint's firmware tools use on NVIDIA/Mellanox NICs), built
//! out of tree from its release tarball against the extension's kernel toolchain, stripped,
//! signed and installed under `extras/`, as pkgs does. Its Makefile is a kbuild file (`obj-m`);
//! its own wrapper targets (`make KSRC=...`) are not needed.

use talos_ext_build::prelude::*;

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    s.kbuild_modules("mstflint").pinned_source("kernel-mstflint").expect_modules(["mstflint_access.ko"]).run()?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
