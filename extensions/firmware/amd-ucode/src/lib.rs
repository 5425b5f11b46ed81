//! `amd-ucode`: AMD CPU microcode (`amd-ucode/`), which Linux loads early and late on AMD processors.
//!
//! A `firmware` recipe: the paths are in `Cargo.toml` (`firmware = [...]`), taken from the
//! linux-firmware release pinned in `toolchain/firmware.toml` by the default recipe (`build.rs`).
//! The tests stage both arches from Debian's `amd64-microcode` package (AMD's microcode from linux-firmware, packaged on its own), unpacked into linux-firmware's layout.
