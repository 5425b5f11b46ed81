//! Recipe for the internal library `liburcu`: upstream's autotools project configured as
//! siderolabs/pkgs' `liburcu` configures it (only `--prefix`), built as static libraries only
//! and installed into the stage's sysroot (`usr/include/urcu*`, `usr/lib/liburcu*.a`,
//! `liburcu*.pc`), where multipath-tools finds them.

use talos_ext_build::prelude::*;

/// Builds liburcu's flavours (`liburcu`, `-bp`, `-cds`, `-mb`, `-memb`, `-qsbr`, `-signal`,
/// `-common`) into the sysroot for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let src = s.source("liburcu")?;
    s.autotools("liburcu", &src).into_sysroot().run()?;
    Ok(())
}

fn main() {
    talos_ext_build::library_script(recipe)
}
