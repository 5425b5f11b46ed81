//! What a test staging says it built from: only the pinned sources the recipe fetched count as
//! built from their pins; a pinned source the recipe never asked for is reported as unused.

use sha2::Digest;
use talos_ext_build::Arch;
use talos_ext_build::prelude::*;
use talos_ext_build::testing::{TestOptions, stage_meta_with};

/// Takes source `used` and installs it as a data file; never asks for `unused`.
fn recipe(s: &mut Stage) -> Result<()> {
    let file = s.source_file("used")?;
    s.install(&file, "usr/local/share/fetched-test/used.txt", 0o644)
}

fn meta(used: &str, used512: &str, unused: &str) -> String {
    format!(
        r#"
category = "examples"
tier = "core"
kind = "c-build"
author = "talos-ext-build tests"
description = "Fetched-sources test"
arches = ["amd64"]
version = {{ format = "upstream", upstream = "v0.0.0" }}
license = "MPL-2.0"
sbom_exempt = "a test fixture"

[[sources]]
name = "used"
url = "https://example.invalid/used.txt"
sha256 = "{used}"
sha512 = "{used512}"

[[sources]]
name = "unused"
url = "https://example.invalid/unused.txt"
sha256 = "{unused}"
sha512 = "{}"
"#,
        "1".repeat(128)
    )
}

#[test]
fn only_fetched_sources_count_as_built_from_their_pins() {
    let tmp = tempfile::tempdir().unwrap();
    let used = tmp.path().join("used.txt");
    std::fs::write(&used, "the used source\n").unwrap();
    let bytes = std::fs::read(&used).unwrap();
    let (sha, sha512) = (hex::encode(sha2::Sha256::digest(&bytes)), hex::encode(sha2::Sha512::digest(&bytes)));
    let opts = TestOptions::offline_mirror(&tmp.path().join("fetch"), &[(&used, &sha)]).unwrap();
    let s = stage_meta_with("fetched-test", &meta(&sha, &sha512, &"1".repeat(64)), recipe, Arch::Amd64, &opts)
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(s.fetched_sources.as_deref(), Some(&["used".to_string()][..]));
    assert!(s.overridden_sources.is_empty());
    assert_eq!(
        std::fs::read_to_string(s.rootfs("usr/local/share/fetched-test/used.txt")).unwrap(),
        "the used source\n"
    );
}
