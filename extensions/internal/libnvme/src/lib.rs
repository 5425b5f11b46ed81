//! `libnvme`: an internal library stage (never published).
//!
//! The recipe is in `build.rs`; it builds libnvme (and links json-c from the `json-c` stage) as
//! static libraries into a sysroot that cargo hands to dependents as
//! `DEP_LIBNVME_SYSROOT_<ARCH>`. nvme-cli lists this crate under `[dependencies]` and calls
//! `s.use_library("libnvme")?`.
