//! Running a recipe from an extension's own tests, outside cargo's build-script environment.
//!
//! An extension's test includes its `build.rs` as a module and calls [`stage`] with the recipe;
//! the tree is staged, given its manifest and validated exactly as in `cargo xtask build`, into
//! a temporary directory that lives as long as the returned [`Staged`].

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use talos_ext_model::{Arch, ExtensionMeta, PIN_PATH, Pin};

use crate::script::{Recipe, StageContext, load_meta, stage_arch};
use crate::stage::Stage;

/// A staged tree in a temporary directory.
#[derive(Debug)]
pub struct Staged {
    /// The extension tree (`manifest.yaml` + `rootfs/`).
    pub dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Staged {
    /// A path inside the rootfs (`usr/local/...`).
    pub fn rootfs(&self, rel: &str) -> PathBuf {
        self.dir.join("rootfs").join(rel)
    }
}

/// Fixed `SOURCE_DATE_EPOCH` for tests.
pub const TEST_EPOCH: u64 = 1_700_000_000;

/// Stages `recipe` for `arch`; `manifest_dir` is the extension crate (`env!("CARGO_MANIFEST_DIR")`).
pub fn stage(manifest_dir: &str, recipe: Recipe, arch: Arch) -> Result<Staged> {
    let manifest_dir = Path::new(manifest_dir);
    let root = Pin::find_workspace_root(manifest_dir)
        .with_context(|| format!("no {PIN_PATH} above {}", manifest_dir.display()))?;
    let tmp = tempfile::Builder::new().prefix("talos-ext-test-").tempdir().context("creating a temp dir")?;
    let ctx = StageContext {
        meta: load_meta(manifest_dir)?,
        pin: Pin::load(&root)?,
        manifest_dir: manifest_dir.to_path_buf(),
        out_dir: tmp.path().to_path_buf(),
        source_date_epoch: TEST_EPOCH,
    };
    let dir = stage_arch(&ctx, arch, recipe, &tmp.path().join(arch.as_str()))?;
    Ok(Staged { dir, _tmp: tmp })
}

/// The metadata of [`scratch_stage`]'s stage.
const SCRATCH_META: &str = r#"
category = "examples"
tier = "core"
kind = "c-build"
author = "talos-ext-build tests"
description = "Scratch stage for driver tests"
arches = ["amd64", "arm64"]
version = { format = "upstream", upstream = "v0.0.0" }
license = "MPL-2.0"
"#;

/// A bare [`Stage`] for `arch` in a new temporary directory (rootfs and work dir inside it),
/// with placeholder metadata and the workspace's pin, for testing build steps and drivers
/// without an extension crate. Nothing is validated. The stage lives as long as the `TempDir`.
pub fn scratch_stage(arch: Arch) -> Result<(tempfile::TempDir, Stage)> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = Pin::find_workspace_root(here).with_context(|| format!("no {PIN_PATH} above {}", here.display()))?;
    let tmp = tempfile::Builder::new().prefix("talos-ext-scratch-").tempdir().context("creating a temp dir")?;
    let stage_root = tmp.path().join("stage");
    let work = tmp.path().join("work");
    for dir in [stage_root.join("rootfs"), work.clone()] {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let stage = Stage {
        arch,
        meta: ExtensionMeta::from_toml_str("scratch", SCRATCH_META)?,
        pin: Pin::load(&root)?,
        manifest_dir: here.to_path_buf(),
        root: stage_root,
        work,
        source_date_epoch: TEST_EPOCH,
    };
    Ok((tmp, stage))
}
