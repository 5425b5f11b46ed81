//! Recipe for `nvidia-fabricmanager-production`: NVIDIA's fabric manager 595.91.07 and NVLSM 2025.10.11 (the
//! production driver branch) with Debian's gcc runtime and our wrapper in the service's container root,
//! which also gets the `glibc` extension's tree (NVIDIA's programs are glibc programs) and, for amd64,
//! the `zlib-ng-nvidia` stage's `libz.so.1`. The
//! steps are `talos_ext_build::nvidia_fabricmanager`, shared with the other driver branch's
//! recipe; only the pins in `Cargo.toml` differ.

use talos_ext_build::prelude::*;

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    talos_ext_build::nvidia_fabricmanager::fabric_manager(s)
}

fn main() {
    talos_ext_build::build_script(recipe)
}
