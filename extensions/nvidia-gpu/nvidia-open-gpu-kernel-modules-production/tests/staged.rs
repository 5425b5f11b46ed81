//! `nvidia-open-gpu-kernel-modules-production` (production, pinned 595.91.07): the metadata, the
//! whole recipe failing fast offline naming its pins (the driver archive, then gdrcopy), and the
//! real build of the NVIDIA modules for both arches against Debian's 6.12 kernel from NVIDIA's
//! open-gpu-kernel-modules 550.163.01 (Debian's `nvidia-open-kernel-source` 550.163.01-2; a nearby
//! release, listed in `extensions/test-overrides.toml`), with gdrdrv.ko and nvidia-fs.ko LEFT OUT
//! (no usable source offline; see `talos_ext_build::testing::nvidia`). The real builds are heavy
//! (NVIDIA's kernel-open links a 200 MB core per arch), hence tier full.
//!
//! The tests are `talos_ext_build::testing::nvidia`'s, shared by the four NVIDIA module crates.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

talos_ext_build::nvidia_kernel_module_tests!(OPEN, build::recipe, "595.91.07");
