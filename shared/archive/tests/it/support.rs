//! Test helpers: building tar and zip archives entry by entry (including entries the `tar` and
//! `zip` crates' safe APIs would refuse), compressing them, and a sandbox whose whole contents can
//! be snapshotted to prove a refused archive changed nothing.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tar::{EntryType, Header};
use tempfile::TempDir;

/// One archive entry, with raw bytes for names so hostile ones can be expressed.
#[derive(Clone, Debug)]
pub struct Entry {
    pub name: Vec<u8>,
    pub kind: EntryType,
    pub mode: u32,
    pub link: Vec<u8>,
    pub data: Vec<u8>,
}

pub fn dir(name: &str) -> Entry {
    Entry { name: name.into(), kind: EntryType::Directory, mode: 0o700, link: vec![], data: vec![] }
}

pub fn file(name: &str, mode: u32, data: &str) -> Entry {
    Entry { name: name.into(), kind: EntryType::Regular, mode, link: vec![], data: data.into() }
}

pub fn symlink(name: &str, target: &str) -> Entry {
    Entry { name: name.into(), kind: EntryType::Symlink, mode: 0o777, link: target.into(), data: vec![] }
}

pub fn hardlink(name: &str, target: &str) -> Entry {
    Entry { name: name.into(), kind: EntryType::Link, mode: 0o644, link: target.into(), data: vec![] }
}

pub fn special(name: &str, kind: EntryType) -> Entry {
    Entry { name: name.into(), kind, mode: 0o666, link: vec![], data: vec![] }
}

pub fn raw_file(name: &[u8], data: &str) -> Entry {
    Entry { name: name.to_vec(), kind: EntryType::Regular, mode: 0o644, link: vec![], data: data.into() }
}

/// An old (mtime) timestamp written into every header, to check it is not preserved.
pub const OLD_MTIME: u64 = 1_000_000;

/// Builds a tar archive by writing header fields directly, bypassing the `tar` crate's checks.
/// Names that do not fit (or contain NUL) go into a GNU long-name entry.
pub fn tar_of(entries: &[Entry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = Header::new_gnu();
        if entry.name.len() >= 100 || entry.name.contains(&0) {
            let mut long = Header::new_gnu();
            long.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
            long.set_entry_type(EntryType::GNULongName);
            let mut data = entry.name.clone();
            data.push(0);
            long.set_size(data.len() as u64);
            long.set_mode(0o644);
            long.set_cksum();
            builder.append(&long, data.as_slice()).unwrap();
            header.as_old_mut().name[..10].copy_from_slice(b"long-name!");
        } else {
            header.as_old_mut().name[..entry.name.len()].copy_from_slice(&entry.name);
        }
        assert!(entry.link.len() < 100, "long link names are not needed by these tests");
        header.as_old_mut().linkname[..entry.link.len()].copy_from_slice(&entry.link);
        header.set_entry_type(entry.kind);
        header.set_mode(entry.mode);
        header.set_size(entry.data.len() as u64);
        header.set_mtime(OLD_MTIME);
        header.set_uid(4242);
        header.set_gid(4242);
        header.set_cksum();
        builder.append(&header, entry.data.as_slice()).unwrap();
    }
    builder.into_inner().unwrap()
}

/// Builds a zip archive; names are used as given (the zip writer does not sanitise them).
pub fn zip_of(entries: &[Entry]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for entry in entries {
        let name = String::from_utf8(entry.name.clone()).unwrap();
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(entry.mode);
        match entry.kind {
            EntryType::Directory => writer.add_directory(name, options).unwrap(),
            EntryType::Symlink => {
                writer.add_symlink(name, String::from_utf8(entry.link.clone()).unwrap(), options).unwrap()
            }
            EntryType::Regular => {
                writer.start_file(name, options).unwrap();
                writer.write_all(&entry.data).unwrap();
            }
            other => panic!("zip_of cannot write {other:?}"),
        }
    }
    writer.finish().unwrap().into_inner()
}

pub fn gz(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

pub fn xz(data: &[u8]) -> Vec<u8> {
    let mut encoder = liblzma::write::XzEncoder::new(Vec::new(), 6);
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

pub fn bz2(data: &[u8]) -> Vec<u8> {
    let mut encoder = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

pub fn zst(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).unwrap()
}

/// A temporary directory holding a sentinel file `x`, an empty `work/` (the destination's
/// parent) and the archives under test.
pub struct Sandbox {
    dir: TempDir,
}

pub const SENTINEL: &str = "sentinel, must not change\n";

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("x"), SENTINEL).unwrap();
        fs::create_dir(dir.path().join("work")).unwrap();
        Sandbox { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Where archives are unpacked: `work/dest`.
    pub fn dest(&self) -> PathBuf {
        self.root().join("work").join("dest")
    }

    /// Writes an archive into the sandbox and returns its path.
    pub fn archive(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.root().join(name);
        fs::write(&path, bytes).unwrap();
        path
    }

    /// Every path in the sandbox with its type, mode and contents (or link target).
    pub fn snapshot(&self) -> BTreeMap<String, String> {
        let mut all = BTreeMap::new();
        for entry in walkdir::WalkDir::new(self.root()).follow_links(false) {
            let entry = entry.unwrap();
            let rel = entry.path().strip_prefix(self.root()).unwrap().display().to_string();
            let meta = entry.path().symlink_metadata().unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            let what = if meta.file_type().is_symlink() {
                format!("symlink -> {}", fs::read_link(entry.path()).unwrap().display())
            } else if meta.is_dir() {
                format!("dir {mode:o}")
            } else {
                format!("file {mode:o} {:?}", fs::read(entry.path()).unwrap())
            };
            all.insert(rel, what);
        }
        all
    }
}

/// A one-line description of a path under `root`, for compact assertions on unpacked trees.
pub fn describe(root: &Path) -> String {
    let mut lines = Vec::new();
    for entry in walkdir::WalkDir::new(root).follow_links(false).sort_by_file_name().min_depth(1) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(root).unwrap().display().to_string();
        let meta = entry.path().symlink_metadata().unwrap();
        let mode = meta.permissions().mode() & 0o7777;
        let line = if meta.file_type().is_symlink() {
            format!("{rel} -> {}", fs::read_link(entry.path()).unwrap().display())
        } else if meta.is_dir() {
            format!("{rel}/ {mode:o}")
        } else {
            format!("{rel} {mode:o} {:?}", String::from_utf8_lossy(&fs::read(entry.path()).unwrap()))
        };
        lines.push(line);
    }
    lines.join("\n")
}
