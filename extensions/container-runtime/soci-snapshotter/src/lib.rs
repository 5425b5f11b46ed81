//! `soci-snapshotter`: AWS's SOCI snapshotter for lazy image pulls, as a containerd proxy
//! snapshotter service, built from soci's Go modules with cgo and the `zlib` stage (see
//! `build.rs`).
