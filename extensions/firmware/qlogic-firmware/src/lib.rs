//! `qlogic-firmware`: the firmware of QLogic's adapters (`qed/` and the `ql*_fw.bin` files at the top of the release).
//!
//! A `firmware` recipe: the paths are in `Cargo.toml` (`firmware = [...]`), taken from the
//! linux-firmware release pinned in `toolchain/firmware.toml` by the default recipe (`build.rs`).
//! The tests stage both arches from Debian's `firmware-qlogic`, unpacked into linux-firmware's layout.
