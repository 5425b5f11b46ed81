//! Recipe for `dvb-cx23885`: Conexant CX23885 PCIe TV tuner cards, as upstream builds them:
//! 1. the whole rootfs of `v4l-uvc-drivers` (layered: the V4L2 and media core the tuner
//!    drivers load, and that extension's files, in one image);
//! 2. the three firmware files these cards load, from OpenELEC's dvb-firmware collection
//!    (linux-firmware carries none of the si2168 demodulator's);
//! 3. the signed in-tree modules the metadata lists (the cx23885 driver, its tuners, demodulators,
//!    remote-control keymaps and the sound core its audio part needs).
//!
//! Upstream also ships a modprobe.d file under `/usr/local/lib/modprobe.d`; its content is not in
//! the facts we have, so it is not here yet.

use talos_ext_build::prelude::*;

/// The firmware files taken from the dvb-firmware tarball (its `firmware/` directory).
pub const FIRMWARE: [&str; 3] = ["dvb-demod-si2168-02.fw", "dvb-demod-si2168-b40-01.fw", "v4l-cx23885-avcore-01.fw"];

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    s.layer_extension("v4l-uvc-drivers")?;
    install_firmware(s)?;
    s.install_in_tree_modules()?;
    Ok(())
}

fn install_firmware(s: &Stage) -> Result<()> {
    let tarball = s.source("dvb-firmware")?;
    for name in FIRMWARE {
        s.install(&tarball.join("firmware").join(name), &format!("usr/lib/firmware/{name}"), 0o644)?;
    }
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
