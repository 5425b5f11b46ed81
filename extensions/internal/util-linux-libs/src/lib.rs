//! `util-linux-libs`: an internal library stage (never published). Its `build.rs` builds
//! util-linux 2.42.2's `libmount.a`, `libblkid.a` and `libuuid.a` (headers and pkg-config files included) into
//! a per-arch sysroot that dependents (iscsi-tools) merge with
//! `Stage::use_library("util-linux-libs")`.
