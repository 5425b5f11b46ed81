//! Recipe for the internal library `libaio`: upstream's plain Makefile, built with
//! `ENABLE_SHARED=0` (only `libaio.a`) and installed by its own `install` target into the stage's
//! sysroot (`usr/include/libaio.h`, `usr/lib/libaio.a`), as siderolabs/pkgs' `libaio` runs
//! `make` and `make install`.

use talos_ext_build::prelude::*;

/// Builds `libaio.a` into the sysroot for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let src = s.source("libaio")?;
    s.make("libaio", &src)
        // The static objects compile with `L_CFLAGS` (= `CFLAGS`), which leaves out `CPPFLAGS`
        // and so the uapi headers (`<asm/errno.h>`) musl's include path lacks; make expands
        // both from the environment and the Makefile.
        .vars(["ENABLE_SHARED=0", "L_CFLAGS=$(CFLAGS) $(CPPFLAGS)"])
        .targets(["all"])
        .install_targets(["install"])
        .into_sysroot()
        .run()?;
    Ok(())
}

fn main() {
    talos_ext_build::library_script(recipe)
}
