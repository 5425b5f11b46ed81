//! `sqlite`: an internal library stage (never published).
//!
//! The recipe is in `build.rs`; it builds SQLite as a static library into a sysroot that cargo
//! hands to dependents as `DEP_SQLITE_SYSROOT_<ARCH>` (see `talos_ext_build::library_script`). A
//! recipe that links it lists this crate under `[dependencies]` and calls
//! `s.use_library("sqlite")?`.
