//! Integration tests of `talos-ext-fetch` against loopback HTTP servers on real sockets.
//!
//! One test binary (`tests/it/`), one module per concern; `server` is the test HTTP server.

mod concurrency;
mod download;
mod mirrors;
mod server;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use sha2::{Digest, Sha256 as Sha256Hasher, Sha512 as Sha512Hasher};
use talos_ext_fetch::{FetchConfig, Reporter, RetryPolicy};
use talos_ext_model::{Sha256, Sha512, Source};

/// `len` deterministic pseudo-random bytes, different for each `seed`.
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

pub fn sha256_of(data: &[u8]) -> Sha256 {
    Sha256::parse(&hex::encode(Sha256Hasher::digest(data))).expect("valid sha256")
}

pub fn sha512_of(data: &[u8]) -> Sha512 {
    Sha512::parse(&hex::encode(Sha512Hasher::digest(data))).expect("valid sha512")
}

/// A source pinning `data` at `url`.
pub fn source_for(url: &str, data: &[u8]) -> Source {
    Source { name: "blob".into(), url: url.into(), sha256: sha256_of(data), sha512: sha512_of(data), arch: None }
}

/// A config with a fast retry policy (4 attempts, a few ms apart) and short timeouts.
pub fn config(cache: &Path) -> FetchConfig {
    let mut cfg = FetchConfig::new(cache.to_path_buf());
    cfg.retry =
        RetryPolicy { max_attempts: 4, initial_delay: Duration::from_millis(2), max_delay: Duration::from_millis(20) };
    cfg.connect_timeout = Duration::from_secs(5);
    cfg.read_timeout = Duration::from_secs(5);
    cfg
}

/// Every file below `dir` (recursively), for asserting that nothing was left behind.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Nothing but lock files and cache markers: no source and no temp file.
#[track_caller]
pub fn assert_no_source_or_temp(cfg: &FetchConfig) {
    let left: Vec<_> = files_under(&cfg.cache_dir)
        .into_iter()
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !(name.ends_with(".lock") || name == "CACHEDIR.TAG" || name == ".gitignore")
        })
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// One transfer as seen by a [`Recorder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub name: String,
    pub total: Option<u64>,
    pub bytes: u64,
    pub finished: bool,
}

/// A reporter that records every transfer.
#[derive(Default)]
pub struct Recorder {
    pub transfers: Mutex<Vec<Transfer>>,
}

impl Reporter for Recorder {
    fn start(&self, name: &str, total: Option<u64>) -> usize {
        let mut transfers = self.transfers.lock().expect("transfers");
        transfers.push(Transfer { name: name.to_string(), total, bytes: 0, finished: false });
        transfers.len() - 1
    }
    fn progress(&self, id: usize, bytes: u64) {
        self.transfers.lock().expect("transfers")[id].bytes += bytes;
    }
    fn finish(&self, id: usize) {
        self.transfers.lock().expect("transfers")[id].finished = true;
    }
}
