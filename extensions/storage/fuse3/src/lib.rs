//! `fuse3`: libfuse 3 for Talos, with its helpers `fusermount3` and `mount.fuse3`.
//!
//! The recipe is in `build.rs`: libfuse's meson project, static musl, installed under
//! `/usr/local` as upstream installs it. `cargo test -p fuse3` builds both arches from Debian's
//! libfuse 3.18.3 release tarball (see `tests/staged.rs`) and runs the programs.
