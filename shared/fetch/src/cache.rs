//! The on-disk cache layout and its primitives: initialisation, per-source locks and the atomic
//! move of a verified temp file into the store.
//!
//! ```text
//! <cache_dir>/
//!   CACHEDIR.TAG, .gitignore          written on first use
//!   sources-v1/sha256/<hex>           verified sources, content-addressed (a valid mirror root)
//!   locks/<hex>.lock                  exclusive file locks, one per source; never deleted
//!   tmp/.fetch-*                      in-progress transfers (same filesystem as the store);
//!                                     leftovers older than a day are swept on use
//! ```
//!
//! Bumping the `-v1` suffix of the bucket abandons every old entry. Files in the store are
//! trusted without re-hashing: they only get there by a rename after both sums matched.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::Duration;

use talos_ext_model::Sha256;
use tempfile::NamedTempFile;

use crate::config::FetchConfig;
use crate::error::FetchError;

const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by talos-ext-fetch.\n\
# For information about cache directory tags see https://bford.info/cachedir/\n";

/// Creates the cache layout if needed.
pub(crate) fn init(cfg: &FetchConfig) -> Result<(), FetchError> {
    let root = &cfg.cache_dir;
    for dir in [cfg.sources_dir().join("sha256"), root.join("locks"), temp_dir(cfg)] {
        fs::create_dir_all(&dir).map_err(FetchError::io("create directory", &dir))?;
    }
    for (name, content) in [("CACHEDIR.TAG", CACHEDIR_TAG), (".gitignore", "*\n")] {
        let path = root.join(name);
        if !path.exists() {
            // Concurrent writers write the same bytes, so a race is harmless.
            fs::write(&path, content).map_err(FetchError::io("write", &path))?;
        }
    }
    sweep_stale_temp_files(&temp_dir(cfg));
    Ok(())
}

/// Temp files of transfers killed mid-way are deleted after this long. A live transfer keeps
/// writing, so its file's mtime stays recent.
const STALE_TEMP_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// Best effort: deletes leftover `.fetch-*` files not written to for [`STALE_TEMP_AGE`].
fn sweep_stale_temp_files(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let stale = entry.metadata().ok().and_then(|m| m.modified().ok()).and_then(|t| t.elapsed().ok());
        if entry.file_name().to_string_lossy().starts_with(".fetch-") && stale.is_some_and(|age| age > STALE_TEMP_AGE) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Where in-progress transfers are written.
pub(crate) fn temp_dir(cfg: &FetchConfig) -> PathBuf {
    cfg.cache_dir.join("tmp")
}

/// Blocks until this process holds the exclusive lock for `sha256`; released on drop.
pub(crate) fn lock(cfg: &FetchConfig, sha256: &Sha256) -> Result<File, FetchError> {
    let path = cfg.cache_dir.join("locks").join(format!("{sha256}.lock"));
    talos_ext_fs::lock_file(&path).map_err(|e| FetchError::Io { action: e.action, path: e.path, error: e.cause })
}

/// Makes a verified temp file durable and moves it to `dest` in one rename.
pub(crate) fn store(temp: NamedTempFile, dest: &Path) -> Result<(), FetchError> {
    temp.as_file().sync_all().map_err(FetchError::io("sync", temp.path()))?;
    set_readable(temp.path())?;
    temp.persist(dest).map_err(|e| FetchError::io("move a verified file to", dest)(e.error))?;
    Ok(())
}

/// Temp files are created `0600`; stored sources are `0644` like any downloaded file.
fn set_readable(path: &Path) -> Result<(), FetchError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).map_err(FetchError::io("set permissions of", path))
}
