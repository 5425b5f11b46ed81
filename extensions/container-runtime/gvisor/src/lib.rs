//! `gvisor`: gVisor's sandboxed container runtime (runsc and its containerd shim) as a Talos
//! extension.
//!
//! The recipe is `build.rs` (the Go build the `[go]` table of `Cargo.toml` declares); `tests/`
//! builds it through the Go module proxy and checks what it staged.
