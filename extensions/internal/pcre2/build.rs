//! Recipe for the internal library `pcre2`: PCRE2's autotools project built as the static 8-bit
//! library only (glib's GRegex needs nothing else; no 16/32-bit variants), installed into the
//! sysroot with `pcre2.h` and `libpcre2-8.pc`, where glib's meson finds it through
//! `pkg-config`. Its small programs (`pcre2grep`, `pcre2test`) are built and installed into the
//! sysroot too, which no dependent ships.

use talos_ext_build::prelude::*;

/// Builds `libpcre2-8.a` for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let src = s.source("pcre2")?;
    s.autotools("pcre2", &src)
        .configure_args([
            "--enable-pcre2-8",
            "--disable-pcre2-16",
            "--disable-pcre2-32",
            // No optional library found by chance (pcre2grep would link them).
            "--disable-pcre2grep-libz",
            "--disable-pcre2grep-libbz2",
            "--disable-pcre2test-libreadline",
            "--disable-pcre2test-libedit",
        ])
        .into_sysroot()
        .run()?;
    Ok(())
}

fn main() {
    talos_ext_build::library_script(recipe)
}
