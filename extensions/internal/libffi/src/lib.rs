//! `libffi`: an internal library stage (never published). Its `build.rs` builds libffi 3.8.0's
//! static library (headers and pkg-config file included) into a per-arch sysroot that glib
//! merges with `Stage::use_library("libffi")`.
