//! [`FetchError`]: every way a fetch fails, with the evidence (URL or path, expected and actual
//! checksums, HTTP status, number of attempts) as structured fields, and a `hint:` line in the
//! message where the fix is known.
//!
//! Messages are complete on their own: an underlying I/O error is part of the message (field
//! `error`), not a `source()`, so `{}` prints everything, the `hint:` stays last, and error
//! chains do not repeat the cause.

use std::io;
use std::path::PathBuf;

use talos_ext_model::{Sha256, Sha512};

/// A failed fetch, mirror copy or cache check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Bytes from an upstream URL, an HTTP mirror URL or a mirror file do not match the pinned
    /// checksums. Nothing was kept. (Boxed: the evidence is large and errors should be small.)
    #[error("{0}")]
    Mismatch(Box<ChecksumMismatch>),

    /// Bytes downloaded by [`crate::download_sha256`] do not have the sha256 a signed index
    /// gave for them. Nothing was kept.
    #[error(
        "sha256 mismatch for `{url}` ({size} bytes); the file was not kept\n  expected {expected}\n  actual   {actual}\nhint: the index that named it may be older than the archive; refresh it and try again"
    )]
    Sha256Mismatch { url: String, size: u64, expected: Sha256, actual: String },

    /// A cached file failed [`crate::verify_cached`]; it has been removed.
    #[error(
        "cached file `{}` is corrupt: sha256 {actual_sha256}, expected {expected_sha256}; it was removed\nhint: fetch the source again",
        path.display()
    )]
    CacheCorrupt { path: PathBuf, expected_sha256: Sha256, actual_sha256: String },

    /// The server answered with an error status: at once for a 4xx, after retries for a 5xx.
    #[error("{}", status_message(url, *status, *attempts))]
    HttpStatus { url: String, status: u16, attempts: u32 },

    /// The connection failed, was reset or timed out, or the body broke off, on every attempt.
    #[error(
        "could not download `{url}` ({attempts} {}): {error}\nhint: check the network connection; without network, set `TALOS_EXT_OFFLINE=1` and use the cache or a mirror",
        plural(*attempts)
    )]
    Transport { url: String, attempts: u32, error: io::Error },

    /// The source is in neither the cache nor any mirror, and upstream may not be contacted.
    #[error(
        "source `{source_name}` of extension `{extension}` is not cached and offline mode is on ({mirrors} {} searched)\n  url:    {url}\n  sha256: {sha256}\nhint: run `cargo xtask fetch {extension}` on a machine with network access and reuse its cache, or pass a mirror holding `sha256/{sha256}` with `--mirror` (or `TALOS_EXT_MIRRORS`)",
        if *mirrors == 1 { "mirror" } else { "mirrors" }
    )]
    Offline { extension: String, source_name: String, url: String, sha256: Sha256, mirrors: usize },

    /// A local file operation failed.
    #[error("could not {action} `{}`: {error}", path.display())]
    Io {
        /// What was being done, e.g. `create directory`.
        action: &'static str,
        path: PathBuf,
        error: io::Error,
    },

    /// An environment variable has a value that cannot be used.
    #[error("environment variable `{var}` has an invalid value `{value}`: {reason}")]
    InvalidEnv { var: &'static str, value: String, reason: String },
}

/// The evidence of a checksum mismatch: where the bytes came from, and both sums, expected
/// and actual.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", mismatch_message(self))]
pub struct ChecksumMismatch {
    /// An URL, or a file path for a directory mirror.
    pub url: String,
    /// The bytes came from a mirror (then `url` is the mirror's URL or file path).
    pub from_mirror: bool,
    /// How many bytes were read.
    pub size: u64,
    pub expected_sha256: Sha256,
    pub actual_sha256: String,
    pub expected_sha512: Sha512,
    pub actual_sha512: String,
}

impl FetchError {
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> FetchError {
        let path = path.into();
        move |error| FetchError::Io { action, path, error }
    }
}

fn plural(attempts: u32) -> &'static str {
    if attempts == 1 { "attempt" } else { "attempts" }
}

fn status_message(url: &str, status: u16, attempts: u32) -> String {
    let mut msg = format!("`{url}` answered HTTP {status} ({attempts} {})", plural(attempts));
    if status == 404 || status == 410 {
        msg.push_str(
            "\nhint: the file is gone upstream; point the source's `url` at a live copy with the same checksums, or use a mirror",
        );
    } else if (400..500).contains(&status) {
        msg.push_str("\nhint: client errors are not retried; check the source's `url`");
    } else if status >= 500 {
        msg.push_str("\nhint: the server keeps failing; try again later, or use a mirror");
    }
    msg
}

fn mismatch_message(m: &ChecksumMismatch) -> String {
    let verdict = |ok: bool| if ok { "ok" } else { "MISMATCH" };
    let hint = if m.from_mirror {
        "the mirror's copy is wrong or corrupt: remove it from the mirror (it is never skipped in favour of another source)"
    } else {
        "if upstream re-released the file, find out why before re-pinning `sha256` and `sha512` in the recipe"
    };
    format!(
        "checksum mismatch for `{}` ({} bytes); the file was not kept\n  \
         sha256 {}\n    expected {}\n    actual   {}\n  \
         sha512 {}\n    expected {}\n    actual   {}\n\
         hint: {hint}",
        m.url,
        m.size,
        verdict(m.expected_sha256.as_str() == m.actual_sha256),
        m.expected_sha256,
        m.actual_sha256,
        verdict(m.expected_sha512.as_str() == m.actual_sha512),
        m.expected_sha512,
        m.actual_sha512,
    )
}
