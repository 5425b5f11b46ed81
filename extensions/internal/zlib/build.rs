//! Recipe for the internal library `zlib`: zlib's own `configure` (not autotools: it takes only
//! `--prefix` and `--static`, and the compiler from the environment) run out of tree, `make`,
//! `make install` into the stage's sysroot (`usr/include/zlib.h`, `usr/lib/libz.a`, `zlib.pc`).

use talos_ext_build::prelude::*;

/// Builds zlib into the sysroot for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let src = s.source("zlib")?;
    s.autotools("zlib", &src)
        .configure_command(src.join("configure"), ["--prefix=/usr", "--static"])
        .into_sysroot()
        .run()?;
    Ok(())
}

fn main() {
    talos_ext_build::library_script(recipe)
}
