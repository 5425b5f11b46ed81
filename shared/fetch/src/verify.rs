//! One streaming pass that copies bytes into a temp file while computing sha256 and sha512, so a
//! file is never read twice and never becomes visible before both sums are checked.
//!
//! This module does not decide what happens on a mismatch; it only reports the sums.

use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256 as Sha256Hasher, Sha512 as Sha512Hasher};
use talos_ext_model::Source;
use tempfile::NamedTempFile;

use crate::error::{ChecksumMismatch, FetchError};
use crate::reporter::Reporter;

/// The sums and size of a byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Digests {
    pub sha256: String,
    pub sha512: String,
    pub size: u64,
}

/// Why a streaming copy stopped.
#[derive(Debug)]
pub(crate) enum CopyError {
    /// Reading the input failed (for a download: the network; worth a retry).
    Read(io::Error),
    /// Writing the output failed (a local problem; not worth a retry).
    Write(io::Error),
}

impl Digests {
    pub fn matches(&self, source: &Source) -> bool {
        self.sha256 == source.sha256.as_str() && self.sha512 == source.sha512.as_str()
    }

    /// The error for bytes from `url` that do not match `source`.
    pub fn mismatch(self, url: &str, from_mirror: bool, source: &Source) -> FetchError {
        FetchError::Mismatch(Box::new(ChecksumMismatch {
            url: url.to_string(),
            from_mirror,
            size: self.size,
            expected_sha256: source.sha256.clone(),
            actual_sha256: self.sha256,
            expected_sha512: source.sha512.clone(),
            actual_sha512: self.sha512,
        }))
    }
}

/// Copies `reader` to `writer`, hashing every byte and reporting each chunk to `on_bytes`.
pub(crate) fn copy_hashed(
    reader: &mut dyn Read,
    writer: &mut dyn Write,
    on_bytes: &mut dyn FnMut(u64),
) -> Result<Digests, CopyError> {
    let mut sha256 = Sha256Hasher::new();
    let mut sha512 = Sha512Hasher::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        let chunk = &buf[..n];
        sha256.update(chunk);
        sha512.update(chunk);
        writer.write_all(chunk).map_err(CopyError::Write)?;
        size += n as u64;
        on_bytes(n as u64);
    }
    writer.flush().map_err(CopyError::Write)?;
    Ok(Digests { sha256: hex::encode(sha256.finalize()), sha512: hex::encode(sha512.finalize()), size })
}

/// Streams `reader` into a new temp file in `temp_dir`, reporting progress as `label`.
/// The temp file is deleted when the result is dropped without being persisted.
pub(crate) fn receive(
    reader: &mut dyn Read,
    temp_dir: &Path,
    label: &str,
    total: Option<u64>,
    reporter: &dyn Reporter,
) -> Result<(NamedTempFile, Digests), ReceiveError> {
    let mut temp = tempfile::Builder::new()
        .prefix(".fetch-")
        .tempfile_in(temp_dir)
        .map_err(|e| ReceiveError::Local(FetchError::io("create a temp file in", temp_dir)(e)))?;
    let id = reporter.start(label, total);
    let result = copy_hashed(reader, temp.as_file_mut(), &mut |n| reporter.progress(id, n));
    reporter.finish(id);
    match result {
        Ok(digests) => Ok((temp, digests)),
        Err(CopyError::Read(e)) => Err(ReceiveError::Read(e)),
        Err(CopyError::Write(e)) => Err(ReceiveError::Local(FetchError::io("write", temp.path())(e))),
    }
}

/// Why [`receive`] failed.
#[derive(Debug)]
pub(crate) enum ReceiveError {
    /// The input broke off.
    Read(io::Error),
    /// The temp file could not be created or written.
    Local(FetchError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_sums() {
        let mut out = Vec::new();
        let mut seen = 0;
        let d = copy_hashed(&mut &b"abc"[..], &mut out, &mut |n| seen += n).unwrap();
        assert_eq!(out, b"abc");
        assert_eq!((d.size, seen), (3, 3));
        assert_eq!(d.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(d.sha512.starts_with("ddaf35a193617aba"), "{}", d.sha512);
    }
}
