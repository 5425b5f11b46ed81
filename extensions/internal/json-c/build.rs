//! Recipe for the internal library `json-c`: the upstream cmake project, built as a static
//! library for each arch and installed into the stage's sysroot (headers under
//! `usr/include/json-c`, `usr/lib/libjson-c.a`, `json-c.pc`), where libnvme and nvme-cli find it
//! through `pkg-config`.

use talos_ext_build::prelude::*;

/// Builds json-c into the sysroot for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let src = s.source("json-c")?;
    s.cmake("json-c", &src)
        .define("BUILD_STATIC_LIBS", "ON")
        .define("BUILD_TESTING", "OFF")
        .define("BUILD_APPS", "OFF")
        // No libbsd in the sysroot, and none wanted: json-c seeds its hash from getrandom().
        .define("DISABLE_EXTRA_LIBS", "ON")
        .into_sysroot()
        .run()?;
    Ok(())
}

fn main() {
    talos_ext_build::library_script(recipe)
}
