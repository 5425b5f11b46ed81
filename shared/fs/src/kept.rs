//! Kept directories: build directories that outlive the process that made them and are shared by
//! processes, each `<parent>/<name>/` used only while its lock file `<parent>/<name>.lock` is
//! held, with the time of its last use in `<parent>/<name>.used` (seconds since the epoch). The
//! tests' shared stages are kept directories; [`prune`] removes those nobody holds and nobody used
//! recently. Lock files stay (see [`crate::lock_file`]).

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{FsError, fs_err, lock_file, remove_dir_if_exists, remove_if_exists, sorted_entries};

/// A kept directory, locked for as long as this value lives.
#[derive(Debug)]
pub struct KeptDir {
    dir: PathBuf,
    _lock: File,
}

impl KeptDir {
    /// Locks `<parent>/<name>` (blocking until no other process holds it), records this use and
    /// returns it; the directory itself is not created.
    pub fn lock(parent: &Path, name: &str) -> Result<KeptDir, FsError> {
        let lock = lock_file(&parent.join(format!("{name}.lock")))?;
        let used = parent.join(format!("{name}.used"));
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        fs::write(&used, format!("{now}\n")).map_err(fs_err("write", &used))?;
        Ok(KeptDir { dir: parent.join(name), _lock: lock })
    }

    /// `<parent>/<name>`.
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

/// The suffix of a directory [`prune`] is removing (`.<name>.pruning`).
const PRUNING: &str = ".pruning";

/// What [`prune`] did with one kept directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Removed (or, in a dry run, would be).
    Removed,
    /// Left alone: used within the period.
    Recent,
    /// Left alone: another process holds its lock.
    InUse,
}

/// One kept directory [`prune`] looked at.
#[derive(Debug, Clone)]
pub struct Pruned {
    pub name: String,
    /// Its size on disk (allocated blocks).
    pub bytes: u64,
    /// When it was last used, when known (its `.used` record, else the directory's own time).
    pub last_used: Option<SystemTime>,
    pub outcome: Outcome,
}

/// Removes the kept directories under `parent` that no process holds and that were last used
/// before `unused_for` ago (all of them with `None`), each under its lock; with `dry_run` only
/// says which. Entries that are not kept directories (no lock file beside them) are left alone.
/// A missing `parent` has none.
pub fn prune(parent: &Path, unused_for: Option<Duration>, dry_run: bool) -> Result<Vec<Pruned>, FsError> {
    if !parent.is_dir() {
        return Ok(Vec::new());
    }
    let cutoff = unused_for.map(|d| SystemTime::now().checked_sub(d).unwrap_or(UNIX_EPOCH));
    let mut pruned = Vec::new();
    for entry in sorted_entries(parent)? {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if file_name.starts_with('.') && file_name.ends_with(PRUNING) && !dry_run {
            // What an earlier prune could not finish removing.
            remove_dir_if_exists(&entry.path())?;
            continue;
        }
        let Some(name) = file_name.strip_suffix(".lock") else { continue };
        let dir = parent.join(name);
        if !dir.is_dir() {
            continue;
        }
        let lock_path = entry.path();
        let lock = File::options().write(true).open(&lock_path).map_err(fs_err("open lock file", &lock_path))?;
        let bytes = disk_usage(&dir)?;
        let last_used = last_used(parent, name, &dir);
        let outcome = match lock.try_lock() {
            Err(fs::TryLockError::WouldBlock) => Outcome::InUse,
            Err(fs::TryLockError::Error(e)) => return Err(fs_err("lock", &lock_path)(e)),
            Ok(()) if cutoff.is_some_and(|c| last_used.is_some_and(|t| t >= c)) => Outcome::Recent,
            Ok(()) => {
                if !dry_run {
                    // Renamed away first (under the lock): a removal that fails half-way leaves
                    // no half-removed stage under the kept name, only a leftover the next prune
                    // removes.
                    let doomed = parent.join(format!(".{name}{PRUNING}"));
                    remove_dir_if_exists(&doomed)?;
                    fs::rename(&dir, &doomed).map_err(fs_err("rename", &dir))?;
                    remove_if_exists(&parent.join(format!("{name}.used")))?;
                    remove_dir_if_exists(&doomed)?;
                }
                Outcome::Removed
            }
        };
        pruned.push(Pruned { name: name.to_string(), bytes, last_used, outcome });
    }
    Ok(pruned)
}

/// The last recorded use of `<parent>/<name>`: its `.used` record, else the directory's mtime.
fn last_used(parent: &Path, name: &str, dir: &Path) -> Option<SystemTime> {
    let recorded = fs::read_to_string(parent.join(format!("{name}.used")))
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok())
        .map(|secs| UNIX_EPOCH + Duration::from_secs(secs));
    recorded.or_else(|| fs::metadata(dir).and_then(|m| m.modified()).ok())
}

/// The disk space a tree takes (allocated blocks, as `du` counts them; symlinks not followed).
/// The tree may be in use (a running test's stage): what vanishes during the walk counts as 0.
pub fn disk_usage(path: &Path) -> Result<u64, FsError> {
    use std::os::unix::fs::MetadataExt;
    let gone = |e: &io::Error| e.kind() == io::ErrorKind::NotFound;
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if gone(&e) => return Ok(0),
        Err(e) => return Err(fs_err("read metadata of", path)(e)),
    };
    let mut total = meta.blocks() * 512;
    if meta.is_dir() {
        let entries = match fs::read_dir(path) {
            Ok(entries) => entries,
            Err(e) if gone(&e) => return Ok(total),
            Err(e) => return Err(fs_err("read directory", path)(e)),
        };
        for entry in entries {
            match entry {
                Ok(entry) => total += disk_usage(&entry.path())?,
                Err(e) if gone(&e) => {}
                Err(e) => return Err(fs_err("read directory", path)(e)),
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(parent: &Path, name: &str) -> KeptDir {
        let kept = KeptDir::lock(parent, name).unwrap();
        fs::create_dir_all(kept.path().join("work")).unwrap();
        fs::write(kept.path().join("work/file"), vec![7u8; 10_000]).unwrap();
        kept
    }

    fn outcomes(pruned: &[Pruned]) -> Vec<(&str, Outcome)> {
        pruned.iter().map(|p| (p.name.as_str(), p.outcome.clone())).collect()
    }

    #[test]
    fn prune_removes_idle_directories_and_leaves_held_recent_and_unkept_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let parent = tmp.path();
        drop(kept(parent, "idle"));
        let held = kept(parent, "held");
        drop(kept(parent, "recent"));
        fs::create_dir(parent.join("not-kept")).unwrap();
        // `idle` was last used two days ago.
        let two_days_ago = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() - 2 * 86_400;
        fs::write(parent.join("idle.used"), format!("{two_days_ago}\n")).unwrap();

        let day = Some(Duration::from_secs(86_400));
        let dry = prune(parent, day, true).unwrap();
        assert_eq!(outcomes(&dry), [("held", Outcome::InUse), ("idle", Outcome::Removed), ("recent", Outcome::Recent)]);
        assert!(parent.join("idle/work/file").is_file(), "a dry run removes nothing");
        assert!(dry.iter().all(|p| p.bytes >= 10_000), "{dry:?}");

        prune(parent, day, false).unwrap();
        assert!(!parent.join("idle").exists() && !parent.join("idle.used").exists());
        assert!(parent.join("idle.lock").is_file(), "lock files stay");
        assert!(parent.join("recent/work/file").is_file() && parent.join("held/work/file").is_file());
        assert!(parent.join("not-kept").is_dir());

        // Without a period everything idle goes; the held one stays until it is released.
        let all = prune(parent, None, false).unwrap();
        assert_eq!(outcomes(&all), [("held", Outcome::InUse), ("recent", Outcome::Removed)]);
        drop(held);
        assert_eq!(outcomes(&prune(parent, None, false).unwrap()), [("held", Outcome::Removed)]);
        assert!(prune(&parent.join("missing"), None, false).unwrap().is_empty());

        // A removal an earlier prune could not finish is finished by the next one.
        fs::create_dir_all(parent.join(".gone.pruning/work")).unwrap();
        assert!(prune(parent, None, false).unwrap().is_empty());
        assert!(!parent.join(".gone.pruning").exists());
    }

    #[test]
    fn a_use_is_recorded_and_the_directory_is_locked_while_held() {
        let tmp = tempfile::tempdir().unwrap();
        let first = KeptDir::lock(tmp.path(), "stage").unwrap();
        assert_eq!(first.path(), tmp.path().join("stage"));
        let recorded: u64 = fs::read_to_string(tmp.path().join("stage.used")).unwrap().trim().parse().unwrap();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        assert!(now.abs_diff(recorded) < 60, "recorded {recorded}, now {now}");
        let other = File::options().write(true).open(tmp.path().join("stage.lock")).unwrap();
        assert!(matches!(other.try_lock(), Err(fs::TryLockError::WouldBlock)));
        drop(first);
        other.try_lock().unwrap();
    }
}
