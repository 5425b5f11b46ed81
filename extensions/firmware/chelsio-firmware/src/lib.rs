//! `chelsio-firmware`: the firmware of Chelsio's T3 and T4-T6 NICs (`cxgb3/`, `cxgb4/`).
//!
//! A `firmware` recipe: the paths are in `Cargo.toml` (`firmware = [...]`), taken from the
//! linux-firmware release pinned in `toolchain/firmware.toml` by the default recipe (`build.rs`).
//! The tests stage both arches from Debian's `firmware-misc-nonfree`, unpacked into linux-firmware's layout.
