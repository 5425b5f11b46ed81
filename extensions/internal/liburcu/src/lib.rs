//! `liburcu`: an internal library stage (never published). Its `build.rs` builds userspace-rcu's
//! static libraries, headers and pkg-config files into a per-arch sysroot that dependents
//! (multipath-tools) merge with `Stage::use_library("liburcu")`.
