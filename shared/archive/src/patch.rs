//! Applying patch files to an unpacked source tree with GNU `patch`, in a fixed order.
//!
//! Each patch runs as `patch -p1 --forward --batch --no-backup-if-mismatch -r - -s -i <patch>`
//! with the source tree as the working directory and the runner's clean environment (`LC_ALL=C`,
//! none of the caller's `POSIXLY_CORRECT`/`VERSION_CONTROL`/`SIMPLE_BACKUP_SUFFIX`), so a patch
//! that was already applied, or whose hunks do not match, fails instead of prompting, and neither
//! `.orig` nor `.rej` files are left behind. Output is captured and returned in the error. This module does
//! not order patches beyond [`find_patches`]'s file-name sort, and does not check them in advance.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use talos_ext_process::Command;

use crate::PatchError;

/// The program run to apply patches (GNU `patch`, looked up on `PATH`).
pub const PATCH_PROGRAM: &str = "patch";

/// Returns the `*.patch` files directly in `dir`, sorted by file name; empty if `dir` is missing
/// or unreadable.
pub fn find_patches(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut patches: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension() == Some(OsStr::new("patch")) && path.is_file())
        .collect();
    patches.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    patches
}

/// Applies `patches` to `source_dir` in order, stopping at the first that fails.
///
/// Earlier patches stay applied when a later one fails; callers that need all-or-nothing should
/// unpack again.
pub fn apply_patches(source_dir: &Path, patches: &[PathBuf]) -> Result<(), PatchError> {
    let resolve =
        |path: &Path| fs::canonicalize(path).map_err(|source| PatchError::Resolve { path: path.to_path_buf(), source });
    let dir = resolve(source_dir)?;
    for patch in patches {
        // Absolute, because `patch` runs in the source tree.
        let patch_file = resolve(patch)?;
        let output = Command::new(PATCH_PROGRAM)
            .args(["-p1", "--forward", "--batch", "--no-backup-if-mismatch", "-r", "-", "-s", "-i"])
            .arg(&patch_file)
            .dir(&dir)
            .hint("install GNU patch (`apt-get install patch`)")
            .output_unchecked()
            .map_err(|cause| PatchError::Spawn { patch: patch.clone(), cause })?;
        if !output.status.success() {
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stderr));
            return Err(PatchError::Failed {
                patch: patch.clone(),
                source_dir: source_dir.to_path_buf(),
                status: output.status,
                output: text.trim_end().to_owned(),
            });
        }
    }
    Ok(())
}
