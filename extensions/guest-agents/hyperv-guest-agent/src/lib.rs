//! `hyperv-guest-agent`: the Linux kernel's Hyper-V KVP and VSS daemons as Talos extension
//! services.
//!
//! The recipe is `build.rs`; `tests/` builds it from a nearby real kernel source and checks what
//! it staged.
