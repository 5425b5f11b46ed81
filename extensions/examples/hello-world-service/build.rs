//! Recipe for `hello-world-service`: an extension service whose program is in-tree C
//! (`native/hello-world.c`), statically linked against musl for each arch, run by Talos as
//! `ext-hello-world` from `/usr/local/lib/containers/hello-world/`.

use talos_ext_build::prelude::*;

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let program = s.compile_program("hello-world", &["native/hello-world.c"])?;
    s.install(&program, "usr/local/lib/containers/hello-world/hello-world", 0o755)?;
    s.install(&s.input("files/hello-world.yaml")?, "usr/local/etc/containers/hello-world.yaml", 0o644)?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
