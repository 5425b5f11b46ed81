//! Tests of the front's library (`xtask/src`), here so that `cargo test --workspace` runs them
//! (the front is a workspace of its own): which variables are kept from the cargo xtask runs,
//! the remembered `cargo metadata`, and the catalog's SBOM lint.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use cargo_metadata::Metadata;
use xtask::catalog::Catalog;
use xtask::metadata::{self, cached};

/// `cargo test` sets the same variables for test processes as `cargo run` does for xtask.
#[test]
fn cargo_run_vars_are_the_ones_cargo_sets_for_the_crate() {
    let vars: Vec<String> = xtask::cargo_run_vars().into_iter().map(|v| v.into_string().unwrap()).collect();
    for want in ["CARGO_PKG_NAME", "CARGO_PKG_VERSION", "CARGO_MANIFEST_DIR"] {
        assert!(vars.iter().any(|v| v == want), "{want} missing from {vars:?}");
    }
    // What configures cargo itself stays.
    for keep in ["CARGO", "CARGO_HOME", "CARGO_TARGET_DIR", "CARGO_TERM_COLOR"] {
        assert!(!vars.iter().any(|v| v == keep), "{keep} must be kept");
    }
}

fn member(root: &Path, dir: &str, name: &str, description: &str) {
    let dir = root.join(dir);
    fs::create_dir_all(dir.join("src")).unwrap();
    fs::write(dir.join("src/lib.rs"), "//! x\n").unwrap();
    fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\ndescription = \"{description}\"\n"
        ),
    )
    .unwrap();
}

/// Makes every file and directory below `root` two seconds old, as if edited a while ago.
fn settle(root: &Path) {
    let old = filetime::FileTime::from_system_time(SystemTime::now() - Duration::from_secs(2));
    for entry in walkdir::WalkDir::new(root).into_iter().map(Result::unwrap) {
        filetime::set_file_mtime(entry.path(), old).unwrap();
    }
}

fn names(m: &Metadata) -> Vec<(String, Option<String>)> {
    let mut v: Vec<_> = m.workspace_packages().iter().map(|p| (p.name.to_string(), p.description.clone())).collect();
    v.sort();
    v
}

#[test]
fn the_cache_follows_every_manifest_and_member_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    fs::write(root.join("Cargo.toml"), "[workspace]\nresolver = \"3\"\nmembers = [\"ext/*/*\"]\n").unwrap();
    member(root, "ext/a/one", "one", "first");
    // Just edited: answered, but not remembered (an edit may have raced with cargo).
    assert_eq!(names(&metadata::workspace(root).unwrap()), [("one".into(), Some("first".into()))]);
    assert!(cached(root).is_none());
    settle(root);
    metadata::workspace(root).unwrap();
    assert_eq!(names(&cached(root).expect("remembered")), [("one".into(), Some("first".into()))]);

    // A member's manifest changes.
    member(root, "ext/a/one", "one", "edited");
    assert!(cached(root).is_none());
    assert_eq!(names(&metadata::workspace(root).unwrap())[0].1.as_deref(), Some("edited"));

    // A member appears under the glob, in a new category directory.
    settle(root);
    metadata::workspace(root).unwrap();
    member(root, "ext/b/two", "two", "second");
    assert!(cached(root).is_none());
    assert_eq!(names(&metadata::workspace(root).unwrap()).len(), 2);

    // A member disappears.
    settle(root);
    metadata::workspace(root).unwrap();
    fs::remove_dir_all(root.join("ext/a/one")).unwrap();
    assert!(cached(root).is_none());
    assert_eq!(names(&metadata::workspace(root).unwrap()), [("two".into(), Some("second".into()))]);

    // The root manifest changes.
    settle(root);
    metadata::workspace(root).unwrap();
    fs::write(root.join("Cargo.toml"), "[workspace]\nresolver = \"3\"\nmembers = [\"ext/b/*\"]\n").unwrap();
    assert!(cached(root).is_none());

    // A corrupt cache is only a miss.
    settle(root);
    metadata::workspace(root).unwrap();
    fs::write(metadata::cache_path(root), b"{not json").unwrap();
    assert!(cached(root).is_none());
    assert_eq!(names(&metadata::workspace(root).unwrap()).len(), 1);
}

/// A throwaway workspace with one extension whose metadata ends in `sbom`.
fn workspace_with(sbom: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("toolchain")).unwrap();
    std::fs::copy(xtask::workspace_root().join("toolchain/pin.toml"), root.join("toolchain/pin.toml")).unwrap();
    std::fs::write(root.join("Cargo.toml"), "[workspace]\nresolver = \"3\"\nmembers = [\"extensions/*/*\"]\n").unwrap();
    let ext = root.join("extensions/examples/demo");
    std::fs::create_dir_all(ext.join("src")).unwrap();
    std::fs::write(ext.join("src/lib.rs"), "//! demo\n").unwrap();
    std::fs::write(
        ext.join("Cargo.toml"),
        format!(
            "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
             [package.metadata.talos-extension]\ncategory = \"examples\"\ntier = \"core\"\nkind = \"c-build\"\n\
             author = \"t\"\ndescription = \"d\"\ncompatibility = \">= v1.0.0\"\narches = [\"amd64\"]\n\
             version = {{ format = \"upstream\", upstream = \"v1.0.0\" }}\n{sbom}"
        ),
    )
    .unwrap();
    tmp
}

#[test]
fn sbom_lint_fails_the_catalog_unless_exempt() {
    let ws = workspace_with("license = \"MIT\"\n");
    let err = Catalog::load(ws.path()).unwrap_err().to_string();
    assert!(err.contains("sbom metadata: cpes, purl: declare at least one CPE"), "{err}");
    assert!(err.contains("extensions/examples/demo/Cargo.toml"), "{err}");

    let ws = workspace_with("license = \"MIT\"\npurl = \"pkg:generic/demo@v1.0.0\"\n");
    assert_eq!(Catalog::load(ws.path()).unwrap().entries.len(), 1);

    let ws = workspace_with("sbom_exempt = \"configuration only\"\n");
    assert_eq!(Catalog::load(ws.path()).unwrap().entries.len(), 1);
}
