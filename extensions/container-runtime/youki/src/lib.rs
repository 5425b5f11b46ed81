//! `youki`: the youki OCI runtime as a containerd runtime for Talos.
//!
//! The recipe is in `build.rs`: it installs `youki` from upstream's pinned static release archive
//! per arch (a `prebuilt` payload) and the CRI part `files/10-youki.part`. `cargo test -p youki`
//! stages both arches from generated stand-ins, not the vendor's bytes (see `tests/stand_ins.rs`).
