//! Hash-while-writing: a `Write` adapter that feeds every byte through sha256 and counts it, so
//! digests and sizes come out of the same pass that produces the bytes. It does not buffer.

use std::io::{self, Write};

use sha2::{Digest, Sha256 as Sha256Hasher};
use talos_ext_model::Sha256;

/// A running sha256 and byte count.
#[derive(Clone, Default)]
pub(crate) struct Summer {
    hasher: Sha256Hasher,
    len: u64,
}

impl Summer {
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
    }

    pub(crate) fn finish(self) -> (Sha256, u64) {
        (sha256_from_bytes(&self.hasher.finalize()), self.len)
    }
}

/// The sha256 of `bytes`.
pub(crate) fn sha256_of(bytes: &[u8]) -> Sha256 {
    sha256_from_bytes(&Sha256Hasher::digest(bytes))
}

fn sha256_from_bytes(raw: &[u8]) -> Sha256 {
    // A sha256 output is always 32 bytes, i.e. 64 lowercase hex digits.
    Sha256::parse(&hex::encode(raw)).expect("sha256 output is 64 lowercase hex digits")
}

/// Writes through to `inner`, summing what was written.
pub(crate) struct HashWriter<W> {
    inner: W,
    summer: Summer,
}

impl<W: Write> HashWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        HashWriter { inner, summer: Summer::default() }
    }

    pub(crate) fn into_parts(self) -> (W, Sha256, u64) {
        let (digest, len) = self.summer.finish();
        (self.inner, digest, len)
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.summer.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
