//! `nfs-utils`: a Talos extension (rpcbind and rpc.statd as extension services, for NFSv3 locking).
//!
//! The recipe is in `build.rs`; `tests/` stages it for both arches.
