//! `nonfree-kmod-nvidia-production`: NVIDIA's proprietary GPU kernel modules (production driver branch,
//! 595.91.07), built out of tree against the extension's kernel toolchain and signed.
//!
//! The recipe is `build.rs` (the steps are `talos_ext_build::nvidia`). `tests/staged.rs` checks
//! the metadata, that the recipe fails fast naming a missing pin, and (tier full) builds the
//! NVIDIA modules for both arches from a nearby release Debian carries (see
//! `extensions/test-overrides.toml`). The modules load only on a kernel that trusts the signing
//! key: stock Talos accepts its own kernel build's key only, unless booted with
//! `module.sig_enforce=0` (which taints the kernel). NVIDIA's licence makes the kernel tainted
//! ("P") once `nvidia.ko` loads, as with every build of these modules.
