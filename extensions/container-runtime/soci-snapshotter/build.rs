//! Recipe for `soci-snapshotter`: AWS's SOCI snapshotter (lazy image pulls from SOCI indexes) as
//! a containerd proxy snapshotter, built from soci's Go modules as upstream's Makefile builds it
//! with `STATIC=1` (version stamps, `osusergo netgo static_build`), with cgo: its ztoc index code
//! links zlib, here the internal `zlib` stage, through the musl cross compiler, statically.
//!
//! - `soci-snapshotter-grpc` runs as an extension service (`soci-snapshotter.yaml`) from its
//!   container root, serving containerd on `/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock`
//!   with its state in `/var/lib/soci-snapshotter-grpc` (soci's defaults);
//! - `soci` (the CLI that creates and inspects SOCI indexes) is in `/usr/local/bin`;
//! - the CRI part `10-soci-snapshotter.part` declares the `soci` proxy snapshotter to containerd.

use talos_ext_build::prelude::*;

/// The service's container root (Talos runs `soci-snapshotter.yaml` with this as `/`).
pub const CONTAINER: &str = "usr/local/lib/containers/soci-snapshotter";

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    s.use_library("zlib")?;
    for (name, program) in s.go_build()? {
        let dest = match name.as_str() {
            "soci-snapshotter-grpc" => format!("{CONTAINER}/usr/local/bin/{name}"),
            _ => format!("usr/local/bin/{name}"),
        };
        s.install(&program, &dest, 0o755)?;
    }
    s.install(&s.input("files/soci-snapshotter.yaml")?, "usr/local/etc/containers/soci-snapshotter.yaml", 0o644)?;
    s.install_cri_part("10-soci-snapshotter.part")?;
    // Mount points of the state and socket directories.
    for dir in ["var/lib/soci-snapshotter-grpc", "run/soci-snapshotter-grpc"] {
        s.mkdir(&format!("{CONTAINER}/{dir}"))?;
    }
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
