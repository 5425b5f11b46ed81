//! `intel-npu`: the Intel NPU (VPU) accelerator driver and its firmware from `intel/vpu/`.
//!
//! A `mixed` recipe of in-tree modules and their firmware: both lists are in `Cargo.toml`, and
//! the default recipe (`build.rs`) takes the modules from the kernel toolchain's signed module
//! tree and the firmware from the pinned linux-firmware release. The tests stage it with the
//! Debian toolchain's signed modules and Debian's `firmware-intel-misc`, unpacked into linux-firmware's layout.
