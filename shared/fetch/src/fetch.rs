//! The operations: [`fetch`] a source into the cache, [`lookup`] and [`verify_cached`] what is
//! there, and [`mirror_into`] a directory mirror.
//!
//! [`fetch`] tries, in order: the cache (no lock, no hashing, no network), then under the
//! source's exclusive lock the cache again, each mirror, and the upstream URL unless offline.
//! Every byte stream is verified against both sums before it is renamed into the store.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use talos_ext_model::{Sha256, Source};
use tempfile::NamedTempFile;

use crate::cache;
use crate::config::{FetchConfig, Mirror};
use crate::error::FetchError;
use crate::http::{self, Fetched};
use crate::reporter::Reporter;
use crate::verify::{CopyError, Digests, ReceiveError, copy_hashed, receive};

/// What [`verify_cached`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheState {
    /// The source is not in the cache.
    Missing,
    /// The cached file was re-hashed and matches both sums.
    Verified(PathBuf),
}

/// Returns the cache path of `source`, verified, fetching it first if needed.
///
/// Order: the cache; then each of `cfg.mirrors` in order; then `source.url` unless
/// `cfg.offline`. A mirror that lacks the file (no such file, HTTP 404 or 410) is skipped. Any
/// other failure of a mirror, and above all a checksum mismatch, is an error: a mismatch never
/// falls back to another source, and nothing that failed verification is kept.
///
/// A file found in the cache is trusted without re-hashing: it got there only by an atomic
/// rename after both sums matched. Use [`verify_cached`] to re-hash it.
///
/// Concurrent calls for the same source, in threads or processes, serialise on a file lock:
/// one transfers the file, the others then find it in the cache. No caller ever sees a partial
/// file.
///
/// `extension` is only used in messages and progress labels.
pub fn fetch(
    cfg: &FetchConfig,
    extension: &str,
    source: &Source,
    reporter: &dyn Reporter,
) -> Result<PathBuf, FetchError> {
    let dest = cfg.cache_path(&source.sha256);
    if dest.is_file() {
        return Ok(dest);
    }
    cache::init(cfg)?;
    let _lock = cache::lock(cfg, &source.sha256)?;
    if dest.is_file() {
        return Ok(dest);
    }
    let temp_dir = cache::temp_dir(cfg);
    let label = format!("{extension}/{}", source.name);
    let mut agent = None;
    for mirror in &cfg.mirrors {
        let location = mirror.location(&source.sha256);
        let fetched = match mirror {
            Mirror::Dir(_) => copy_from_dir(Path::new(&location), &temp_dir, &label, reporter)?,
            Mirror::Http(_) => {
                let agent = agent.get_or_insert_with(|| http::agent(cfg));
                http::download(agent, cfg, &location, &temp_dir, &label, reporter)?
            }
        };
        match fetched {
            Fetched::File(temp, digests) => return keep_if_valid(temp, digests, &location, true, source, &dest),
            Fetched::Missing { .. } => continue,
        }
    }
    if cfg.offline {
        return Err(FetchError::Offline {
            extension: extension.to_string(),
            source_name: source.name.clone(),
            url: source.url.clone(),
            sha256: source.sha256.clone(),
            mirrors: cfg.mirrors.len(),
        });
    }
    let agent = agent.get_or_insert_with(|| http::agent(cfg));
    match http::download(agent, cfg, &source.url, &temp_dir, &label, reporter)? {
        Fetched::File(temp, digests) => keep_if_valid(temp, digests, &source.url, false, source, &dest),
        Fetched::Missing { status, attempts } => {
            Err(FetchError::HttpStatus { url: source.url.clone(), status, attempts })
        }
    }
}

/// Downloads `url` to `dest` when its bytes have the sha256 `sha256`: for files pinned by a
/// signed index rather than by a recipe (Debian's pool, whose indexes give sha256 only).
///
/// The bytes go to a temp file beside `dest`, renamed into place only when they match, so
/// nobody ever sees a partial or unverified `dest`; a mismatch is an error and nothing is kept.
/// Retries and timeouts are `cfg`'s; its cache, mirrors and offline mode are not used. A file
/// the server does not have (HTTP 404 or 410) is [`FetchError::HttpStatus`].
pub fn download_sha256(
    cfg: &FetchConfig,
    url: &str,
    sha256: &Sha256,
    dest: &Path,
    reporter: &dyn Reporter,
) -> Result<(), FetchError> {
    let dir = match dest.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(FetchError::io("create directory", dir))?;
    let label = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| url.to_string());
    match http::download(&http::agent(cfg), cfg, url, dir, &label, reporter)? {
        Fetched::File(temp, digests) if digests.sha256 == sha256.as_str() => cache::store(temp, dest),
        Fetched::File(_, digests) => Err(FetchError::Sha256Mismatch {
            url: url.to_string(),
            size: digests.size,
            expected: sha256.clone(),
            actual: digests.sha256,
        }),
        Fetched::Missing { status, attempts } => Err(FetchError::HttpStatus { url: url.to_string(), status, attempts }),
    }
}

/// The cache path of `source` if it is cached (trusted, not re-hashed). Never touches the network.
pub fn lookup(cfg: &FetchConfig, source: &Source) -> Option<PathBuf> {
    let path = cfg.cache_path(&source.sha256);
    path.is_file().then_some(path)
}

/// Re-hashes the cached copy of `source` under its lock. A corrupt copy is removed and reported
/// as [`FetchError::CacheCorrupt`], so the next [`fetch`] transfers it again.
pub fn verify_cached(cfg: &FetchConfig, source: &Source) -> Result<CacheState, FetchError> {
    let path = cfg.cache_path(&source.sha256);
    if !path.is_file() {
        return Ok(CacheState::Missing);
    }
    let _lock = cache::lock(cfg, &source.sha256)?;
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(CacheState::Missing),
        Err(e) => return Err(FetchError::io("open", &path)(e)),
    };
    let digests = copy_hashed(&mut file, &mut io::sink(), &mut |_| {}).map_err(|e| match e {
        CopyError::Read(e) | CopyError::Write(e) => FetchError::io("read", &path)(e),
    })?;
    if digests.matches(source) {
        return Ok(CacheState::Verified(path));
    }
    fs::remove_file(&path).map_err(FetchError::io("remove corrupt file", &path))?;
    Err(FetchError::CacheCorrupt { path, expected_sha256: source.sha256.clone(), actual_sha256: digests.sha256 })
}

/// Copies the verified file `cached` (usually from [`fetch`]) into the directory mirror `dir`
/// as `<dir>/sha256/<hex>`, verifying both sums on the way, through a temp file and a rename.
/// Returns the mirror path. A file already present in the mirror is left alone (not re-hashed).
pub fn mirror_into(dir: &Path, source: &Source, cached: &Path) -> Result<PathBuf, FetchError> {
    let sha_dir = dir.join("sha256");
    let dest = sha_dir.join(source.sha256.as_str());
    if dest.is_file() {
        return Ok(dest);
    }
    fs::create_dir_all(&sha_dir).map_err(FetchError::io("create directory", &sha_dir))?;
    let mut input = File::open(cached).map_err(FetchError::io("open", cached))?;
    let (temp, digests) =
        receive(&mut input, &sha_dir, &source.name, None, &crate::NoReporter).map_err(|e| match e {
            ReceiveError::Read(e) => FetchError::io("read", cached)(e),
            ReceiveError::Local(e) => e,
        })?;
    keep_if_valid(temp, digests, &cached.display().to_string(), false, source, &dest)
}

/// Opens `<mirror>/sha256/<hex>` and streams it into a temp file; a missing file is `Missing`.
fn copy_from_dir(path: &Path, temp_dir: &Path, label: &str, reporter: &dyn Reporter) -> Result<Fetched, FetchError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Fetched::Missing { status: 404, attempts: 1 }),
        Err(e) => return Err(FetchError::io("open mirror file", path)(e)),
    };
    let total = file.metadata().ok().map(|m| m.len());
    match receive(&mut file, temp_dir, label, total, reporter) {
        Ok((temp, digests)) => Ok(Fetched::File(temp, digests)),
        Err(ReceiveError::Read(e)) => Err(FetchError::io("read mirror file", path)(e)),
        Err(ReceiveError::Local(e)) => Err(e),
    }
}

/// Renames `temp` to `dest` when its sums match `source`; otherwise deletes it and errors.
fn keep_if_valid(
    temp: NamedTempFile,
    digests: Digests,
    origin: &str,
    from_mirror: bool,
    source: &Source,
    dest: &Path,
) -> Result<PathBuf, FetchError> {
    if !digests.matches(source) {
        drop(temp);
        return Err(digests.mismatch(origin, from_mirror, source));
    }
    cache::store(temp, dest)?;
    Ok(dest.to_path_buf())
}
