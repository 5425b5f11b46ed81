//! The toolchain cache: prepared trees in `<cache>/kernel/<toolchain>-<hash of inputs>/<arch>/<part>`.
//!
//! A part (`headers`, `image`, `src`) is made in `.<part>.partial` beside its final name and
//! renamed into place only when complete, with a stamp (`.talos-ext-prepared.json`) recording the
//! inputs it was made from. The directory name carries a hash of those inputs, so other inputs get
//! another directory; a directory whose stamp does not match the inputs asked for is an error,
//! never silently rebuilt. Concurrent preparations of one part (threads, processes) serialise on a
//! file lock next to it.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use talos_ext_model::Arch;

use crate::error::KernelError;

/// The stamp file inside a prepared part.
pub const STAMP: &str = ".talos-ext-prepared.json";

/// Version of the cache layout and preparation steps; part of every input hash.
const LAYOUT: &str = "talos-ext-kernel/1";

/// What a prepared part records.
#[derive(Debug, Serialize, Deserialize)]
struct Stamp {
    inputs: serde_json::Value,
    #[serde(default)]
    details: serde_json::Value,
}

/// The cache directory of one toolchain, input set and arch.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub dir: PathBuf,
    inputs: serde_json::Value,
}

/// Hex sha256 of the canonical JSON of `inputs` and the layout version.
pub(crate) fn inputs_hash(inputs: &serde_json::Value) -> String {
    let mut h = Sha256::new();
    h.update(LAYOUT.as_bytes());
    h.update(b"\n");
    h.update(inputs.to_string().as_bytes());
    hex::encode(h.finalize())
}

impl Slot {
    /// `<kernel_dir>/<toolchain>-<first 12 hex of the inputs hash>/<arch>`.
    pub(crate) fn new(kernel_dir: &Path, toolchain: &str, inputs: serde_json::Value, arch: Arch) -> Slot {
        let hash = inputs_hash(&inputs);
        let dir = kernel_dir.join(format!("{toolchain}-{}", &hash[..12])).join(arch.as_str());
        Slot { dir, inputs }
    }

    /// The final path of a part.
    pub(crate) fn part(&self, part: &str) -> PathBuf {
        self.dir.join(part)
    }

    /// Whether `part` is prepared from these inputs (no lock, no changes).
    pub(crate) fn is_ready(&self, part: &str) -> bool {
        read_stamp(&self.part(part)).is_some_and(|s| s.inputs == self.inputs)
    }

    /// Returns the prepared `part`, making it first with `make(partial_dir, final_dir)` when it
    /// is missing. `make` returns details to record in the stamp.
    pub(crate) fn ensure(
        &self,
        part: &str,
        make: impl FnOnce(&Path, &Path) -> Result<serde_json::Value, KernelError>,
    ) -> Result<PathBuf, KernelError> {
        let done = self.part(part);
        if self.check(&done)? {
            return Ok(done);
        }
        let _lock = talos_ext_fs::lock_file(&self.dir.join(format!(".{part}.lock")))?;
        if self.check(&done)? {
            return Ok(done);
        }
        if done.exists() {
            // No stamp: not made by a completed preparation (renames happen only when complete).
            remove_tree(&done)?;
        }
        let partial = self.dir.join(format!(".{part}.partial"));
        remove_tree(&partial)?;
        fs::create_dir_all(&partial).map_err(KernelError::io("create directory", &partial))?;
        let details = match make(&partial, &done) {
            Ok(d) => d,
            Err(e) => {
                let _ = remove_tree(&partial);
                return Err(e);
            }
        };
        let stamp = Stamp { inputs: self.inputs.clone(), details };
        let stamp_path = partial.join(STAMP);
        let text = serde_json::to_string_pretty(&stamp).map_err(|e| KernelError::Layout {
            toolchain: String::new(),
            path: stamp_path.clone(),
            message: e.to_string(),
        })?;
        fs::write(&stamp_path, text).map_err(KernelError::io("write", &stamp_path))?;
        fs::rename(&partial, &done).map_err(KernelError::io("rename into place", &done))?;
        Ok(done)
    }

    /// `Ok(true)` when `done` is prepared from these inputs; an error when from others.
    fn check(&self, done: &Path) -> Result<bool, KernelError> {
        match read_stamp(done) {
            Some(stamp) if stamp.inputs == self.inputs => Ok(true),
            Some(stamp) => Err(KernelError::StaleCache {
                dir: done.to_path_buf(),
                recorded: stamp.inputs.to_string(),
                wanted: self.inputs.to_string(),
            }),
            None => Ok(false),
        }
    }
}

fn read_stamp(done: &Path) -> Option<Stamp> {
    let text = fs::read_to_string(done.join(STAMP)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Removes a directory tree; a missing one is fine.
pub(crate) fn remove_tree(dir: &Path) -> Result<(), KernelError> {
    Ok(talos_ext_fs::remove_dir_if_exists(dir)?)
}

/// Bytes used by the files below `path` (symlinks count as themselves, not followed).
pub fn disk_usage(path: &Path) -> u64 {
    let Ok(meta) = fs::symlink_metadata(path) else { return 0 };
    if !meta.is_dir() {
        return meta.len();
    }
    fs::read_dir(path).map(|entries| entries.filter_map(Result::ok).map(|e| disk_usage(&e.path())).sum()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_made_once_and_stale_ones_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let slot = Slot::new(tmp.path(), "tc", serde_json::json!({"abi": "1"}), Arch::Amd64);
        let mut runs = 0;
        let dir = slot
            .ensure("headers", |partial, _| {
                runs += 1;
                fs::write(partial.join("x"), "1").unwrap();
                Ok(serde_json::json!({"n": 1}))
            })
            .unwrap();
        assert!(dir.join("x").is_file() && slot.is_ready("headers"));
        slot.ensure("headers", |_, _| panic!("made twice")).unwrap();
        assert_eq!(runs, 1);
        // Another input set gets another directory.
        let other = Slot::new(tmp.path(), "tc", serde_json::json!({"abi": "2"}), Arch::Amd64);
        assert_ne!(other.dir, slot.dir);
        // A directory whose stamp records other inputs is refused.
        let forged = Slot { dir: slot.dir.clone(), inputs: serde_json::json!({"abi": "3"}) };
        let e = forged.ensure("headers", |_, _| Ok(serde_json::Value::Null)).unwrap_err().to_string();
        assert!(e.contains("different inputs") && e.contains("\"abi\":\"1\""), "{e}");
        // A failed preparation leaves nothing behind.
        let failed = slot.ensure("image", |partial, _| {
            fs::write(partial.join("half"), "x").unwrap();
            Err(KernelError::Key { toolchain: "tc".into(), message: "boom".into() })
        });
        assert!(failed.is_err());
        assert!(!slot.part("image").exists() && !slot.dir.join(".image.partial").exists());
    }
}
