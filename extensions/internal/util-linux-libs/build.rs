//! Recipe for the internal library `util-linux-libs`: util-linux with every program off and only
//! libmount, libblkid and libuuid on, built static into the sysroot with their headers and
//! `mount.pc` / `blkid.pc` / `uuid.pc`.

use talos_ext_build::prelude::*;

/// Builds `libmount.a`, `libblkid.a` and `libuuid.a` for one arch into the stage's sysroot.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let src = s.source("util-linux")?;
    s.autotools("util-linux", &src)
        .configure_args([
            "--disable-all-programs",
            "--enable-libmount",
            "--enable-libblkid",
            "--enable-libuuid",
            "--without-python",
            "--without-systemd",
            "--without-systemdsystemunitdir",
            "--without-udev",
            "--without-ncurses",
            "--disable-bash-completion",
            "--disable-asciidoc",
            "--disable-nls",
        ])
        .into_sysroot()
        .run()?;
    Ok(())
}

fn main() {
    talos_ext_build::library_script(recipe)
}
