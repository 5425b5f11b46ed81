//! Recipe for `tailscale`: the upstream module `tailscale.com` built with the pinned Go
//! toolchain (`go/go.mod` is the wrapper module that requires it; the `[go]` table pins packages,
//! version stamps and the module graph hash), statically (`CGO_ENABLED=0`) as upstream builds it.
//! The three programs go into the service's container root, `tailscale.yaml` runs containerboot
//! from it as upstream's extension does.
//!
//! Differences from the upstream extension, and why:
//! - no iptables in the container root (upstream copies it from its pkgs image): tailscaled
//!   drives the kernel's nftables itself (`TS_DEBUG_FIREWALL_MODE=nftables` in the spec);
//! - the version stamps are the plain release (`1.102.2`), without upstream's git suffix.

use talos_ext_build::prelude::*;

/// The service's container root (Talos runs `tailscale.yaml` with this as `/`).
const CONTAINER: &str = "usr/local/lib/containers/tailscale";

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    for (name, program) in s.go_build()? {
        s.install(&program, &format!("{CONTAINER}/usr/local/bin/{name}"), 0o755)?;
    }
    s.install(&s.input("files/tailscale.yaml")?, "usr/local/etc/containers/tailscale.yaml", 0o644)?;
    // Mount points of the state directory and the CA bundle.
    s.mkdir(&format!("{CONTAINER}/var/lib/tailscale"))?;
    s.mkdir(&format!("{CONTAINER}/etc/ssl/certs"))?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
