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
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
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

/// The paths whose contents every tree keeps: `manifest.yaml` and the service specs.
pub fn wants_contents(path: &str) -> bool {
    path == "manifest.yaml" || is_service_spec_path(path)
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
    pub fn from_dir_with(root: &Path, want: &dyn Fn(&str) -> bool) -> Result<Tree, Error> {
        let mut entries = Vec::new();
        let walk = walkdir::WalkDir::new(root).follow_links(false).sort_by_file_name().min_depth(1);
        for item in walk {
            let item = item.map_err(|e| {
                let path = e.path().unwrap_or(root).to_path_buf();
                let source = e.into_io_error().unwrap_or_else(|| io::Error::other("directory walk failed"));
                Error::Io { path, cause: source }
            })?;
            let full = item.path();
            let rel = full.strip_prefix(root).map_err(|_| Error::NonUtf8Path { path: full.to_path_buf() })?;
            let path = rel
                .components()
                .map(|c| c.as_os_str().to_str())
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| Error::NonUtf8Path { path: full.to_path_buf() })?
                .join("/");
            let io_err = |cause| Error::Io { path: full.to_path_buf(), cause };
            let meta = fs::symlink_metadata(full).map_err(io_err)?;
            let ft = meta.file_type();
            let kind = if ft.is_dir() {
                EntryKind::Dir
            } else if ft.is_file() {
                EntryKind::File
            } else if ft.is_symlink() {
                let target = fs::read_link(full).map_err(io_err)?;
                let target = target.to_str().ok_or_else(|| Error::NonUtf8Path { path: full.to_path_buf() })?;
                EntryKind::Symlink(target.to_string())
            } else if ft.is_fifo() {
                EntryKind::Fifo
            } else if ft.is_char_device() {
                EntryKind::CharDevice
            } else if ft.is_block_device() {
                EntryKind::BlockDevice
            } else {
                EntryKind::Socket
            };
            let contents = if kind == EntryKind::File && (wants_contents(&path) || want(&path)) {
                Some(fs::read(full).map_err(io_err)?)
            } else {
                None
            };
            entries.push(Entry { path, kind, mode: meta.permissions().mode() & 0o7777, nlink: meta.nlink(), contents });
        }
        Ok(Tree::from_entries(entries))
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
        entries.sort_by(|a, b| cmp_paths(&a.path, &b.path));
        let mut tree = Tree::default();
        for entry in entries {
            match tree.entries.last() {
                Some(last) if last.path == entry.path => tree.duplicates.push(entry.path),
                _ => tree.entries.push(entry),
            }
        }
        let mut missing: Vec<String> = Vec::new();
        for entry in &tree.entries {
            let mut path = entry.path.as_str();
            while let Some((parent, _)) = path.rsplit_once('/') {
                if tree.search(parent).is_err() {
                    missing.push(parent.to_string());
                }
                path = parent;
            }
        }
        if !missing.is_empty() {
            missing.sort_by(|a, b| cmp_paths(a, b));
            missing.dedup();
            tree.entries.extend(missing.iter().map(|p| Entry::dir(p, 0o700)));
            tree.entries.sort_by(|a, b| cmp_paths(&a.path, &b.path));
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

/// Component-wise order: a directory's children come right after it.
fn cmp_paths(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
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
    fn service_spec_paths() {
        assert!(is_service_spec_path("rootfs/usr/local/etc/containers/a.yaml"));
        assert!(is_service_spec_path("rootfs/usr/local/etc/containers/.yaml"));
        assert!(!is_service_spec_path("rootfs/usr/local/etc/containers/a.yml"));
        assert!(!is_service_spec_path("rootfs/usr/local/etc/containers/sub/a.yaml"));
        assert!(!is_service_spec_path("rootfs/usr/local/etc/containers"));
    }
}
