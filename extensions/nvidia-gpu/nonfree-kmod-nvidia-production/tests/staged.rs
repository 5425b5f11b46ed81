//! `nonfree-kmod-nvidia-production` (production, pinned 595.91.07): the metadata, the whole recipe
//! failing fast offline naming its pins (the driver archive, then gds-nvidia-fs), and the real
//! build of NVIDIA's proprietary modules for both arches against Debian's 6.12 kernel from the
//! `kernel/` tree of NVIDIA's 550.163.01 driver (Debian's non-free `nvidia-kernel-source`
//! 550.163.01-2; a nearby release, listed in `extensions/test-overrides.toml`), with nvidia-fs.ko
//! LEFT OUT (no usable source offline; see `talos_ext_build::testing::nvidia`). The real builds are
//! heavy (the proprietary core is a 60 MB object per arch), hence tier full.
//!
//! The tests are `talos_ext_build::testing::nvidia`'s, shared by the four NVIDIA module crates.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

talos_ext_build::nvidia_kernel_module_tests!(PROPRIETARY, build::recipe, "595.91.07");
