//! `harbor-credential-provider`: a kubelet image credential provider that answers the kubelet's
//! requests for a Harbor registry with the pod's service account token as the password
//! (Harbor's workload identity federation), so no pull secrets are needed.
//!
//! The recipe is in `build.rs`: upstream's `cmd/credential-provider-harbor` built from the pinned
//! v0.0.1 source tarball with the workspace's pinned Go. That tarball is on GitHub, which is not
//! reachable offline, and the module proxy does not serve the module: `cargo test -p
//! harbor-credential-provider` builds a GENERATED STAND-IN source tree instead (see
//! `tests/stand_in.rs`), never upstream's code. `cargo xtask build harbor-credential-provider`
//! on a networked machine fetches the real pin.
