//! [`Tree`]: an extension's file tree (`manifest.yaml` + `rootfs/`) as plain data, read from a
//! directory or from an uncompressed tar stream, so every rule runs on the same value whatever the
//! source.
//!
//! A tree holds one [`Entry`] per path, sorted component-wise (the depth-first order of a sorted
//! directory walk). File contents are kept only where asked for: `manifest.yaml` and the service
//! specs `rootfs/usr/local/etc/containers/*.yaml` always ([`wants_contents`]), other paths when the
//! caller's predicate says so (the module checks use [`crate::is_module_path`]). Reading never follows symlinks.
//!
//! Tar streams follow go-containerregistry's flattening (`mutate.Extract`, used by Talos' imager):
//! names are cleaned (`./a/../b` is `b`), the **first** entry for a path wins and later ones are
//! recorded as [`Tree::duplicates`]. Parent directories that have no entry of their own are
//! added with mode `0o700`, as Talos' untar creates them. Tar hardlinks stay [`EntryKind::Hardlink`]
//! entries; unknown entry types become files, as in Talos' untar.

use std::cmp::Ordering;
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File,
    /// A symlink and its target, verbatim.
    Symlink(String),
    /// A tar hardlink (`TypeLink`) and the tree path it links to.
    Hardlink(String),
    Fifo,
    CharDevice,
    BlockDevice,
    Socket,
}

impl EntryKind {
    /// FIFOs, devices and sockets.
    pub fn is_special(&self) -> bool {
        matches!(self, EntryKind::Fifo | EntryKind::CharDevice | EntryKind::BlockDevice | EntryKind::Socket)
    }
}

/// One path of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative, `/`-separated, without `.` or `..` components or a trailing slash:
    /// `manifest.yaml`, `rootfs`, `rootfs/usr/local/bin/x`.
    pub path: String,
    pub kind: EntryKind,
    /// Permission bits including setuid, setgid and sticky (`mode & 0o7777`).
    pub mode: u32,
    /// Link count: from `stat` in a directory walk, 1 for tar entries.
    pub nlink: u64,
    /// The bytes of a regular file, when they were asked for.
    pub contents: Option<Vec<u8>>,
}

impl Entry {
    /// A directory entry.
    pub fn dir(path: &str, mode: u32) -> Entry {
        Entry { path: path.to_string(), kind: EntryKind::Dir, mode, nlink: 1, contents: None }
    }

    /// A regular file with its contents.
    pub fn file(path: &str, mode: u32, contents: &[u8]) -> Entry {
        Entry { path: path.to_string(), kind: EntryKind::File, mode, nlink: 1, contents: Some(contents.to_vec()) }
    }

    /// Any other kind of entry, without contents.
    pub fn other(path: &str, kind: EntryKind, mode: u32) -> Entry {
        Entry { path: path.to_string(), kind, mode, nlink: 1, contents: None }
    }
}

/// A tree that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {}: {cause}", path.display())]
    Io { path: PathBuf, cause: io::Error },
    #[error("{}: file name is not valid UTF-8", path.display())]
    NonUtf8Path { path: PathBuf },
    #[error("cannot read tar stream: {cause}")]
    Tar { cause: io::Error },
    #[error("tar entry `{name}`: {message}")]
    TarEntry { name: String, message: String },
}

/// The paths whose contents every tree keeps: `manifest.yaml`, the service specs and the CRI
/// configuration parts.
pub fn wants_contents(path: &str) -> bool {
    path == "manifest.yaml" || is_service_spec_path(path) || crate::cri::is_cri_part_path(path)
}

/// `rootfs/usr/local/etc/containers/*.yaml`: only that directory level, only the `.yaml` suffix
/// (Go's `filepath.Glob`, so dot files match too).
pub fn is_service_spec_path(path: &str) -> bool {
    path.strip_prefix(crate::service::SPEC_DIR).is_some_and(|name| !name.contains('/') && name.ends_with(".yaml"))
}

/// An extension tree; see the module docs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    entries: Vec<Entry>,
    duplicates: Vec<String>,
}

impl Tree {
    /// Walks a directory holding `manifest.yaml` and `rootfs/`.
    pub fn from_dir(root: &Path) -> Result<Tree, Error> {
        Self::from_dir_with(root, &|_| false)
    }

    /// [`Tree::from_dir`], also keeping the contents of regular files for which `want` (given the
    /// tree path, e.g. `rootfs/usr/lib/modules/x.ko`) returns true.
    ///
    /// One `read_dir` per directory and one `lstat` per entry, relative to its directory's open
    /// descriptor (std's `DirEntry::metadata`); entries come out already in tree order, so no
    /// sort or parent search follows.
    pub fn from_dir_with(root: &Path, want: &dyn Fn(&str) -> bool) -> Result<Tree, Error> {
        Self::from_dir_reading(root, want, Stat::Full)
    }

    /// [`Tree::from_dir_with`], reading only as much of each entry as `stat` says.
    pub(crate) fn from_dir_reading(root: &Path, want: &dyn Fn(&str) -> bool, stat: Stat) -> Result<Tree, Error> {
        let mut entries = Vec::new();
        let mut rel = String::new();
        walk_dir(root, &mut rel, &Walk { want, stat }, &mut entries)?;
        debug_assert!(entries.is_sorted_by(|a, b| cmp_paths(&a.path, &b.path).is_lt()));
        Ok(Tree { entries, duplicates: Vec::new() })
    }

    /// Reads an uncompressed tar stream of `manifest.yaml` + `rootfs/`.
    pub fn from_tar(reader: impl Read) -> Result<Tree, Error> {
        Self::from_tar_with(reader, &|_| false)
    }

    /// [`Tree::from_tar`] with a predicate for further contents, as in [`Tree::from_dir_with`].
    pub fn from_tar_with(reader: impl Read, want: &dyn Fn(&str) -> bool) -> Result<Tree, Error> {
        let mut archive = tar::Archive::new(reader);
        let mut entries = Vec::new();
        for item in archive.entries().map_err(|cause| Error::Tar { cause })? {
            let mut item = item.map_err(|cause| Error::Tar { cause })?;
            let raw = String::from_utf8_lossy(&item.path_bytes()).into_owned();
            let header = item.header();
            let entry_type = header.entry_type();
            if entry_type.is_pax_global_extensions() {
                continue;
            }
            let Some(path) = clean_tar_path(&raw)? else {
                // `./` itself: the extraction root.
                continue;
            };
            let mode = header.mode().map_err(|e| Error::TarEntry { name: raw.clone(), message: e.to_string() })?;
            let link = || -> Result<String, Error> {
                let bytes = item.link_name_bytes().ok_or_else(|| Error::TarEntry {
                    name: raw.clone(),
                    message: "link entry without a target".to_string(),
                })?;
                String::from_utf8(bytes.into_owned())
                    .map_err(|_| Error::TarEntry { name: raw.clone(), message: "link target is not UTF-8".to_string() })
            };
            let kind = match entry_type {
                tar::EntryType::Directory => EntryKind::Dir,
                tar::EntryType::Symlink => EntryKind::Symlink(link()?),
                tar::EntryType::Link => {
                    let target = link()?;
                    EntryKind::Hardlink(clean_tar_path(&target)?.unwrap_or_default())
                }
                tar::EntryType::Char => EntryKind::CharDevice,
                tar::EntryType::Block => EntryKind::BlockDevice,
                tar::EntryType::Fifo => EntryKind::Fifo,
                _ => EntryKind::File,
            };
            let contents = if kind == EntryKind::File && (wants_contents(&path) || want(&path)) {
                let mut buf = Vec::new();
                item.read_to_end(&mut buf).map_err(|cause| Error::Tar { cause })?;
                Some(buf)
            } else {
                None
            };
            entries.push(Entry { path, kind, mode: mode & 0o7777, nlink: 1, contents });
        }
        // A wanted hardlink shares its target's bytes.
        let mut tree = Tree::from_entries(entries);
        let shared: Vec<(usize, Vec<u8>)> = tree
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| match &e.kind {
                EntryKind::Hardlink(target) if wants_contents(&e.path) || want(&e.path) => {
                    tree.contents(target).map(|c| (i, c.to_vec()))
                }
                _ => None,
            })
            .collect();
        for (i, bytes) in shared {
            tree.entries[i].contents = Some(bytes);
        }
        Ok(tree)
    }

    /// Builds a tree from entries with already clean paths. The first entry for a path wins, later
    /// ones are recorded as duplicates; missing parent directories are added (mode `0o700`).
    pub fn from_entries(mut entries: Vec<Entry>) -> Tree {
        // A stable sort keeps the stream order among equal paths, so the first one survives.
        // Already sorted input (a directory walk, most tar streams) costs one pass.
        entries.sort_by(|a, b| cmp_paths(&a.path, &b.path));
        let mut tree = Tree { entries: Vec::with_capacity(entries.len()), duplicates: Vec::new() };
        // Lengths of the prefixes of the previous path that are entries: the ancestors (and the
        // path itself) that exist. In tree order a directory's descendants follow it directly, so
        // an ancestor that is not on this stack has no entry at all.
        let mut present: Vec<usize> = Vec::new();
        for entry in entries {
            if let Some(last) = tree.entries.last() {
                if last.path == entry.path {
                    tree.duplicates.push(entry.path);
                    continue;
                }
                let prev = last.path.as_bytes();
                let path = entry.path.as_bytes();
                while let Some(&len) = present.last() {
                    if path.len() > len && path[len] == b'/' && path[..len] == prev[..len] {
                        break;
                    }
                    present.pop();
                }
            }
            let start = present.last().map_or(0, |len| len + 1);
            for (i, _) in entry.path[start..].match_indices('/') {
                let parent = &entry.path[..start + i];
                tree.entries.push(Entry::dir(parent, 0o700));
                present.push(parent.len());
            }
            present.push(entry.path.len());
            tree.entries.push(entry);
        }
        tree
    }

    /// All entries, sorted component-wise.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry at a tree path such as `rootfs/usr/local`.
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.search(path).ok().map(|i| &self.entries[i])
    }

    /// The kept contents of a file.
    pub fn contents(&self, path: &str) -> Option<&[u8]> {
        self.get(path).and_then(|e| e.contents.as_deref())
    }

    /// Paths that appeared more than once in a tar stream (only the first entry was kept).
    pub fn duplicates(&self) -> &[String] {
        &self.duplicates
    }

    fn search(&self, path: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|e| cmp_paths(&e.path, path))
    }
}

/// Component-wise order (`a.split('/')` against `b.split('/')`): a directory's descendants come
/// right after it. Compared byte-wise with `/` below every other byte, which is the same order
/// without splitting.
fn cmp_paths(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    match a.iter().zip(b).position(|(x, y)| x != y) {
        None => a.len().cmp(&b.len()),
        Some(i) => {
            let rank = |c: u8| if c == b'/' { 0 } else { u16::from(c) + 1 };
            rank(a[i]).cmp(&rank(b[i]))
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |cause| Error::Io { path: path.to_path_buf(), cause }
}

/// What a directory walk reads of each entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stat {
    /// One `lstat` per entry: real modes and link counts.
    Full,
    /// The types from the directory listing only, no `lstat`: every mode is 0 and every link
    /// count 1. Enough for Talos' own rules, which look at types and paths only.
    TypesOnly,
}

struct Walk<'a> {
    want: &'a dyn Fn(&str) -> bool,
    stat: Stat,
}

/// Appends the entries below `dir` (whose tree path is `rel`, empty for the root) in tree order.
fn walk_dir(dir: &Path, rel: &mut String, walk: &Walk<'_>, out: &mut Vec<Entry>) -> Result<(), Error> {
    let mut children = fs::read_dir(dir)
        .and_then(|items| items.map(|item| item.map(|e| (e.file_name(), e))).collect::<io::Result<Vec<_>>>())
        .map_err(io_err(dir))?;
    children.sort_unstable_by(|(a, _), (b, _)| a.as_bytes().cmp(b.as_bytes()));
    let rel_len = rel.len();
    for (name, child) in children {
        let name = name.to_str().ok_or_else(|| Error::NonUtf8Path { path: child.path() })?;
        if !rel.is_empty() {
            rel.push('/');
        }
        rel.push_str(name);
        let stat_err = |cause| Error::Io { path: child.path(), cause };
        let (ft, mode, nlink) = match walk.stat {
            Stat::Full => {
                let meta = child.metadata().map_err(stat_err)?;
                (meta.file_type(), meta.mode() & 0o7777, meta.nlink())
            }
            Stat::TypesOnly => (child.file_type().map_err(stat_err)?, 0, 1),
        };
        let kind = if ft.is_dir() {
            EntryKind::Dir
        } else if ft.is_file() {
            EntryKind::File
        } else if ft.is_symlink() {
            let full = child.path();
            let target = fs::read_link(&full).map_err(io_err(&full))?;
            let target = target.into_os_string().into_string().map_err(|_| Error::NonUtf8Path { path: full })?;
            EntryKind::Symlink(target)
        } else if ft.is_fifo() {
            EntryKind::Fifo
        } else if ft.is_char_device() {
            EntryKind::CharDevice
        } else if ft.is_block_device() {
            EntryKind::BlockDevice
        } else {
            EntryKind::Socket
        };
        let contents = if kind == EntryKind::File && (wants_contents(rel) || (walk.want)(rel)) {
            let full = child.path();
            Some(fs::read(&full).map_err(io_err(&full))?)
        } else {
            None
        };
        let is_dir = kind == EntryKind::Dir;
        out.push(Entry { path: rel.clone(), kind, mode, nlink, contents });
        if is_dir {
            walk_dir(&child.path(), rel, walk, out)?;
        }
        rel.truncate(rel_len);
    }
    Ok(())
}

/// `filepath.Clean` on a tar name, made relative; `None` for the root itself. A name that climbs
/// above the root is an error.
fn clean_tar_path(name: &str) -> Result<Option<String>, Error> {
    let mut parts: Vec<&str> = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(Error::TarEntry {
                        name: name.to_string(),
                        message: "path climbs above the archive root".to_string(),
                    });
                }
            }
            c => parts.push(c),
        }
    }
    Ok(if parts.is_empty() { None } else { Some(parts.join("/")) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_paths() {
        assert_eq!(clean_tar_path("./rootfs/usr/").unwrap().as_deref(), Some("rootfs/usr"));
        assert_eq!(clean_tar_path("/rootfs//a/../b").unwrap().as_deref(), Some("rootfs/b"));
        assert_eq!(clean_tar_path("./").unwrap(), None);
        assert!(clean_tar_path("../x").is_err());
    }

    #[test]
    fn entries_are_sorted_deduplicated_and_parented() {
        let tree = Tree::from_entries(vec![
            Entry::file("rootfs/usr-x", 0o644, b""),
            Entry::file("rootfs/usr/local/a", 0o644, b"first"),
            Entry::file("manifest.yaml", 0o644, b""),
            Entry::file("rootfs/usr/local/a", 0o644, b"second"),
        ]);
        let paths: Vec<&str> = tree.entries().iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            ["manifest.yaml", "rootfs", "rootfs/usr", "rootfs/usr/local", "rootfs/usr/local/a", "rootfs/usr-x"]
        );
        assert_eq!(tree.contents("rootfs/usr/local/a"), Some(&b"first"[..]));
        assert_eq!(tree.duplicates(), ["rootfs/usr/local/a"]);
        assert_eq!(tree.get("rootfs/usr").map(|e| e.mode), Some(0o700));
    }

    #[test]
    fn byte_order_is_component_order() {
        let paths = [
            "a",
            "a/b",
            "a-b",
            "a.b",
            "a/b/c",
            "a/b-c",
            "a/b.c",
            "a0",
            "ab",
            "a/",
            "b",
            "a/a",
            "a b",
            " ",
            "rootfs/usr",
            "rootfs/usr-x",
            "rootfs/usr/local",
            "rootfs/usr.d/x",
            "rootfs/usr!/x",
            "é/a",
            "e/a",
        ];
        for a in paths {
            for b in paths {
                assert_eq!(cmp_paths(a, b), a.split('/').cmp(b.split('/')), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn missing_parents_at_several_depths() {
        let tree = Tree::from_entries(vec![
            Entry::file("h", 0o644, b""),
            Entry::file("a/f/g", 0o644, b""),
            Entry::file("a/b/c/d", 0o644, b""),
            Entry::dir("a/b", 0o755),
            Entry::file("a/b/e", 0o644, b""),
        ]);
        let got: Vec<(&str, u32)> = tree.entries().iter().map(|e| (e.path.as_str(), e.mode)).collect();
        assert_eq!(
            got,
            [
                ("a", 0o700),
                ("a/b", 0o755),
                ("a/b/c", 0o700),
                ("a/b/c/d", 0o644),
                ("a/b/e", 0o644),
                ("a/f", 0o700),
                ("a/f/g", 0o644),
                ("h", 0o644)
            ]
        );
        assert!(tree.duplicates().is_empty());
    }

    #[test]
    fn service_spec_paths() {
        assert!(is_service_spec_path("rootfs/usr/local/etc/containers/a.yaml"));
        assert!(is_service_spec_path("rootfs/usr/local/etc/containers/.yaml"));
        assert!(!is_service_spec_path("rootfs/usr/local/etc/containers/a.yml"));
        assert!(!is_service_spec_path("rootfs/usr/local/etc/containers/sub/a.yaml"));
        assert!(!is_service_spec_path("rootfs/usr/local/etc/containers"));
    }
}
