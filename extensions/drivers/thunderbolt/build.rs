//! Recipe for `thunderbolt`: the signed in-tree Thunderbolt/USB4 modules the metadata lists (the
//! `kmod-in-tree` default recipe), plus our udev rule that authorizes each Thunderbolt device as
//! it appears, since a Talos node has no user agent to approve one (upstream ships such a rule).

use talos_ext_build::prelude::*;

/// Where the rule lands: udev reads `/usr/lib/udev/rules.d` on Talos.
pub const RULE: &str = "usr/lib/udev/rules.d/99-thunderbolt-authorize.rules";

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    talos_ext_build::default_recipe(s)?;
    s.install(&s.input("files/99-thunderbolt-authorize.rules")?, RULE, 0o644)
}

fn main() {
    talos_ext_build::build_script(recipe)
}
