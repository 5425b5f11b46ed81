//! `nfsrahead`: a Talos extension (nfs-utils' readahead helper for NFS mounts, run by udev).
//!
//! The recipe is in `build.rs`; `tests/` stages it for both arches.
