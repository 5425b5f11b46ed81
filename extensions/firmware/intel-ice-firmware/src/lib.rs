//! `intel-ice-firmware`: the DDP package of Intel's E800-series NICs (`intel/ice/ddp/ice.pkg`, a link `WHENCE` defines, and the versioned package it points to).
//!
//! A `firmware` recipe: the paths are in `Cargo.toml` (`firmware = [...]`), taken from the
//! linux-firmware release pinned in `toolchain/firmware.toml` by the default recipe (`build.rs`).
//! The tests stage both arches from Debian's `firmware-intel-misc`, unpacked into linux-firmware's layout.
