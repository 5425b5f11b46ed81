//! Stages `mdadm` for both arches: the tree is upstream's placeholder, exactly (a `manifest.yaml`
//! with version `v4.6` and a rootfs holding one empty directory, `usr/local/sbin`), and it passed
//! strict validation on the way (staging validates).

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use std::path::Path;

use talos_ext_build::Arch;
use talos_ext_build::testing::stage;

/// Every entry below `dir`, relative, with a `/` after directories, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            let rel = path.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                out.push(format!("{rel}/"));
                todo.push(path);
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn tier_kinds_stages_an_empty_placeholder_for_both_arches() {
    for arch in [Arch::Amd64, Arch::Arm64] {
        let s = stage(env!("CARGO_MANIFEST_DIR"), build::recipe, arch).unwrap();
        assert_eq!(
            entries(&s.dir),
            ["manifest.yaml", "rootfs/", "rootfs/usr/", "rootfs/usr/local/", "rootfs/usr/local/sbin/"],
            "{arch}"
        );
        let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
        assert!(manifest.contains("name: mdadm") && manifest.contains("version: v4.6"), "{manifest}");
        assert!(manifest.contains("[deprecated] Deprecated placeholder"), "{manifest}");
    }
}
