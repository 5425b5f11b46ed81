//! `btrfs`: the Btrfs in-tree modules as a Talos extension.
//!
//! The recipe (`build.rs`) selects `btrfs.ko` and the two crypto modules it needs from the kernel
//! toolchain's signed module tree. Not done yet: the upstream extension also ships `btrfs-progs`
//! (copied from the pkgs `btrfsprogs` image, kind `mixed`); this crate ships only the modules.
