//! `libkmod`: an internal library stage (never published). Its `build.rs` builds kmod 34.2's
//! `libkmod.a`, `libkmod.h` and `libkmod.pc` into a per-arch sysroot that dependents (iscsi-tools)
//! merge with `Stage::use_library("libkmod")`. `patches/` makes the library static.
