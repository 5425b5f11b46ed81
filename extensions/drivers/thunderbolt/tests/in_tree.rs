//! The in-tree module checks of `talos_ext_build::in_tree_recipe_tests` with this crate's recipe
//! (the default plus the udev rule), and the rule itself as staged.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::kernel::{KernelOverrides, with_overrides};
use talos_ext_build::testing::{Pins, mode, stage};

talos_ext_build::in_tree_recipe_tests!(build::recipe);

#[test]
fn tier_kinds_the_udev_rule_authorizes_thunderbolt_devices() {
    let pins = Pins::load().unwrap();
    let debian = KernelOverrides { toolchain: Some(pins.debian.name.clone()), ..Default::default() };
    let s = with_overrides(debian, || stage(env!("CARGO_MANIFEST_DIR"), build::recipe, Arch::Amd64))
        .unwrap_or_else(|e| panic!("{e:#}"));
    let rule = std::fs::read_to_string(s.rootfs(build::RULE)).unwrap();
    assert_eq!(mode(&s.rootfs(build::RULE)), 0o644);
    let active: Vec<&str> = rule.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).collect();
    assert_eq!(active, [r#"ACTION=="add", SUBSYSTEM=="thunderbolt", ATTR{authorized}=="0", ATTR{authorized}="1""#]);
}
