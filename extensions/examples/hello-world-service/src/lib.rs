//! `hello-world-service`: an example Talos extension service.
//!
//! The recipe is in `build.rs`; the program it compiles is `native/hello-world.c`; the service
//! spec Talos reads is `files/hello-world.yaml`. `cargo xtask build hello-world-service --arch all`
//! builds the image; `cargo test -p hello-world-service` stages both arches and checks them.
