//! `cargo metadata --no-deps` for the catalog, remembered between commands.
//!
//! Running it costs a cargo start-up (about 20 ms, a sixth of a no-op `cargo xtask build`), and
//! its answer depends only on the workspace's manifests. So the answer is kept in
//! `<target>/xtask/metadata.json` with the identity (mtime, size, inode) of every file and
//! directory it was derived from: the root `Cargo.toml`, each member's `Cargo.toml`, and each
//! member directory with its parents below the root (a member added, removed or renamed under a
//! glob changes one of those directories). Any difference, or an unreadable cache, runs cargo
//! again. An answer is remembered only when all of them are older than the `cargo metadata` run
//! (by a second), so an edit made while cargo was reading cannot hide behind it. Writing the
//! cache is best effort and atomic; it never fails a command.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use cargo_metadata::{Metadata, MetadataCommand};
use serde::{Deserialize, Serialize};

/// What a cached answer was derived from: a path and its identity when it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Input {
    path: PathBuf,
    stamp: Option<(i64, i64, u64, u64)>,
}

impl Input {
    fn read(path: &Path) -> Input {
        let stamp = fs::metadata(path).ok().map(|m| (m.mtime(), m.mtime_nsec(), m.size(), m.ino()));
        Input { path: path.to_path_buf(), stamp }
    }

    fn older_than(&self, t: SystemTime) -> bool {
        self.stamp.is_some_and(|(secs, nanos, _, _)| {
            let mtime = u64::try_from(secs).ok().map(|s| UNIX_EPOCH + Duration::new(s, nanos as u32));
            mtime.is_some_and(|m| m < t)
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Cached {
    inputs: Vec<Input>,
    metadata: Metadata,
}

/// Where the answer for the workspace at `root` is kept.
pub fn cache_path(root: &Path) -> PathBuf {
    crate::state_dir(root).join("metadata.json")
}

/// The workspace's metadata (no dependencies resolved), from the cache when it is current.
pub fn workspace(root: &Path) -> Result<Metadata> {
    let cache = cache_path(root);
    if let Some(metadata) = read_cache(root, &cache) {
        return Ok(metadata);
    }
    let manifest = root.join("Cargo.toml");
    let started = SystemTime::now();
    let metadata =
        MetadataCommand::new().manifest_path(&manifest).no_deps().exec().context("running `cargo metadata`")?;
    let inputs = inputs(root, &metadata);
    if inputs.iter().all(|i| i.older_than(started - Duration::from_secs(1))) {
        let tmp = cache.with_extension(format!("tmp{}", std::process::id()));
        let written = cache.parent().is_some_and(|d| fs::create_dir_all(d).is_ok())
            && serde_json::to_vec(&Cached { inputs, metadata: metadata.clone() })
                .is_ok_and(|bytes| fs::write(&tmp, bytes).is_ok());
        if !written || fs::rename(&tmp, &cache).is_err() {
            let _ = fs::remove_file(&tmp);
        }
    }
    Ok(metadata)
}

/// The remembered answer for the workspace at `root`, if every input is as it was.
pub fn cached(root: &Path) -> Option<Metadata> {
    read_cache(root, &cache_path(root))
}

/// The cached answer if it is for the workspace at `root` (a target directory copied from, or
/// shared with, another checkout holds that checkout's answer) and every input is as it was.
fn read_cache(root: &Path, cache: &Path) -> Option<Metadata> {
    let cached: Cached = serde_json::from_slice(&fs::read(cache).ok()?).ok()?;
    let same_workspace =
        fs::canonicalize(cached.metadata.workspace_root.as_std_path()).ok()? == fs::canonicalize(root).ok()?;
    let current = same_workspace && cached.inputs.iter().all(|i| Input::read(&i.path) == *i);
    current.then_some(cached.metadata)
}

/// The root manifest first, then the members' manifests and the directories down to them.
fn inputs(root: &Path, metadata: &Metadata) -> Vec<Input> {
    let mut paths = BTreeSet::new();
    for pkg in metadata.workspace_packages() {
        let manifest = pkg.manifest_path.as_std_path();
        paths.insert(manifest.to_path_buf());
        let mut dir = manifest.parent();
        // The root directory itself is left out: it changes with every file made at the top
        // (`_out/`, `Cargo.lock`), and a member glob at the top is a root manifest edit anyway.
        while let Some(d) = dir.filter(|d| d.starts_with(root) && *d != root) {
            paths.insert(d.to_path_buf());
            dir = d.parent();
        }
    }
    let manifest = root.join("Cargo.toml");
    paths.remove(&manifest);
    std::iter::once(manifest).chain(paths).map(|p| Input::read(&p)).collect()
}
