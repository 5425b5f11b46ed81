//! `bnx2-bnx2x`: the firmware of Broadcom's NetXtreme II NICs (`bnx2/`, `bnx2x/`).
//!
//! A `firmware` recipe: the paths are in `Cargo.toml` (`firmware = [...]`), taken from the
//! linux-firmware release pinned in `toolchain/firmware.toml` by the default recipe (`build.rs`).
//! The tests stage both arches from Debian's `firmware-bnx2` and `firmware-bnx2x`, unpacked into linux-firmware's layout.
