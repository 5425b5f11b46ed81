//! `libevent`: an internal library stage (never published). Its `build.rs` builds libevent
//! 2.1.13's static libraries (headers and pkg-config files included) into a per-arch sysroot
//! that dependents (lldpd) merge with `Stage::use_library("libevent")`.
