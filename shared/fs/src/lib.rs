//! The file-system operations several engine crates need, once: removing a tree that may not
//! exist, emptying a directory, copying a tree fresh or merging it over another, taking an
//! exclusive lock file, making a directory once ([`make_once`]), and [`kept`] directories shared
//! between processes. Every error is an [`FsError`] naming the action and the path.
//!
//! Copies keep what matters for staged trees and build directories: file contents and modes,
//! symlinks as symlinks (never followed), directories recursively; owners and times are not
//! copied (staged trees get fixed ones when they are packed). Walks are sorted by file name, so
//! the order of operations (and of any error) does not depend on the file system.

pub mod kept;

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

/// A file-system operation that failed.
#[derive(Debug, thiserror::Error)]
#[error("could not {action} `{}`: {cause}", path.display())]
pub struct FsError {
    /// What was being done (`remove`, `copy to`, `lock`, ...).
    pub action: &'static str,
    pub path: PathBuf,
    pub cause: io::Error,
}

/// `map_err` helper: `fs::read(p).map_err(fs_err("read", p))`.
pub fn fs_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> FsError + use<> {
    let path = path.to_path_buf();
    move |cause| FsError { action, path, cause }
}

/// Removes a directory tree; a missing one is fine.
pub fn remove_dir_if_exists(dir: &Path) -> Result<(), FsError> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(fs_err("remove", dir)(e)),
    }
}

/// Removes whatever is at `path` (a tree, a file or a symlink, never following it); a missing
/// one is fine.
pub fn remove_if_exists(path: &Path) -> Result<(), FsError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => remove_dir_if_exists(path),
        Ok(_) => match fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(fs_err("remove", path)(e)),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(fs_err("inspect", path)(e)),
    }
}

/// Makes `dir` an empty directory (removing what was there, creating it and its parents).
pub fn empty_dir(dir: &Path) -> Result<(), FsError> {
    remove_dir_if_exists(dir)?;
    fs::create_dir_all(dir).map_err(fs_err("create directory", dir))
}

/// The entries of a directory, sorted by file name.
pub fn sorted_entries(dir: &Path) -> Result<Vec<fs::DirEntry>, FsError> {
    let mut entries: Vec<fs::DirEntry> = fs::read_dir(dir)
        .map_err(fs_err("read directory", dir))?
        .collect::<io::Result<_>>()
        .map_err(fs_err("read directory", dir))?;
    entries.sort_by_key(|e| e.file_name());
    Ok(entries)
}

/// Gives every regular file below `dir` (at any depth; symlinks are not followed) the
/// modification time `time`.
pub fn set_file_mtimes(dir: &Path, time: std::time::SystemTime) -> Result<(), FsError> {
    for entry in sorted_entries(dir)? {
        let path = entry.path();
        let kind = entry.file_type().map_err(fs_err("inspect", &path))?;
        if kind.is_dir() {
            set_file_mtimes(&path, time)?;
        } else if kind.is_file() {
            // Setting times needs ownership, not write access: read-only files work too.
            let file = File::open(&path).map_err(fs_err("open", &path))?;
            file.set_modified(time).map_err(fs_err("set the modification time of", &path))?;
        }
    }
    Ok(())
}

/// Copies the tree `from` to `to`, which must not exist yet (see the crate docs for what is kept).
pub fn copy_tree(from: &Path, to: &Path) -> Result<(), FsError> {
    if fs::symlink_metadata(to).is_ok() {
        return Err(fs_err("copy a tree to", to)(io::Error::from(io::ErrorKind::AlreadyExists)));
    }
    merge_tree(from, to, |_| false)
}

/// Copies the tree `from` over `into`: directories are merged, files and symlinks replace what
/// is there. Entries whose file name `skip` accepts (at any depth) are left out.
pub fn merge_tree(from: &Path, into: &Path, skip: impl Fn(&OsStr) -> bool + Copy) -> Result<(), FsError> {
    fs::create_dir_all(into).map_err(fs_err("create directory", into))?;
    let mode = fs::metadata(from).map_err(fs_err("inspect", from))?.permissions();
    fs::set_permissions(into, mode).map_err(fs_err("set the mode of", into))?;
    for entry in sorted_entries(from)? {
        let name = entry.file_name();
        if skip(&name) {
            continue;
        }
        let (src, dst) = (entry.path(), into.join(&name));
        let kind = entry.file_type().map_err(fs_err("inspect", &src))?;
        if kind.is_dir() {
            if fs::symlink_metadata(&dst).is_ok_and(|m| !m.is_dir()) {
                remove_if_exists(&dst)?;
            }
            merge_tree(&src, &dst, skip)?;
            continue;
        }
        if fs::symlink_metadata(&dst).is_ok() {
            remove_if_exists(&dst)?;
        }
        if kind.is_symlink() {
            let target = fs::read_link(&src).map_err(fs_err("read link", &src))?;
            std::os::unix::fs::symlink(&target, &dst).map_err(fs_err("create link", &dst))?;
        } else {
            fs::copy(&src, &dst).map_err(fs_err("copy to", &dst))?;
        }
    }
    Ok(())
}

/// Opens (creating it and its directory) and exclusively locks `path`, blocking until no other
/// process holds it; the lock is released when the file is dropped. Lock files are never
/// deleted: deleting one could let two processes lock different files of the same name.
pub fn lock_file(path: &Path) -> Result<File, FsError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(fs_err("create directory", dir))?;
    }
    let file =
        File::options().create(true).truncate(false).write(true).open(path).map_err(fs_err("open lock file", path))?;
    file.lock().map_err(fs_err("lock", path))?;
    Ok(file)
}

/// Returns `dir`, making it first when it does not exist: under the lock `<dir>.lock` (so
/// concurrent callers make it once and the others wait for it), `make` fills a fresh
/// `.<name>.partial` beside it, which is renamed to `dir` only when `make` succeeded. A `dir` that
/// exists is therefore complete; a failed or interrupted `make` leaves nothing under its name
/// (its partial directory is removed, or by the next call).
pub fn make_once<E: From<FsError>>(dir: &Path, make: impl FnOnce(&Path) -> Result<(), E>) -> Result<PathBuf, E> {
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return Err(fs_err("make", dir)(io::Error::new(io::ErrorKind::InvalidInput, "no parent directory")).into());
    };
    let name = name.to_string_lossy();
    let _lock = lock_file(&parent.join(format!("{name}.lock")))?;
    if dir.is_dir() {
        return Ok(dir.to_path_buf());
    }
    let partial = parent.join(format!(".{name}.partial"));
    remove_dir_if_exists(&partial)?;
    fs::create_dir_all(&partial).map_err(fs_err("create directory", &partial))?;
    if let Err(e) = make(&partial) {
        let _ = remove_dir_if_exists(&partial);
        return Err(e);
    }
    fs::rename(&partial, dir).map_err(fs_err("rename into place", dir))?;
    Ok(dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tree(root: &Path) {
        fs::create_dir_all(root.join("a/b")).unwrap();
        fs::write(root.join("a/b/file"), "x").unwrap();
        fs::set_permissions(root.join("a/b/file"), fs::Permissions::from_mode(0o750)).unwrap();
        std::os::unix::fs::symlink("b/file", root.join("a/link")).unwrap();
        fs::write(root.join("skip.me"), "no").unwrap();
    }

    #[test]
    fn make_once_makes_a_directory_once_and_leaves_nothing_on_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("area/thing");
        let failed = make_once(&dir, |partial| {
            fs::write(partial.join("half"), "x").map_err(fs_err("write", partial))?;
            Err(fs_err("make", partial)(io::Error::other("planted failure")))
        });
        assert!(failed.unwrap_err().to_string().contains("planted failure"));
        assert!(!dir.exists() && !tmp.path().join("area/.thing.partial").exists());

        let mut calls = 0;
        for _ in 0..2 {
            let made = make_once::<FsError>(&dir, |partial| {
                calls += 1;
                fs::write(partial.join("file"), "made").map_err(fs_err("write", partial))
            })
            .unwrap();
            assert_eq!(made, dir);
        }
        assert_eq!(calls, 1, "the second call finds the directory made");
        assert_eq!(fs::read_to_string(dir.join("file")).unwrap(), "made");
        assert!(tmp.path().join("area/thing.lock").is_file());
    }
    #[test]
    fn set_file_mtimes_reaches_every_file_and_no_link() {
        let tmp = tempfile::tempdir().unwrap();
        tree(tmp.path());
        fs::set_permissions(tmp.path().join("skip.me"), fs::Permissions::from_mode(0o444)).unwrap();
        let link_before = fs::symlink_metadata(tmp.path().join("a/link")).unwrap().modified().unwrap();
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        set_file_mtimes(tmp.path(), time).unwrap();
        for file in ["a/b/file", "skip.me"] {
            assert_eq!(fs::metadata(tmp.path().join(file)).unwrap().modified().unwrap(), time, "{file}");
        }
        assert_eq!(fs::symlink_metadata(tmp.path().join("a/link")).unwrap().modified().unwrap(), link_before);
        let err = set_file_mtimes(&tmp.path().join("missing"), time).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn copy_keeps_modes_and_links_and_refuses_an_existing_target() {
        let tmp = tempfile::tempdir().unwrap();
        let (from, to) = (tmp.path().join("from"), tmp.path().join("to"));
        tree(&from);
        copy_tree(&from, &to).unwrap();
        assert_eq!(fs::read(to.join("a/b/file")).unwrap(), b"x");
        assert_eq!(fs::metadata(to.join("a/b/file")).unwrap().permissions().mode() & 0o777, 0o750);
        assert_eq!(fs::read_link(to.join("a/link")).unwrap(), Path::new("b/file"));
        let err = copy_tree(&from, &to).unwrap_err();
        assert!(err.to_string().contains("could not copy a tree to") && err.path == to, "{err}");
    }

    #[test]
    fn merge_replaces_files_keeps_others_and_skips() {
        let tmp = tempfile::tempdir().unwrap();
        let (from, into) = (tmp.path().join("from"), tmp.path().join("into"));
        tree(&from);
        fs::create_dir_all(into.join("a")).unwrap();
        fs::write(into.join("a/link"), "a file where the link goes").unwrap();
        fs::write(into.join("kept"), "k").unwrap();
        merge_tree(&from, &into, |n| n == "skip.me").unwrap();
        assert!(fs::symlink_metadata(into.join("a/link")).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(into.join("kept")).unwrap(), b"k");
        assert!(!into.join("skip.me").exists());
    }

    #[test]
    fn removing_and_emptying() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        remove_dir_if_exists(&dir).unwrap();
        remove_if_exists(&dir).unwrap();
        tree(&dir);
        empty_dir(&dir).unwrap();
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        fs::write(dir.join("f"), "").unwrap();
        remove_if_exists(&dir.join("f")).unwrap();
        remove_if_exists(&dir).unwrap();
        assert!(!dir.exists());
    }

    #[test]
    fn lock_files_exclude_each_other() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("locks/x.lock");
        let held = lock_file(&path).unwrap();
        let second = File::options().write(true).open(&path).unwrap();
        assert!(matches!(second.try_lock(), Err(fs::TryLockError::WouldBlock)));
        drop(held);
        assert!(second.try_lock().is_ok());
    }
}
