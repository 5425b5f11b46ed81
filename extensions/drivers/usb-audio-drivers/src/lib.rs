//! `usb-audio-drivers`: a Talos extension of in-tree kernel modules from the pinned kernel, signed
//!
//! The recipe is `build.rs`; `tests/` checks it. Scaffolded by `cargo xtask new`: `cargo xtask
//! lint` lists what is left to fill in.
