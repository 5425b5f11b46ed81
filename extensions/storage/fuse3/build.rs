//! Recipe for `fuse3`: libfuse's meson project with upstream's options (`useroot=false`: no
//! setuid `fusermount3` and no `/dev/fuse` node; an empty `initscriptdir`: no init script;
//! no examples, no tests), installed under `/usr/local` as upstream's extension installs it:
//! `bin/fusermount3`, `sbin/mount.fuse3`, `etc/fuse.conf`, the library with its headers and
//! pkg-config file, and the two man pages. No udev rules are installed (meson finds no udev
//! pkg-config file for the target, upstream's build neither).
//!
//! Differences from upstream, and why:
//! - the programs are static musl binaries, so the library ships as the static `libfuse3.a`
//!   (what a static build installs) instead of `libfuse3.so.*`;
//! - upstream also creates an empty `/etc/init.d` (a leftover of the init script it disables);
//!   an empty directory ships nothing, so it is not created here.

use talos_ext_build::prelude::*;

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let src = s.source("fuse3")?;
    s.meson("fuse3", &src)
        .option("useroot", "false")
        .option("initscriptdir", "")
        .option("examples", "false")
        .option("tests", "false")
        .run()?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
