//! A `firmware` recipe needs no code: the default recipe installs the linux-firmware paths the
//! metadata lists (`firmware = [...]`) from the release pinned in `toolchain/firmware.toml` into
//! `/usr/lib/firmware/`, with the links its `WHENCE` defines for them.

fn main() {
    talos_ext_build::default_build_script()
}
