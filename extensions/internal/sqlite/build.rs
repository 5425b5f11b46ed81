//! Recipe for the internal library `sqlite`: SQLite's canonical source tree (what the pinned tag
//! archive holds) configured with its own autosetup `configure` for the arch, and only the static
//! library built: `make libsqlite3.a` generates the amalgamation (`sqlite3.c`, with the Tcl
//! interpreter autosetup compiles for the build machine, `jimsh`) and compiles it; the install
//! targets put `libsqlite3.a`, `sqlite3.h`/`sqlite3ext.h` and `sqlite3.pc` into the sysroot.
//! No shell, no Tcl extension, no readline, no loadable extensions (nothing that links this
//! library loads any).

use talos_ext_build::prelude::*;

/// Builds `libsqlite3.a` for one arch into the stage's sysroot.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let src = s.source("sqlite")?;
    s.autotools("sqlite", &src)
        .configure_args(["--disable-shared", "--disable-tcl", "--disable-readline", "--disable-load-extension"])
        .make_targets(["libsqlite3.a"])
        .install_targets(["install-lib", "install-headers", "install-pc"])
        .into_sysroot()
        .run()?;
    Ok(())
}

fn main() {
    talos_ext_build::library_script(recipe)
}
