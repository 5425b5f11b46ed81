//! Recipe for `newt`: Fossorial's tunnel client for Pangolin, the upstream module
//! `github.com/fosrl/newt` built with the pinned Go toolchain as upstream's Makefile builds it
//! (`CGO_ENABLED=0`, `main.newtVersion` and `main.newtPlatform` stamped). It runs as an extension
//! service from its container root, configured through the environment an
//! `ExtensionServiceConfig` named `newt` provides; its state lives on the host in `/var/lib/newt`.

use talos_ext_build::prelude::*;

/// The service's container root (Talos runs `newt.yaml` with this as `/`).
pub const CONTAINER: &str = "usr/local/lib/containers/newt";

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    for (name, program) in s.go_build()? {
        s.install(&program, &format!("{CONTAINER}/usr/local/bin/{name}"), 0o755)?;
    }
    s.install(&s.input("files/newt.yaml")?, "usr/local/etc/containers/newt.yaml", 0o644)?;
    // Mount point of the state directory.
    s.mkdir(&format!("{CONTAINER}/var/lib/newt"))?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
