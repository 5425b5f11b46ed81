//! Recipe for `stargz-snapshotter`: containerd's stargz snapshotter (lazy pulls of eStargz
//! images) as a containerd proxy snapshotter, built as upstream's `make containerd-stargz-grpc`
//! and `make ctr-remote` build it: `go build` in the pinned release tarball's `cmd/` module (its
//! `replace` lines point at the tree's own root, estargz and ipfs modules), the dependencies its
//! `go.sum` pins from the Go module proxy, without cgo.
//!
//! - `containerd-stargz-grpc` runs as an extension service (`stargz-snapshotter.yaml`) from its
//!   container root, serving containerd on
//!   `/var/run/containerd-stargz-grpc/containerd-stargz-grpc.sock`;
//! - `ctr-remote` (the CLI that converts images to eStargz and pulls lazily) sits next to it, as
//!   upstream installs it;
//! - the CRI part `10-stargz-snapshotter.part` makes `stargz` CRI's snapshotter and declares it as
//!   a proxy plugin.

use talos_ext_build::prelude::*;

/// The service's container root (Talos runs `stargz-snapshotter.yaml` with this as `/`).
pub const CONTAINER: &str = "usr/local/lib/containers/stargz-snapshotter";

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    for (name, program) in s.go_build()? {
        s.install(&program, &format!("{CONTAINER}/{name}"), 0o755)?;
    }
    s.install(&s.input("files/stargz-snapshotter.yaml")?, "usr/local/etc/containers/stargz-snapshotter.yaml", 0o644)?;
    s.install_cri_part("10-stargz-snapshotter.part")?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
