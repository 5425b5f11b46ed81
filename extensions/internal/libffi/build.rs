//! Recipe for the internal library `libffi`: the tag archive has no `configure`, so the recipe
//! runs `autoreconf -fi` (what upstream's `autogen.sh` does) first; then the autotools project
//! is built as a static library without its documentation and installed into the sysroot with
//! `ffi.h`, `ffitarget.h` and `libffi.pc`, where glib's meson finds it through `pkg-config`.

use talos_ext_build::prelude::*;

/// Builds `libffi.a` for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let src = s.source("libffi")?;
    s.autotools("libffi", &src)
        .autoreconf()
        .configure_args([
            "--disable-docs",
            // `lib/`, not gcc's multilib directory name (`lib/../lib64`).
            "--disable-multi-os-directory",
            // No flags tuned to the build machine's CPU.
            "--without-gcc-arch",
        ])
        .into_sysroot()
        .run()?;
    Ok(())
}

fn main() {
    talos_ext_build::library_script(recipe)
}
