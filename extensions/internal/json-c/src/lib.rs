//! `json-c`: an internal library stage (never published).
//!
//! The recipe is in `build.rs`; it builds json-c as a static library into a sysroot that cargo
//! hands to dependents as `DEP_JSON_C_SYSROOT_<ARCH>` (see `talos_ext_build::library_script`).
//! A recipe that links json-c lists this crate under `[dependencies]` and calls
//! `s.use_library("json-c")?`.
