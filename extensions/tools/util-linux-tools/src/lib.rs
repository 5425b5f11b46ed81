//! `util-linux-tools`: `fstrim`, `nsenter` and `blkid` from util-linux 2.42.2 for Talos.
//!
//! The recipe is in `build.rs`: util-linux configured with the upstream extension's flags, built
//! with the autotools driver, programs statically linked against musl and installed under
//! `/usr/local/{bin,sbin}`. `cargo test -p util-linux-tools` builds the exact pinned tarball
//! offline through a directory mirror, for both arches, and runs the programs.
