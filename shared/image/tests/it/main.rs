//! Integration tests of talos-ext-image, one binary: generated staged trees are packed and the
//! results checked for determinism, for what real tools (`gzip`, `tar`, `zstd`, `skopeo`) make of
//! them, for reading back, and for leaving nothing behind on failure. `support` holds the tree
//! generator and command helpers; it asserts nothing itself.

mod determinism;
mod failure;
mod readback;
mod support;
mod tools;
