//! `uinput`: the in-tree `uinput` module (user-space input devices) as a Talos extension.
//!
//! The recipe (`build.rs`) selects `kernel/drivers/input/misc/uinput.ko` from the kernel
//! toolchain's signed module tree. With the pinned Talos toolchain that tree is the `kernel` image,
//! which must be exported into the toolchain cache first (it is not reachable offline).
