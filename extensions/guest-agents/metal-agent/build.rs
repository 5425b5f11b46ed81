//! Recipe for `metal-agent`: Omni's bare-metal infrastructure provider agent, the upstream module
//! `github.com/siderolabs/talos-metal-agent` built with the pinned Go toolchain as upstream's
//! Dockerfile builds it (`CGO_ENABLED=0`, stripped). Upstream copies the binary out of its
//! container image; here it is built from the pinned module.
//!
//! The agent runs as an extension service while the node is managed by the provider (its address
//! comes from the kernel command line), driving the node through machined's socket and IPMI.
//! The empty marker `/usr/local/etc/is-metal-agent` tells Talos that this boot is an agent boot.

use talos_ext_build::prelude::*;

/// The service's container root (Talos runs `metal-agent.yaml` with this as `/`).
pub const CONTAINER: &str = "usr/local/lib/containers/metal-agent";

/// The marker file Talos looks for.
pub const MARKER: &str = "usr/local/etc/is-metal-agent";

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    for (name, program) in s.go_build()? {
        s.install(&program, &format!("{CONTAINER}/usr/local/bin/{name}"), 0o755)?;
    }
    s.install(&s.input("files/metal-agent.yaml")?, "usr/local/etc/containers/metal-agent.yaml", 0o644)?;
    s.install_bytes(MARKER, b"", 0o644)?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
