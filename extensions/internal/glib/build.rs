//! Recipe for the internal library `glib`: GLib's meson project with upstream's flags (no
//! libelf, no SELinux), as static libraries only (upstream builds both kinds), linked against
//! the internal `pcre2`, `libffi` and `zlib` stages, and installed into the sysroot with its
//! headers and `.pc` files, where QEMU's configure finds `glib-2.0` through `pkg-config`.
//!
//! GLib needs a newer meson than Debian bookworm's (>= 1.4) and python's `packaging` for its
//! build scripts: [`MesonRelease::Pinned`]. Also off, because nothing here uses them and they
//! would otherwise be found by chance or need more libraries: libmount, sysprof, dtrace and
//! systemtap probes, introspection, translations, man pages and the test suite.

use talos_ext_build::prelude::*;

/// Builds GLib's static libraries for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    for lib in ["zlib", "pcre2", "libffi"] {
        s.use_library(lib)?;
    }
    let src = s.source("glib")?;
    s.meson("glib", &src)
        .release(MesonRelease::Pinned)
        // Upstream's flags.
        .option("libelf", "disabled")
        .option("selinux", "disabled")
        // Ours.
        .option("libmount", "disabled")
        .option("sysprof", "disabled")
        .option("dtrace", "disabled")
        .option("systemtap", "disabled")
        .option("introspection", "disabled")
        .option("nls", "disabled")
        .option("man-pages", "disabled")
        .option("tests", "false")
        .into_sysroot()
        .run()?;
    Ok(())
}

fn main() {
    talos_ext_build::library_script(recipe)
}
