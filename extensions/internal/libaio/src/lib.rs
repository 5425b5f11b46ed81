//! `libaio`: an internal library stage (never published). Its `build.rs` builds libaio
//! 0.3.113's static library and header into a per-arch sysroot that dependents (multipath-tools)
//! merge with `Stage::use_library("libaio")`.
