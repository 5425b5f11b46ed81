//! A `mixed` recipe of in-tree modules and their firmware needs no code: the default recipe
//! installs the linux-firmware paths the metadata lists (`firmware = [...]`, from the release
//! pinned in `toolchain/firmware.toml`, with its `WHENCE` links) and then the signed in-tree
//! modules it lists (`modules.<arch>`, from the kernel toolchain's module tree, with
//! `modules.order`, `modules.builtin` and `modules.builtin.modinfo`).

fn main() {
    talos_ext_build::default_build_script()
}
