//! Recipe for the internal library `libdevmapper`: LVM2's autotools project, configured for a
//! static build (`--enable-static_link`, as siderolabs/pkgs' `lvm2` does, without its thin,
//! cache, readline, NLS and SELinux parts), of which only `libdm` is built and installed into the
//! stage's sysroot (`usr/include/libdevmapper.h`, `usr/lib/libdevmapper.a`, `devmapper.pc`), where
//! multipath-tools finds it. Only the library is needed, so the rest of LVM2 (and its libaio
//! requirement) is left out; libdm's own `make` also links `dmsetup.static` against the archive,
//! which proves it links statically, but the recipe installs only the library.
//!
//! Differences from the pkgs image: no udev synchronisation (`--enable-udev_sync` needs libudev,
//! which this workspace has no stage for yet); without it libdevmapper waits for no udev events
//! and multipath-tools creates its device nodes itself. Cross configuring cannot run autoconf's
//! `malloc(0)`/`realloc(0)` probes, which then assume a broken libc and ask for `rpl_malloc`;
//! musl's return non-null pointers, which the recipe tells configure.

use talos_ext_build::prelude::*;

/// Builds `libdevmapper.a` into the sysroot for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let src = s.source("lvm2")?;
    s.autotools("lvm2", &src)
        .configure_args([
            "--enable-static_link",
            "--disable-selinux",
            "--disable-readline",
            "--disable-nls",
            "--disable-blkid_wiping",
            "--with-thin=none",
            "--with-cache=none",
            "--with-vdo=none",
            "--enable-pkgconfig",
            "ac_cv_func_malloc_0_nonnull=yes",
            "ac_cv_func_realloc_0_nonnull=yes",
        ])
        .make_subdirs(["libdm"])
        .install_targets(["-C", "libdm", "install"])
        .into_sysroot()
        .run()?;
    Ok(())
}

fn main() {
    talos_ext_build::library_script(recipe)
}
