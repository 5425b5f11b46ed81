//! Recipe for the internal library `libevent`: the upstream autotools project built as static
//! libraries only (no OpenSSL bufferevents, no samples, no regression tests) and installed into
//! the sysroot with its headers and `libevent*.pc`, where lldpd finds it through `pkg-config`.

use talos_ext_build::prelude::*;

/// Builds `libevent.a` (and its `_core`, `_extra`, `_pthreads` parts) for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let src = s.source("libevent")?;
    s.autotools("libevent", &src)
        .configure_args([
            // Nothing here links OpenSSL through libevent; the library stays self-contained.
            "--disable-openssl",
            "--disable-samples",
            "--disable-libevent-regress",
            "--disable-debug-mode",
        ])
        .into_sysroot()
        .run()?;
    Ok(())
}

fn main() {
    talos_ext_build::library_script(recipe)
}
