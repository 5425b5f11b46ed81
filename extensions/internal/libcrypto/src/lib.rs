//! `libcrypto`: an internal library stage (never published). Its `build.rs` builds OpenSSL
//! 3.5.7's static `libcrypto.a` and `libssl.a` (headers and pkg-config files included) into a
//! per-arch sysroot that dependents (iscsi-tools, for CHAP digests) merge with
//! `Stage::use_library("libcrypto")`.
