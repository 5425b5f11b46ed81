//! Parallel, deterministic gzip (pigz-style): one gzip member whose deflate stream is cut into
//! fixed-size chunks that are compressed on several threads and concatenated in order.
//!
//! Each chunk is raw deflate primed with the last 32 KiB of the previous chunk as a preset
//! dictionary (so compression barely suffers from the cut) and ends with a sync flush; the last
//! chunk ends with `finish`. Because the chunk size is a constant and each chunk's output depends
//! only on its own bytes and its predecessor's tail, the output is byte-identical for any thread
//! count. The header is fixed (mtime 0, no name, OS byte 3) and the trailer's CRC32 is combined
//! from the per-chunk CRCs.
//!
//! The writer also hashes, in the same pass, the uncompressed input and the compressed output
//! (sha256 and size), which is what an OCI layer needs. It does not do multi-member gzip, zlib
//! framing, or decompression.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use flate2::{Compress, Compression, FlushCompress, Status};
use talos_ext_model::Sha256;

use crate::hash::Summer;

/// Uncompressed bytes per chunk. Fixed: changing it changes every gzip layer digest.
pub(crate) const CHUNK_SIZE: usize = 1 << 20;
/// Deflate's window: how much of the previous chunk primes the next one.
const DICT_SIZE: usize = 32 * 1024;
/// gzip header: magic, CM=deflate, no flags, mtime 0, XFL 0, OS 3 (Unix).
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];

/// What the writer produced, besides the compressed bytes themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GzipStats {
    pub(crate) uncompressed_digest: Sha256,
    pub(crate) uncompressed_size: u64,
    pub(crate) compressed_digest: Sha256,
    pub(crate) compressed_size: u64,
}

struct Job {
    index: u64,
    data: Arc<Vec<u8>>,
    dict: Option<Arc<Vec<u8>>>,
    last: bool,
}

struct Done {
    index: u64,
    data: Arc<Vec<u8>>,
    compressed: Result<Vec<u8>, String>,
    crc: crc32fast::Hasher,
    last: bool,
}

/// A `Write` that gzips on worker threads into `W` (written by a separate sink thread).
pub(crate) struct ParallelGzipWriter<W: Write + Send + 'static> {
    buf: Vec<u8>,
    prev: Option<Arc<Vec<u8>>>,
    next_index: u64,
    jobs: Option<SyncSender<Job>>,
    permits: Receiver<()>,
    workers: Vec<JoinHandle<()>>,
    sink: Option<JoinHandle<io::Result<(W, GzipStats)>>>,
}

impl<W: Write + Send + 'static> ParallelGzipWriter<W> {
    /// Starts `threads` deflate workers and a sink thread writing to `out`.
    pub(crate) fn new(out: W, level: u32, threads: NonZeroUsize) -> Self {
        let threads = threads.get();
        let in_flight = 2 * threads + 2;
        let (job_tx, job_rx) = mpsc::sync_channel::<Job>(threads);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        let (permit_tx, permit_rx) = mpsc::sync_channel::<()>(in_flight);
        for _ in 0..in_flight {
            // Cannot fail: the channel has exactly this capacity and its receiver is alive.
            let _ = permit_tx.send(());
        }
        let workers = (0..threads)
            .map(|_| {
                let job_rx = Arc::clone(&job_rx);
                let done_tx = done_tx.clone();
                thread::spawn(move || worker(level, &job_rx, &done_tx))
            })
            .collect();
        drop(done_tx);
        let sink = thread::spawn(move || sink(out, &done_rx, &permit_tx));
        ParallelGzipWriter {
            buf: Vec::with_capacity(CHUNK_SIZE),
            prev: None,
            next_index: 0,
            jobs: Some(job_tx),
            permits: permit_rx,
            workers,
            sink: Some(sink),
        }
    }

    fn submit(&mut self, last: bool) -> io::Result<()> {
        if self.permits.recv().is_err() {
            return Err(self.pipeline_error());
        }
        let data = Arc::new(std::mem::replace(&mut self.buf, Vec::with_capacity(if last { 0 } else { CHUNK_SIZE })));
        let job = Job { index: self.next_index, data: Arc::clone(&data), dict: self.prev.take(), last };
        self.next_index += 1;
        self.prev = Some(data);
        let sent = self.jobs.as_ref().map(|jobs| jobs.send(job).is_ok()).unwrap_or(false);
        if sent { Ok(()) } else { Err(self.pipeline_error()) }
    }

    /// Called when a channel to the pipeline is closed early: stops it and returns why.
    fn pipeline_error(&mut self) -> io::Error {
        match self.shutdown() {
            Some(Err(e)) => e,
            _ => io::Error::other("gzip pipeline stopped unexpectedly"),
        }
    }

    fn shutdown(&mut self) -> Option<io::Result<(W, GzipStats)>> {
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        let sink = self.sink.take()?;
        Some(sink.join().unwrap_or_else(|_| Err(io::Error::other("gzip sink thread panicked"))))
    }

    /// Compresses what is buffered as the last chunk, writes the trailer and returns the output.
    pub(crate) fn finish(mut self) -> io::Result<(W, GzipStats)> {
        self.submit(true)?;
        self.shutdown().unwrap_or_else(|| Err(io::Error::other("gzip pipeline already finished")))
    }
}

impl<W: Write + Send + 'static> Write for ParallelGzipWriter<W> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let total = data.len();
        while !data.is_empty() {
            if self.buf.len() == CHUNK_SIZE {
                self.submit(false)?;
            }
            let n = (CHUNK_SIZE - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        Ok(total)
    }

    /// Does nothing: chunk boundaries must not depend on when callers flush.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write + Send + 'static> Drop for ParallelGzipWriter<W> {
    fn drop(&mut self) {
        // Abandoned (an error upstream): stop the threads; the partial output is the caller's to
        // delete.
        let _ = self.shutdown();
    }
}

fn worker(level: u32, jobs: &Mutex<Receiver<Job>>, done: &Sender<Done>) {
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let dict = job.dict.as_deref().map(|d| &d[d.len().saturating_sub(DICT_SIZE)..]);
        let compressed = deflate_chunk(level, dict, &job.data, job.last);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&job.data);
        let msg = Done { index: job.index, data: job.data, compressed, crc, last: job.last };
        if done.send(msg).is_err() {
            return;
        }
    }
}

/// Raw-deflates one chunk: primed with `dict`, ended by a sync flush, or by `finish` if `last`.
///
/// Always with a *fresh* compressor: `Compress::reset` keeps the old window bytes, and while the
/// input runs out near a flush, match search peeks at bytes past the end of the input, so a reused
/// compressor's output would depend on which chunk that worker compressed before (observed:
/// different digests between runs on a loaded machine).
fn deflate_chunk(level: u32, dict: Option<&[u8]>, data: &[u8], last: bool) -> Result<Vec<u8>, String> {
    let mut c = Compress::new(Compression::new(level), false);
    if let Some(dict) = dict.filter(|d| !d.is_empty()) {
        c.set_dictionary(dict).map_err(|e| format!("cannot set deflate dictionary: {e}"))?;
    }
    let flush = if last { FlushCompress::Finish } else { FlushCompress::Sync };
    let mut out = Vec::with_capacity(data.len() / 2 + 1024);
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(64 * 1024));
        }
        let consumed = usize::try_from(c.total_in()).map_err(|e| e.to_string())?;
        let status = c.compress_vec(&data[consumed..], &mut out, flush).map_err(|e| e.to_string())?;
        let all_in = c.total_in() == data.len() as u64;
        let done = if last { status == Status::StreamEnd } else { all_in && out.len() < out.capacity() };
        if done {
            return Ok(out);
        }
    }
}

fn sink<W: Write>(mut out: W, done: &Receiver<Done>, permits: &SyncSender<()>) -> io::Result<(W, GzipStats)> {
    let mut compressed = Summer::default();
    let mut uncompressed = Summer::default();
    let mut crc = crc32fast::Hasher::new();
    emit(&mut out, &GZIP_HEADER, &mut compressed)?;
    let mut pending = BTreeMap::new();
    let mut next = 0u64;
    loop {
        let Ok(msg) = done.recv() else {
            return Err(io::Error::other("gzip pipeline stopped before its last chunk"));
        };
        pending.insert(msg.index, msg);
        while let Some(chunk) = pending.remove(&next) {
            let bytes = chunk.compressed.map_err(|e| io::Error::other(format!("deflate failed: {e}")))?;
            emit(&mut out, &bytes, &mut compressed)?;
            uncompressed.update(&chunk.data);
            crc.combine(&chunk.crc);
            next += 1;
            // The producer may be gone already (it is finishing); that is fine.
            let _ = permits.try_send(());
            if chunk.last {
                let (uncompressed_digest, uncompressed_size) = uncompressed.finish();
                let mut trailer = [0u8; 8];
                trailer[..4].copy_from_slice(&crc.finalize().to_le_bytes());
                // ISIZE is the input size modulo 2^32, by definition.
                trailer[4..].copy_from_slice(&(uncompressed_size as u32).to_le_bytes());
                emit(&mut out, &trailer, &mut compressed)?;
                out.flush()?;
                let (compressed_digest, compressed_size) = compressed.finish();
                let stats = GzipStats { uncompressed_digest, uncompressed_size, compressed_digest, compressed_size };
                return Ok((out, stats));
            }
        }
    }
}

fn emit<W: Write>(out: &mut W, bytes: &[u8], compressed: &mut Summer) -> io::Result<()> {
    out.write_all(bytes)?;
    compressed.update(bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn gzip(data: &[u8], threads: usize) -> (Vec<u8>, GzipStats) {
        let threads = NonZeroUsize::new(threads).unwrap();
        let mut w = ParallelGzipWriter::new(Vec::new(), 6, threads);
        // Uneven writes, to show chunking does not depend on write sizes.
        for piece in data.chunks(77_777) {
            w.write_all(piece).unwrap();
        }
        w.finish().unwrap()
    }

    fn sample(len: usize) -> Vec<u8> {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        (0..len)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if i % 3 == 0 { b"abcdefgh"[(x % 8) as usize] } else { (i / 1000) as u8 }
            })
            .collect()
    }

    #[test]
    fn round_trips_and_is_independent_of_thread_count() {
        for len in [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 12_345] {
            let data = sample(len);
            let (one, stats) = gzip(&data, 1);
            let (four, stats4) = gzip(&data, 4);
            assert_eq!(one, four, "len {len}");
            assert_eq!(stats, stats4);
            assert_eq!(stats.uncompressed_size, len as u64);
            assert_eq!(stats.compressed_size, one.len() as u64);
            assert_eq!(stats.compressed_digest, crate::hash::sha256_of(&one));
            assert_eq!(stats.uncompressed_digest, crate::hash::sha256_of(&data));
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&one[..]).read_to_end(&mut back).unwrap();
            assert!(back == data, "len {len}: round trip differs");
        }
    }

    /// Regression: chunks used to depend on what the same worker compressed before.
    #[test]
    fn chunk_output_does_not_depend_on_history() {
        let mut x = 1u64;
        let mut mk = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|i| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if (x >> 60) < 6 { b"abcdefghij"[(x % 10) as usize] } else { (i % 251) as u8 }
                })
                .collect()
        };
        for _ in 0..12 {
            let (dict, other, target) = (mk(DICT_SIZE), mk(CHUNK_SIZE / 4), mk(CHUNK_SIZE / 4));
            let alone = deflate_chunk(6, Some(&dict), &target, false).unwrap();
            // Dirty and free compressor memory so the allocator may hand it out again.
            drop(deflate_chunk(6, Some(&dict), &other, false).unwrap());
            let after = deflate_chunk(6, Some(&dict), &target, false).unwrap();
            assert!(alone == after);
        }
        // Many chunks, spread differently over workers: with reused compressors this differed.
        let data = mk(24 * CHUNK_SIZE + 999);
        assert!(gzip(&data, 1).0 == gzip(&data, 3).0);
    }

    #[test]
    fn dictionary_carries_matches_across_chunks() {
        // A 20 KiB incompressible block repeated: without priming, every chunk pays for it again.
        let block = sample_random(20 * 1024);
        let data: Vec<u8> = block.iter().copied().cycle().take(4 * CHUNK_SIZE).collect();
        let (ours, _) = gzip(&data, 2);
        let mut reference = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        reference.write_all(&data).unwrap();
        let reference = reference.finish().unwrap();
        assert!(ours.len() < reference.len() + 4096, "{} vs {}", ours.len(), reference.len());
    }

    fn sample_random(len: usize) -> Vec<u8> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    /// Accepts `left` bytes, then fails like a full disk.
    struct FailingWriter {
        left: usize,
    }

    impl Write for FailingWriter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if buf.len() > self.left {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
            }
            self.left -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn sink_errors_surface_without_hanging() {
        let data = sample_random(24 * CHUNK_SIZE);
        let mut w = ParallelGzipWriter::new(FailingWriter { left: 100_000 }, 6, NonZeroUsize::new(2).unwrap());
        let result = w.write_all(&data).and_then(|()| w.finish().map(|_| ()));
        let err = result.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull, "{err}");
    }

    #[test]
    fn dropping_midway_stops_the_threads() {
        let data = sample_random(8 * CHUNK_SIZE + 5);
        let mut w = ParallelGzipWriter::new(Vec::new(), 6, NonZeroUsize::new(3).unwrap());
        w.write_all(&data).unwrap();
        drop(w);
    }
}
