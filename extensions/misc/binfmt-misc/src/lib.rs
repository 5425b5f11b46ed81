//! `binfmt-misc`: the `binfmt_misc` module (run foreign binaries through registered
//! interpreters, e.g. qemu-user) as a Talos extension.
//!
//! The default recipe (`build.rs`) selects `binfmt_misc.ko` from the kernel toolchain's signed
//! module tree; the list is in `Cargo.toml`.
