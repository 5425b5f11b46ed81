//! `hello-module`: an example Talos extension carrying an out-of-tree kernel module.
//!
//! The recipe is in `build.rs`; the module is `native/hello.c` with its `native/Kbuild`.
//! `cargo test -p hello-module` stages both arches and checks the signed modules with `modinfo`.
//! With the default (Debian) toolchain the module does not load on a Talos kernel: it shows the
//! build, strip, sign and install path; `cargo xtask build hello-module --toolchain <talos>`
//! builds it against the pinned Talos kernel instead.
