//! `crun`: the crun OCI runtime as a containerd runtime for Talos.
//!
//! The recipe is in `build.rs`: it installs upstream's pinned static release binary per arch (a
//! `prebuilt` payload; crun is C, so there is no Go source to build instead) and the CRI part
//! `files/10-crun.part`. `cargo test -p crun` stages both arches from generated stand-ins, not
//! the vendor's bytes (see `tests/stand_ins.rs`).
