//! `tailscale`: the Tailscale WireGuard VPN daemon for Talos, run as the `tailscale` extension
//! service.
//!
//! The recipe is in `build.rs`: `tailscaled`, `tailscale` and `containerboot` built from the Go
//! module `tailscale.com` (exact pin v1.102.2) with the pinned Go toolchain; `go/` is the
//! wrapper module, `files/tailscale.yaml` the service spec. `cargo test -p tailscale` builds
//! both arches from the module proxy (or the cache) and runs the programs.
