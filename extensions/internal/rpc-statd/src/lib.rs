//! `rpc-statd`: an internal stage (never published): nfs-utils' rpc.statd and sm-notify built
//! for the `nfs-utils` extension.
//!
//! The recipe is in `build.rs`; it installs the programs into a sysroot, under the path of their
//! service's container root, which cargo hands to dependents as `DEP_RPC_STATD_SYSROOT_<ARCH>`
//! (see `talos_ext_build::library_script`); `nfs-utils` calls `s.use_library("rpc-statd")?` and
//! copies them into its rootfs.
