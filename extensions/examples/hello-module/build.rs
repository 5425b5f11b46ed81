//! Recipe for `hello-module`: the kernel module in `native/` (`hello.c` + `Kbuild`), built out of
//! tree with kbuild against the extension's kernel toolchain (Debian 6.12 by default for
//! examples), stripped, signed, and installed as `usr/lib/modules/<release>/extras/hello.ko`.

use talos_ext_build::prelude::*;

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    s.kbuild_modules("hello").crate_dir("native").expect_modules(["hello.ko"]).run()?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
