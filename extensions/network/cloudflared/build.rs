//! Recipe for `cloudflared`: Cloudflare's static release binary for the arch (the `[[payloads]]`
//! of Cargo.toml) in the service's container root, and `cloudflared.yaml`, which runs
//! `cloudflared tunnel --no-autoupdate run` as an extension service once the network is up, with
//! the tunnel token from an `ExtensionServiceConfig` named `cloudflared` (`TUNNEL_TOKEN`), as
//! upstream's extension does.

use talos_ext_build::prelude::*;

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    s.install_payloads()?;
    s.install(&s.input("files/cloudflared.yaml")?, "usr/local/etc/containers/cloudflared.yaml", 0o644)?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
