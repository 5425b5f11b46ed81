//! Recipe for `nvidia-open-gpu-kernel-modules-lts`: NVIDIA's open GPU kernel modules of the
//! LTS driver branch (580.178.04), as siderolabs/pkgs builds them: `kernel-open/` of NVIDIA's
//! driver archive for the arch (nvidia, nvidia-uvm, nvidia-modeset, nvidia-drm, nvidia-peermem
//! into `kernel/drivers/video/`), gdrcopy's `gdrdrv.ko` and GPUDirect Storage's `nvidia-fs.ko`
//! (into `extras/`), each stripped and signed with the kernel toolchain's key, and
//! `/usr/local/lib/modprobe.d/nvidia.conf`. The steps are `talos_ext_build::nvidia`, shared with
//! the other driver branch's recipe; only the pins in `Cargo.toml` differ.

use talos_ext_build::prelude::*;

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    talos_ext_build::nvidia::open_gpu_kernel_modules(s)
}

fn main() {
    talos_ext_build::build_script(recipe)
}
