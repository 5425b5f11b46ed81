//! `rpcsvc-proto`: an internal library stage (never published).
//!
//! The recipe is in `build.rs`; it installs rpcgen (a build-machine program) and the rpcsvc
//! protocol headers into a sysroot that cargo hands to dependents as
//! `DEP_RPCSVC_PROTO_SYSROOT_<ARCH>` (see `talos_ext_build::library_script`). A recipe that
//! needs them lists this crate under `[dependencies]`, calls `s.use_library("rpcsvc-proto")?` and
//! runs `<sysroot>/usr/bin/rpcgen`.
