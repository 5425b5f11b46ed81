//! Progress reporting as a trait, so the library never prints: `xtask` draws bars, `build.rs`
//! passes [`NoReporter`] (or emits `cargo:warning`).

/// Receives progress of byte transfers (downloads and mirror copies).
///
/// Every [`Reporter::start`] is matched by exactly one [`Reporter::finish`] with the same id,
/// whether the transfer succeeded or not. A retried download is a new `start`.
pub trait Reporter: Send + Sync {
    /// A transfer of `name` (`<extension>/<source>`) begins; `total` is its size when known.
    /// Returns an id for the calls that follow.
    fn start(&self, name: &str, total: Option<u64>) -> usize;
    /// `bytes` more bytes (not a running total) of transfer `id` arrived.
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
