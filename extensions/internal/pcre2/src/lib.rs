//! `pcre2`: an internal library stage (never published). Its `build.rs` builds PCRE2 10.48's
//! static 8-bit library (header and pkg-config file included) into a per-arch sysroot that
//! glib merges with `Stage::use_library("pcre2")`.
