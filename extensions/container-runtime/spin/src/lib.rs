//! `spin`: the Spin WebAssembly containerd shim for Talos.
//!
//! The recipe is in `build.rs`: it takes the shim out of upstream's pinned release archive per
//! arch (a `prebuilt` payload; the shim is Rust, not Go) and installs the CRI part
//! `files/10-spin.part`. `cargo test -p spin` stages both arches from generated stand-ins, not
//! the vendor's bytes (see `tests/stand_ins.rs`).
