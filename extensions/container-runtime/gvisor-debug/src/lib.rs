//! `gvisor-debug`: gVisor's debug logging for Talos, layered on the `gvisor` extension.
//!
//! The recipe is in `build.rs`; it installs our own CRI part `files/11-gvisor-debug.part` and
//! the runsc configuration it names, `files/runsc.toml`. `cargo test -p gvisor-debug` stages
//! both arches and checks the files against the strict validator's rules.
