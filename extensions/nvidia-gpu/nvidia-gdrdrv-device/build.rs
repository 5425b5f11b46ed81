//! Recipe for `nvidia-gdrdrv-device`: our own Go program (`go/main.go`, the crate's own module)
//! that creates `/dev/gdrdrv` once NVIDIA's gdrcopy kernel module has registered its character
//! device, built with the pinned Go toolchain, statically (`CGO_ENABLED=0`), and run by Talos as
//! an extension service, as upstream's extension does (facts from siderolabs/extensions
//! c5e0d1bfb3be, nvidia-gpu/nvidia-gdrdrv-device):
//!
//! - the program is the only file of the service's container root
//!   (`/usr/local/lib/containers/nvidia-gdrdrv-device/nvidia-gdrdrv-device`);
//! - `nvidia-gdrdrv-device.yaml` (our own spec) runs it with the node's `/dev` bind-mounted
//!   (shared propagation, so the node it creates appears on the host) and restarts it until it
//!   succeeds.
//!
//! The kernel module itself (`gdrdrv.ko`) is not part of this extension: upstream ships it with
//! the NVIDIA open GPU kernel modules.

use talos_ext_build::prelude::*;

/// The service's container root (Talos runs the spec with this as `/`).
pub const CONTAINER: &str = "usr/local/lib/containers/nvidia-gdrdrv-device";

/// The service spec's name under `files/` and `/usr/local/etc/containers/`.
pub const SPEC: &str = "nvidia-gdrdrv-device.yaml";

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    for (name, program) in s.go_build()? {
        s.install(&program, &format!("{CONTAINER}/{name}"), 0o755)?;
    }
    s.install(&s.input(&format!("files/{SPEC}"))?, &format!("usr/local/etc/containers/{SPEC}"), 0o644)?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
