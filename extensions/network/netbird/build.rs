//! Recipe for `netbird`: NetBird's WireGuard mesh client, the `client` package of the upstream
//! module `github.com/netbirdio/netbird` built with the pinned Go toolchain as upstream's
//! goreleaser builds it (`CGO_ENABLED=0`, tag `load_wgnt_from_rsrc`, `version.version` stamped),
//! installed as `netbird`. It runs as an extension service (`netbird up --foreground-mode`), with
//! its setup key from the environment an `ExtensionServiceConfig` named `netbird` provides and its
//! state in the host's `/var/lib/netbird`.

use talos_ext_build::prelude::*;

/// The service's container root (Talos runs `netbird.yaml` with this as `/`).
pub const CONTAINER: &str = "usr/local/lib/containers/netbird";

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    for (name, program) in s.go_build()? {
        // The package is `client`; upstream names the program `netbird`.
        let name = if name == "client" { "netbird" } else { name.as_str() };
        s.install(&program, &format!("{CONTAINER}/usr/local/bin/{name}"), 0o755)?;
    }
    s.install(&s.input("files/netbird.yaml")?, "usr/local/etc/containers/netbird.yaml", 0o644)?;
    // Mount points of the state and socket directories.
    for dir in ["var/lib/netbird", "var/run/netbird"] {
        s.mkdir(&format!("{CONTAINER}/{dir}"))?;
    }
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
