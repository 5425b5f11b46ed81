//! `bird2`: the BIRD 2 routing daemon as a Talos extension service.
//!
//! The recipe is in `build.rs`: BIRD's autotools project, static musl, installed into the
//! service's container root; the spec Talos reads is `files/bird2.yaml`. `cargo test -p bird2`
//! builds both arches from Debian's BIRD 2.0.12 release tarball (see `tests/staged.rs`) and runs
//! the programs.
