//! Recipe for `nebula`: Slack's overlay mesh network, the upstream module
//! `github.com/slackhq/nebula` built with the pinned Go toolchain as upstream's Makefile builds it
//! (`CGO_ENABLED=0`, trimmed paths, `main.Build` stamped with the release). `nebula` runs as an
//! extension service from its container root; `nebula-cert` (certificate authority and host
//! certificates) ships beside it for `talosctl`-less use inside the container.
//!
//! The node's configuration (`config.yml` with the host certificate and key) comes from an
//! `ExtensionServiceConfig` named `nebula`, mounted at `/etc/nebula/` as the spec says.

use talos_ext_build::prelude::*;

/// The service's container root (Talos runs `nebula.yaml` with this as `/`).
pub const CONTAINER: &str = "usr/local/lib/containers/nebula";

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    for (name, program) in s.go_build()? {
        s.install(&program, &format!("{CONTAINER}/usr/local/bin/{name}"), 0o755)?;
    }
    s.install(&s.input("files/nebula.yaml")?, "usr/local/etc/containers/nebula.yaml", 0o644)?;
    // Mount point of the configuration the ExtensionServiceConfig provides.
    s.mkdir(&format!("{CONTAINER}/etc/nebula"))?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
