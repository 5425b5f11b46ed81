//! `netbird`: the NetBird WireGuard mesh client as a Talos extension service.
//!
//! The recipe is `build.rs` (the Go build the `[go]` table of `Cargo.toml` declares); `tests/`
//! builds it from the exact pin through the Go module proxy and checks what it staged.
