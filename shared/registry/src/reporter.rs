//! Progress reporting as a trait, so the library never prints: `xtask` draws bars, tests and
//! build scripts pass [`NoReporter`].

/// Receives progress of blob and manifest transfers.
///
/// Every [`Reporter::start`] is matched by exactly one [`Reporter::finish`] with the same id,
/// whether the transfer succeeded or not. A retried transfer is a new `start`. Blobs that are
/// skipped (already present) or mounted are not transfers; they only show in the summary.
pub trait Reporter: Send + Sync {
    /// A transfer of `name` (e.g. `push sha256:1234abcd… (layer, arm64)`) begins; `total` is its
    /// size when known. Returns an id for the calls that follow.
    fn start(&self, name: &str, total: Option<u64>) -> usize;
    /// `bytes` more bytes (not a running total) of transfer `id` went over the wire.
    fn progress(&self, id: usize, bytes: u64);
    /// Transfer `id` ended.
    fn finish(&self, id: usize);
}

/// A [`Reporter`] that ignores everything.
#[derive(Debug, Clone, Copy)]
pub struct NoReporter;

impl Reporter for NoReporter {
    fn start(&self, _name: &str, _total: Option<u64>) -> usize {
        0
    }
    fn progress(&self, _id: usize, _bytes: u64) {}
    fn finish(&self, _id: usize) {}
}
