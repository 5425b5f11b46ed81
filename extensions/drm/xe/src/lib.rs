//! `xe`: the Intel Xe graphics driver and its GPU firmware (GuC, HuC, GSC) from `xe/`.
//!
//! A `mixed` recipe of in-tree modules and their firmware: both lists are in `Cargo.toml`, and
//! the default recipe (`build.rs`) takes the modules from the kernel toolchain's signed module
//! tree and the firmware from the pinned linux-firmware release. The tests stage it with the
//! Debian toolchain's signed modules and Debian's `firmware-intel-graphics`, unpacked into linux-firmware's layout.
