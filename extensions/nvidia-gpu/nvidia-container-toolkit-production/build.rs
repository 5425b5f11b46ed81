//! Recipe for `nvidia-container-toolkit-production`: NVIDIA's container toolkit v1.19.1 built from its Go
//! module (every program of `cmd/`, cgo against glibc: they load NVIDIA's glibc libraries) and
//! the userspace of NVIDIA's production driver archive (595.91.07: libraries, utilities, GSP firmware,
//! ICD files), the `nvidia-persistenced` and `nvidia-cdi-gen` services, the `nvidia`
//! containerd runtime and the udev rule that creates the device nodes. The steps are
//! `talos_ext_build::nvidia_container_toolkit`, shared with the other driver branch's recipe;
//! only the pins in `Cargo.toml` differ.

use talos_ext_build::prelude::*;

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    talos_ext_build::nvidia_container_toolkit::container_toolkit(s)
}

fn main() {
    talos_ext_build::build_script(recipe)
}
