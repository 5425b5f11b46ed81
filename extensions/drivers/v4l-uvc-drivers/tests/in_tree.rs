//! The in-tree module checks of `talos_ext_build::testing::check_in_tree_recipe_with_debian`
//! with this crate's recipe, with systemd's rules file served as the **exact pin** through an
//! offline directory mirror: Debian's systemd 257.13 source carries `rules.d/60-persistent-v4l.rules`
//! byte-identical to the pinned v261.2 file (same sha256).

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::{
    TestOptions, check_in_tree_recipe_fails_fast_with_talos, check_in_tree_recipe_with_debian_and, debian_orig, meta,
    mode, tar_gz_member,
};

fn pinned_rules() -> (String, Vec<u8>) {
    let meta = meta(env!("CARGO_MANIFEST_DIR")).unwrap();
    let pinned = meta.source("persistent-v4l-rules", Arch::Amd64).unwrap().sha256.to_string();
    let orig = debian_orig("systemd=257.13-1~deb13u1").unwrap_or_else(|e| panic!("{e:#}"));
    let bytes = tar_gz_member(&orig, "rules.d/60-persistent-v4l.rules").unwrap();
    (pinned, bytes)
}

#[test]
fn tier_kinds_debian_toolchain_installs_the_modules_and_the_pinned_rules() {
    let (pinned, bytes) = pinned_rules();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("60-persistent-v4l.rules");
    std::fs::write(&file, &bytes).unwrap();
    let opts = TestOptions::offline_mirror(&tmp.path().join("fetch"), &[(&file, &pinned)]).unwrap();
    let stagings = check_in_tree_recipe_with_debian_and(env!("CARGO_MANIFEST_DIR"), build::recipe, &opts);
    assert_eq!(stagings.len(), 2, "both arches have the modules in Debian's kernel");
    for s in &stagings {
        assert!(s.overridden_sources.is_empty(), "the exact pin, no override");
        assert_eq!(std::fs::read(s.rootfs(build::RULES)).unwrap(), bytes);
        assert_eq!(mode(&s.rootfs(build::RULES)), 0o644);
    }
}

#[test]
fn talos_toolchain_fails_fast_naming_the_kernel_image() {
    check_in_tree_recipe_fails_fast_with_talos(env!("CARGO_MANIFEST_DIR"), build::recipe);
}
