//! Recipe for `nonfree-kmod-nvidia-production`: NVIDIA's proprietary GPU kernel modules of the
//! production driver branch (595.91.07), as siderolabs/pkgs builds them: `kernel/` of NVIDIA's driver
//! archive for the arch (nvidia, nvidia-uvm, nvidia-modeset, nvidia-drm, nvidia-peermem) and
//! GPUDirect Storage's `nvidia-fs.ko`, all into `extras/`, each stripped and signed with the
//! kernel toolchain's key, and `/usr/local/lib/modprobe.d/nvidia.conf`. The steps are
//! `talos_ext_build::nvidia`, shared with the open modules' recipes; only the pins in
//! `Cargo.toml` differ between the branches.

use talos_ext_build::prelude::*;

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    talos_ext_build::nvidia::proprietary_kernel_modules(s)
}

fn main() {
    talos_ext_build::build_script(recipe)
}
