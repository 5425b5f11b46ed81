//! Patches are found by name order and applied in that order with GNU `patch`; a failing hunk is
//! an error naming the patch file and carrying `patch`'s own output.

use std::fs;
use std::path::{Path, PathBuf};

use talos_ext_archive::{PatchError, apply_patches, find_patches};

const ORIGINAL: &str = "one\ntwo\nthree\n";

/// `two` → `TWO`.
const FIRST: &str = "\
--- a/greeting.txt
+++ b/greeting.txt
@@ -1,3 +1,3 @@
 one
-two
+TWO
 three
";

/// `TWO` → `TWO and a half` (only applies after FIRST).
const SECOND: &str = "\
--- a/greeting.txt
+++ b/greeting.txt
@@ -1,3 +1,3 @@
 one
-TWO
+TWO and a half
 three
";

/// Expects a line that is not there.
const BROKEN: &str = "\
--- a/greeting.txt
+++ b/greeting.txt
@@ -1,3 +1,3 @@
 one
-zwei
+ZWEI
 three
";

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("src")).unwrap();
        fs::create_dir_all(dir.path().join("patches")).unwrap();
        fs::write(dir.path().join("src/greeting.txt"), ORIGINAL).unwrap();
        Fixture { dir }
    }

    fn src(&self) -> PathBuf {
        self.dir.path().join("src")
    }

    fn patch(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join("patches").join(name);
        fs::write(&path, text).unwrap();
        path
    }

    fn greeting(&self) -> String {
        fs::read_to_string(self.src().join("greeting.txt")).unwrap()
    }

    /// File names in the source tree (to catch stray `.orig`/`.rej` files).
    fn src_files(&self) -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(self.src()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    }
}

#[test]
fn good_patch_applies() {
    let fx = Fixture::new();
    let patch = fx.patch("0001-shout.patch", FIRST);
    apply_patches(&fx.src(), &[patch]).unwrap();
    assert_eq!(fx.greeting(), "one\nTWO\nthree\n");
    assert_eq!(fx.src_files(), ["greeting.txt"]);
}

#[test]
fn patches_apply_in_order() {
    let fx = Fixture::new();
    fx.patch("0002-half.patch", SECOND);
    fx.patch("0001-shout.patch", FIRST);
    let patches = find_patches(&fx.dir.path().join("patches"));
    apply_patches(&fx.src(), &patches).unwrap();
    assert_eq!(fx.greeting(), "one\nTWO and a half\nthree\n");
}

#[test]
fn wrong_order_fails_on_the_dependent_patch() {
    let fx = Fixture::new();
    let first = fx.patch("0001-shout.patch", FIRST);
    let second = fx.patch("0002-half.patch", SECOND);
    let err = apply_patches(&fx.src(), &[second.clone(), first]).unwrap_err();
    match err {
        PatchError::Failed { patch, .. } => assert_eq!(patch, second),
        other => panic!("{other:?}"),
    }
    assert_eq!(fx.greeting(), ORIGINAL);
}

#[test]
fn failing_hunk_names_the_patch_and_keeps_output() {
    let fx = Fixture::new();
    let good = fx.patch("0001-shout.patch", FIRST);
    let broken = fx.patch("0002-broken.patch", BROKEN);
    let err = apply_patches(&fx.src(), &[good, broken.clone()]).unwrap_err();
    let message = err.to_string();
    match &err {
        PatchError::Failed { patch, source_dir, output, status } => {
            assert_eq!(patch, &broken);
            assert_eq!(source_dir, &fx.src());
            assert!(!status.success());
            assert!(output.contains("FAILED"), "{output}");
        }
        other => panic!("{other:?}"),
    }
    assert!(message.starts_with(&format!("patch `{}` does not apply to `{}`", broken.display(), fx.src().display())));
    assert!(message.contains("1 out of 1 hunk FAILED"), "{message}");
    // The first patch stays applied, and no `.orig` or `.rej` files are left behind.
    assert_eq!(fx.greeting(), "one\nTWO\nthree\n");
    assert_eq!(fx.src_files(), ["greeting.txt"]);
}

#[test]
fn already_applied_patch_fails_instead_of_reversing() {
    let fx = Fixture::new();
    let first = fx.patch("0001-shout.patch", FIRST);
    apply_patches(&fx.src(), std::slice::from_ref(&first)).unwrap();
    let err = apply_patches(&fx.src(), &[first]).unwrap_err();
    assert!(matches!(err, PatchError::Failed { .. }), "{err:?}");
    assert_eq!(fx.greeting(), "one\nTWO\nthree\n");
}

#[test]
fn missing_patch_file() {
    let fx = Fixture::new();
    let err = apply_patches(&fx.src(), &[fx.dir.path().join("nope.patch")]).unwrap_err();
    assert!(matches!(err, PatchError::Resolve { .. }), "{err:?}");
}

#[test]
fn find_patches_sorts_by_file_name_and_filters() {
    let fx = Fixture::new();
    for name in ["10-late.patch", "0002-b.patch", "0001-a.patch", "notes.txt", "0003.patch.orig"] {
        fx.patch(name, FIRST);
    }
    fs::create_dir(fx.dir.path().join("patches/dir.patch")).unwrap();
    let names: Vec<String> = find_patches(&fx.dir.path().join("patches"))
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["0001-a.patch", "0002-b.patch", "10-late.patch"]);
    assert!(find_patches(Path::new("/nonexistent/talos-ext-archive/patches")).is_empty());
}
