//! Stages `uinput` through its real recipe: with the Debian 6.12 toolchain (offline, from the
//! Debian linux-image package) every listed module must be installed as a plain, still signed
//! `.ko` under its own path, with the index files; with the pinned Talos toolchain (the default)
//! staging must fail at once, naming the kernel image it needs.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::testing::{check_in_tree_recipe_fails_fast_with_talos, check_in_tree_recipe_with_debian};

#[test]
fn debian_toolchain_installs_the_listed_signed_modules() {
    check_in_tree_recipe_with_debian(env!("CARGO_MANIFEST_DIR"), build::recipe);
}

#[test]
fn talos_toolchain_fails_fast_naming_the_kernel_image() {
    check_in_tree_recipe_fails_fast_with_talos(env!("CARGO_MANIFEST_DIR"), build::recipe);
}
