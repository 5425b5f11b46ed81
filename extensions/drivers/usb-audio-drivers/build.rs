//! A `kmod-in-tree` recipe needs no code: the default recipe installs the signed in-tree modules
//! the metadata lists (`modules.<arch>`), taken from the kernel toolchain's module tree with
//! their signatures, plus `modules.order`, `modules.builtin` and `modules.builtin.modinfo`.

fn main() {
    talos_ext_build::default_build_script()
}
