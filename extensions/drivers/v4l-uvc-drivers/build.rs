//! Recipe for `v4l-uvc-drivers`: the signed in-tree modules the metadata lists (the
//! `kmod-in-tree` default recipe: UVC, videobuf2, the media controller and V4L2 core), plus
//! systemd's `60-persistent-v4l.rules` as upstream ships it (a pinned single file), which gives
//! cameras stable names under `/dev/v4l/`.

use talos_ext_build::prelude::*;

/// Where the rules land: udev reads `/usr/lib/udev/rules.d` on Talos.
pub const RULES: &str = "usr/lib/udev/rules.d/60-persistent-v4l.rules";

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    talos_ext_build::default_recipe(s)?;
    s.install(&s.source_file("persistent-v4l-rules")?, RULES, 0o644)
}

fn main() {
    talos_ext_build::build_script(recipe)
}
