//! Recipe for the internal library `libkmod`: kmod's library alone (no tools, no manpages, no
//! compression or signature support: dependents only look modules up and load them), built
//! static with meson into the sysroot, with its header and `libkmod.pc`.

use talos_ext_build::prelude::*;

/// Builds `libkmod.a` for one arch into the stage's sysroot.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let src = s.source("kmod")?;
    s.meson("kmod", &src)
        .option("tools", "false")
        .option("manpages", "false")
        .option("docs", "false")
        .option("build-tests", "false")
        .option("zstd", "disabled")
        .option("xz", "disabled")
        .option("zlib", "disabled")
        .option("openssl", "disabled")
        .option("bashcompletiondir", "no")
        .option("fishcompletiondir", "no")
        .option("zshcompletiondir", "no")
        .into_sysroot()
        .run()?;
    Ok(())
}

fn main() {
    talos_ext_build::library_script(recipe)
}
