//! `rpcbind`: an internal stage (never published): rpcbind built for the `nfs-utils` extension.
//!
//! The recipe is in `build.rs`; it installs rpcbind and rpcinfo into a sysroot, under the path of
//! their service's container root, which cargo hands to dependents as `DEP_RPCBIND_SYSROOT_<ARCH>`
//! (see `talos_ext_build::library_script`); `nfs-utils` calls `s.use_library("rpcbind")?` and
//! copies them into its rootfs.
