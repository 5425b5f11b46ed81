//! Recipe for `uinput`: the signed in-tree modules its metadata lists (`modules.<arch>`), taken from
//! the kernel toolchain's module tree with their signatures, plus `modules.order`,
//! `modules.builtin` and `modules.builtin.modinfo`.

use talos_ext_build::prelude::*;

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    s.install_in_tree_modules()?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
