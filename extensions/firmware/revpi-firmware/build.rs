//! Recipe for `revpi-firmware`: our own Go program (`go/main.go`, the crate's own module) that
//! sets a Revolution Pi's Ethernet MAC address from its HAT EEPROM, built with the pinned Go
//! toolchain, statically (`CGO_ENABLED=0`), and the udev rule that runs it, where upstream's
//! extension puts them (facts from siderolabs/extensions, firmware/revpi-firmware):
//!
//! - the program as `/usr/lib/udev/rules.d/revpi_mac`, the path the rule names;
//! - `50-revpi.rules` (our own file) beside it: for the `fd580000.ethernet` controller's
//!   interface, on `add`, run the program with the interface name and offset 0.

use talos_ext_build::prelude::*;

/// Where udev reads rules on Talos, and where upstream puts the program too.
pub const RULES_DIR: &str = "usr/lib/udev/rules.d";

/// The program's name in [`RULES_DIR`] (the rule runs it by this path).
pub const PROGRAM: &str = "revpi_mac";

/// The rule file's name under `files/` and in [`RULES_DIR`].
pub const RULES: &str = "50-revpi.rules";

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let programs = s.go_build()?;
    let [(_, program)] = programs.as_slice() else {
        bail!("revpi-firmware builds one program, not {}", programs.len());
    };
    s.install(program, &format!("{RULES_DIR}/{PROGRAM}"), 0o755)?;
    s.install(&s.input(&format!("files/{RULES}"))?, &format!("{RULES_DIR}/{RULES}"), 0o644)?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
