//! `libdevmapper`: an internal library stage (never published). Its `build.rs` builds LVM2's
//! device-mapper library, static, with its header and `devmapper.pc`, into a per-arch sysroot
//! that dependents (multipath-tools) merge with `Stage::use_library("libdevmapper")`.
