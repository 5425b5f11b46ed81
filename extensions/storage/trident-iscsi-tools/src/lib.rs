//! `trident-iscsi-tools`: a Talos extension of upstream C built with autotools
//!
//! The recipe is `build.rs`; `tests/` checks it. Scaffolded by `cargo xtask new`: `cargo xtask
//! lint` lists what is left to fill in.
