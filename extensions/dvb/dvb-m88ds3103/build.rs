//! Recipe for `dvb-m88ds3103`: cards with the Montage M88DS3103 DVB-S/S2 demodulator behind a
//! CX23885 bridge, as upstream builds them:
//! 1. the whole rootfs of `dvb-cx23885` (layered: its tuner and demodulator modules, its three
//!    firmware files, and the `v4l-uvc-drivers` rootfs it carries itself);
//! 2. the demodulator's firmware, `dvb-demod-m88ds3103.fw`, a single pinned file of OpenELEC's
//!    dvb-firmware collection (linux-firmware does not carry it).
//!
//! It has no modules of its own: the `m88ds3103` driver is part of the kernel's media tree, which
//! the layer brings what the tuner cards need of.

use talos_ext_build::prelude::*;

/// The firmware file's name, under `/usr/lib/firmware`, as the m88ds3103 driver requests it.
pub const FIRMWARE: &str = "dvb-demod-m88ds3103.fw";

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    s.layer_extension("dvb-cx23885")?;
    s.install(&s.source_file("m88ds3103-firmware")?, &format!("usr/lib/firmware/{FIRMWARE}"), 0o644)
}

fn main() {
    talos_ext_build::build_script(recipe)
}
