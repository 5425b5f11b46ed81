//! `i915`: the Intel i915 graphics driver and the GPU firmware it loads (GuC, HuC, DMC) from `i915/`.
//!
//! A `mixed` recipe of in-tree modules and their firmware: both lists are in `Cargo.toml`, and
//! the default recipe (`build.rs`) takes the modules from the kernel toolchain's signed module
//! tree and the firmware from the pinned linux-firmware release. The tests stage it with the
//! Debian toolchain's signed modules and Debian's `firmware-intel-graphics`, unpacked into linux-firmware's layout.
