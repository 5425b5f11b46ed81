//! `nfsd`: the in-kernel NFS server module as a Talos extension.
//!
//! The default recipe (`build.rs`) selects `nfsd.ko` from the kernel toolchain's signed module
//! tree; the list is in `Cargo.toml`. The NFS server's user-space side (nfs-utils) is not part
//! of it, as upstream's extension ships only the module.
