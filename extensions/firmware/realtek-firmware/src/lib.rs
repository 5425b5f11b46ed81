//! `realtek-firmware`: the firmware of Realtek's NICs, Wi-Fi and Bluetooth chips (`rtl_bt/`, `rtl_nic/`, `rtlwifi/`, `rtw88/`, with the links `WHENCE` defines among them).
//!
//! A `firmware` recipe: the paths are in `Cargo.toml` (`firmware = [...]`), taken from the
//! linux-firmware release pinned in `toolchain/firmware.toml` by the default recipe (`build.rs`).
//! The tests stage both arches from Debian's `firmware-realtek`, unpacked into linux-firmware's layout.
