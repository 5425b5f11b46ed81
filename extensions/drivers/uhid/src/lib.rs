//! `uhid`: the user-space HID driver module (`/dev/uhid`) as a Talos extension.
//!
//! The default recipe (`build.rs`) selects `uhid.ko` from the kernel toolchain's signed module
//! tree; the list is in `Cargo.toml`.
