//! The layer writer: turns a staged extension directory (`manifest.yaml` + `rootfs/`) into one
//! compressed tar blob with deterministic bytes, and reports its digests.
//!
//! Determinism rules: entries sorted bytewise by path (a parent always precedes its children), every
//! directory emitted explicitly with its staged permission bits, uid/gid 0 with empty names,
//! mtime = `SOURCE_DATE_EPOCH`, GNU headers with no PAX records or xattrs, hardlinks written as
//! independent regular files, symlinks as symlinks. Devices, FIFOs and sockets are refused before
//! any output is written.
//!
//! This module checks only the *shape* it needs (the two top-level entries, no special files); the
//! content rules of a Talos extension are the validator's job. It writes one blob into an existing
//! `blobs/sha256` directory and knows nothing of manifests or indexes.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::num::NonZeroUsize;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use talos_ext_model::Sha256;
use tar::{EntryType, Header};

use crate::error::ImageError;
use crate::hash::HashWriter;
use crate::pgzip::{GzipStats, ParallelGzipWriter};
use crate::spec::{MEDIA_TYPE_LAYER_GZIP, MEDIA_TYPE_LAYER_ZSTD};

/// The staged extension's metadata file.
pub const MANIFEST_FILE: &str = "manifest.yaml";
/// The staged extension's root file-system directory.
pub const ROOTFS_DIR: &str = "rootfs";

/// How a layer is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Parallel gzip (pigz-style, output independent of the thread count); level 1-9, higher is
    /// treated as 9.
    Gzip { level: u32 },
    /// zstd in multithreaded mode (output independent of the worker count); level 1-22.
    Zstd { level: i32 },
}

impl Compression {
    /// gzip level 6, the default (like `gzip` and Docker).
    pub const GZIP: Compression = Compression::Gzip { level: 6 };
    /// zstd level 3 (zstd's own default).
    pub const ZSTD: Compression = Compression::Zstd { level: 3 };

    /// The OCI layer media type for this compression.
    pub fn media_type(self) -> &'static str {
        match self {
            Compression::Gzip { .. } => MEDIA_TYPE_LAYER_GZIP,
            Compression::Zstd { .. } => MEDIA_TYPE_LAYER_ZSTD,
        }
    }
}

impl Default for Compression {
    fn default() -> Self {
        Compression::GZIP
    }
}

/// How to pack. No `Default`: callers say what they want.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackOptions {
    pub compression: Compression,
    /// Compression threads; `None` means `std::thread::available_parallelism()`. Never changes the
    /// output bytes.
    pub threads: Option<NonZeroUsize>,
}

impl PackOptions {
    fn thread_count(&self) -> NonZeroUsize {
        self.threads.or_else(|| std::thread::available_parallelism().ok()).unwrap_or(NonZeroUsize::MIN)
    }
}

/// A written layer blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// `application/vnd.oci.image.layer.v1.tar+gzip` or `+zstd`.
    pub media_type: &'static str,
    /// sha256 of the compressed blob (its name under `blobs/sha256/`).
    pub digest: Sha256,
    /// Size of the compressed blob.
    pub size: u64,
    /// sha256 of the uncompressed tar (the image config's `rootfs.diff_ids` entry).
    pub diff_id: Sha256,
    /// Size of the uncompressed tar.
    pub uncompressed_size: u64,
}

/// Packs the staged extension at `staged` into a layer blob in `blobs_dir` (normally a layout's
/// `blobs/sha256`), with every mtime set to `source_date_epoch`.
///
/// The blob is streamed to a temporary file in `blobs_dir` and renamed to its digest at the end;
/// on error nothing is left behind.
pub fn write_layer(
    staged: &Path,
    blobs_dir: &Path,
    source_date_epoch: u64,
    opts: &PackOptions,
) -> Result<LayerInfo, ImageError> {
    let entries = collect_entries(staged)?;
    write_entries(staged, &entries, blobs_dir, source_date_epoch, opts)
}

/// Packs every entry under `dir` (any files, directories and symlinks, not only an extension's
/// `manifest.yaml` + `rootfs/`) into a layer blob in `blobs_dir`, with the same determinism rules
/// as [`write_layer`]. For small non-extension images, such as the Talos extensions index image
/// (`/image-digests` + `/descriptions.yaml`).
pub fn write_tree_layer(
    dir: &Path,
    blobs_dir: &Path,
    source_date_epoch: u64,
    opts: &PackOptions,
) -> Result<LayerInfo, ImageError> {
    let entries = collect_tree_entries(dir)?;
    write_entries(dir, &entries, blobs_dir, source_date_epoch, opts)
}

/// Writes the tar of `entries` (relative to `staged`) as a compressed blob into `blobs_dir`.
fn write_entries(
    staged: &Path,
    entries: &[Entry],
    blobs_dir: &Path,
    source_date_epoch: u64,
    opts: &PackOptions,
) -> Result<LayerInfo, ImageError> {
    let tmp = tempfile::Builder::new()
        .prefix(".layer-")
        .tempfile_in(blobs_dir)
        .map_err(ImageError::io("create a temporary file in", blobs_dir))?;
    let file = tmp.reopen().map_err(ImageError::io("open", tmp.path()))?;
    let tmp_path = tmp.path().to_path_buf();
    let threads = opts.thread_count();
    let info = match opts.compression {
        Compression::Gzip { level } => {
            let gz = ParallelGzipWriter::new(file, level.min(9), threads);
            let gz = write_tar(staged, entries, source_date_epoch, gz)?;
            let (_, stats) = gz.finish().map_err(ImageError::io("write", &tmp_path))?;
            let GzipStats { uncompressed_digest, uncompressed_size, compressed_digest, compressed_size } = stats;
            LayerInfo {
                media_type: MEDIA_TYPE_LAYER_GZIP,
                digest: compressed_digest,
                size: compressed_size,
                diff_id: uncompressed_digest,
                uncompressed_size,
            }
        }
        Compression::Zstd { level } => {
            let out = HashWriter::new(BufWriter::with_capacity(1 << 18, file));
            let mut enc = zstd::stream::write::Encoder::new(out, level).map_err(ImageError::io("write", &tmp_path))?;
            let workers = u32::try_from(threads.get()).unwrap_or(1);
            enc.multithread(workers).map_err(ImageError::io("write", &tmp_path))?;
            enc.include_checksum(true).map_err(ImageError::io("write", &tmp_path))?;
            let tar_out = write_tar(staged, entries, source_date_epoch, HashWriter::new(enc))?;
            let (enc, diff_id, uncompressed_size) = tar_out.into_parts();
            let out = enc.finish().map_err(ImageError::io("write", &tmp_path))?;
            let (mut buffered, digest, size) = out.into_parts();
            buffered.flush().map_err(ImageError::io("write", &tmp_path))?;
            LayerInfo { media_type: MEDIA_TYPE_LAYER_ZSTD, digest, size, diff_id, uncompressed_size }
        }
    };
    fs::set_permissions(&tmp_path, fs::Permissions::from_mode(0o644)).map_err(ImageError::io("chmod", &tmp_path))?;
    let dest = blobs_dir.join(info.digest.as_str());
    tmp.persist(&dest).map_err(|e| ImageError::Io { action: "rename a layer to", path: dest, cause: e.error })?;
    Ok(info)
}

/// One thing to put in the tar.
struct Entry {
    /// Path relative to the staged directory, `/`-separated, no trailing slash.
    rel: PathBuf,
    kind: Kind,
    /// Permission bits (`0o7777`).
    mode: u32,
}

enum Kind {
    Dir,
    File { size: u64 },
    Symlink { target: PathBuf },
}

/// Checks the two top-level entries, walks `rootfs/` and returns every entry sorted bytewise by
/// path. Fails on the first special file, before any output exists.
fn collect_entries(staged: &Path) -> Result<Vec<Entry>, ImageError> {
    let not_ext = |detail: String| ImageError::NotAnExtension { path: staged.to_path_buf(), detail };
    let mut top: Vec<_> = fs::read_dir(staged)
        .map_err(ImageError::io("read directory", staged))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(ImageError::io("read directory", staged))?;
    top.sort();
    if top != [MANIFEST_FILE, ROOTFS_DIR] {
        let names: Vec<_> = top.iter().map(|n| n.to_string_lossy().into_owned()).collect();
        return Err(not_ext(format!("found [{}]", names.join(", "))));
    }
    let manifest = staged.join(MANIFEST_FILE);
    if !fs::symlink_metadata(&manifest).map_err(ImageError::io("stat", &manifest))?.is_file() {
        return Err(not_ext(format!("{MANIFEST_FILE} is not a regular file")));
    }
    let rootfs = staged.join(ROOTFS_DIR);
    if !fs::symlink_metadata(&rootfs).map_err(ImageError::io("stat", &rootfs))?.is_dir() {
        return Err(not_ext(format!("{ROOTFS_DIR} is not a directory")));
    }

    let mut entries = vec![entry(staged, &manifest)?];
    for item in walkdir::WalkDir::new(&rootfs).follow_links(false) {
        let item = item.map_err(|e| {
            let path = e.path().unwrap_or(&rootfs).to_path_buf();
            ImageError::Io { action: "walk", path, cause: e.into() }
        })?;
        entries.push(entry(staged, item.path())?);
    }
    entries.sort_by(|a, b| a.rel.as_os_str().as_bytes().cmp(b.rel.as_os_str().as_bytes()));
    Ok(entries)
}

/// Every entry under `dir` (not `dir` itself), sorted bytewise by path. Fails on the first special
/// file, before any output exists.
fn collect_tree_entries(dir: &Path) -> Result<Vec<Entry>, ImageError> {
    let mut entries = Vec::new();
    for item in walkdir::WalkDir::new(dir).min_depth(1).follow_links(false) {
        let item = item.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_path_buf();
            ImageError::Io { action: "walk", path, cause: e.into() }
        })?;
        entries.push(entry(dir, item.path())?);
    }
    entries.sort_by(|a, b| a.rel.as_os_str().as_bytes().cmp(b.rel.as_os_str().as_bytes()));
    Ok(entries)
}

fn entry(staged: &Path, path: &Path) -> Result<Entry, ImageError> {
    let meta = fs::symlink_metadata(path).map_err(ImageError::io("stat", path))?;
    let rel = path.strip_prefix(staged).unwrap_or(path).to_path_buf();
    let mode = meta.permissions().mode() & 0o7777;
    let ft = meta.file_type();
    let kind = if ft.is_dir() {
        Kind::Dir
    } else if ft.is_file() {
        Kind::File { size: meta.len() }
    } else if ft.is_symlink() {
        Kind::Symlink { target: fs::read_link(path).map_err(ImageError::io("read link", path))? }
    } else {
        debug_assert!(ft.is_block_device() || ft.is_char_device() || ft.is_fifo() || ft.is_socket());
        return Err(ImageError::SpecialFile { path: path.to_path_buf() });
    };
    Ok(Entry { rel, kind, mode })
}

/// Writes the tar stream of `entries` into `out` and returns `out` (the end-of-archive blocks
/// written, nothing flushed or finished).
fn write_tar<W: Write>(staged: &Path, entries: &[Entry], epoch: u64, out: W) -> Result<W, ImageError> {
    let mut builder = tar::Builder::new(out);
    for e in entries {
        let path = staged.join(&e.rel);
        let mut header = Header::new_gnu();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(epoch);
        header.set_mode(e.mode);
        let written = match &e.kind {
            Kind::Dir => {
                header.set_entry_type(EntryType::Directory);
                header.set_size(0);
                let mut name = e.rel.as_os_str().to_owned();
                name.push("/");
                builder.append_data(&mut header, Path::new(&name), io::empty())
            }
            Kind::File { size } => {
                header.set_entry_type(EntryType::Regular);
                header.set_size(*size);
                let file = File::open(&path).map_err(ImageError::io("open", &path))?;
                let mut reader = ExactReader { inner: file, remaining: *size, expected: *size };
                match builder.append_data(&mut header, &e.rel, &mut reader) {
                    Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => {
                        let actual = *size - reader.remaining;
                        return Err(ImageError::FileChanged { path, expected: *size, actual });
                    }
                    other => other,
                }
            }
            Kind::Symlink { target } => {
                header.set_entry_type(EntryType::Symlink);
                header.set_size(0);
                builder.append_link(&mut header, &e.rel, target)
            }
        };
        written.map_err(ImageError::io("pack", &path))?;
    }
    builder.into_inner().map_err(ImageError::io("finish the tar stream of", staged))
}

/// Reads exactly `remaining` bytes of `inner`: stops there if the file grew, fails with
/// `UnexpectedEof` if it shrank, so the tar header's size is always honoured.
struct ExactReader<R> {
    inner: R,
    remaining: u64,
    expected: u64,
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let max = usize::try_from(self.remaining).unwrap_or(usize::MAX).min(buf.len());
        let n = self.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("file shrank to {} of {} bytes", self.expected - self.remaining, self.expected),
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}
