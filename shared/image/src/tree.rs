//! [`ImageTree`]: what an extension image holds, path by path (kind, permission bits, size and
//! sha256 of files, symlink targets), read from a staged directory or from a layer's tar stream,
//! so both compare the same way; and the two comparisons the catalog tools make on it:
//! [`diff_trees`] (one image against another: added, removed and changed paths) and
//! [`overlaps`] (several extensions' `rootfs/` overlaid on one node: paths shipped by more than
//! one, with different contents).
//!
//! Paths are the layer's: `manifest.yaml`, `rootfs`, `rootfs/usr/local/bin/x` (relative,
//! `/`-separated, no trailing slash), sorted bytewise. File contents are kept only where the
//! caller's predicate asks (module `.modinfo`, SBOM documents); everything else is hashed while
//! it streams past. Reading never follows symlinks, and a tar stream's names must stay inside the
//! image (no absolute names, no `..`): this module reads, it never writes a tree to disk (that is
//! `talos_ext_archive::unpack_layer`).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use talos_ext_model::{Arch, Sha256};

use crate::error::ImageError;
use crate::hash::Summer;
use crate::layer::ROOTFS_DIR;
use crate::read::Layout;

/// What a path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeKind {
    Dir,
    /// A regular file (a tar hardlink counts as the file it links to).
    File {
        size: u64,
        sha256: Sha256,
    },
    Symlink {
        target: String,
    },
}

/// One path of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// The layer path (`rootfs/usr/local/bin/x`).
    pub path: String,
    pub kind: TreeKind,
    /// Permission bits (`mode & 0o7777`).
    pub mode: u32,
}

impl TreeEntry {
    /// Whether two entries are the same thing (kind, mode, contents or target), whatever their path.
    pub fn same_as(&self, other: &TreeEntry) -> bool {
        self.kind == other.kind && self.mode == other.mode
    }

    /// A short description for tables: `file 0644 1.2 KiB sha256:0123abcd4567`, `dir 0755`,
    /// `symlink -> /usr/local/x`.
    pub fn describe(&self) -> String {
        match &self.kind {
            TreeKind::Dir => format!("dir {:04o}", self.mode),
            TreeKind::File { size, sha256 } => {
                format!("file {:04o} {size} B sha256:{}", self.mode, &sha256.as_str()[..12])
            }
            TreeKind::Symlink { target } => format!("symlink -> {target}"),
        }
    }

    /// The size of a file (0 for anything else).
    pub fn size(&self) -> u64 {
        match &self.kind {
            TreeKind::File { size, .. } => *size,
            TreeKind::Dir | TreeKind::Symlink { .. } => 0,
        }
    }
}

/// An image's tree; see the module docs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageTree {
    entries: BTreeMap<String, TreeEntry>,
    contents: BTreeMap<String, Vec<u8>>,
}

/// Which files' bytes a tree keeps (given the layer path).
pub type Keep<'a> = &'a dyn Fn(&str) -> bool;

impl ImageTree {
    /// Walks an extension directory (`manifest.yaml` + `rootfs/`, as staged or exported), keeping
    /// the bytes of the files `keep` asks for. Devices, FIFOs and sockets are an error.
    pub fn from_dir(dir: &Path, keep: Keep<'_>) -> Result<ImageTree, ImageError> {
        let mut tree = ImageTree::default();
        for item in walkdir::WalkDir::new(dir).min_depth(1).follow_links(false).sort_by_file_name() {
            let item = item.map_err(|e| {
                let path = e.path().unwrap_or(dir).to_path_buf();
                ImageError::Io { action: "walk", path, cause: e.into() }
            })?;
            let full = item.path();
            let rel = full.strip_prefix(dir).unwrap_or(full);
            let path = rel.to_str().ok_or_else(|| ImageError::Unsupported {
                path: full.to_path_buf(),
                message: "the file name is not UTF-8".into(),
            })?;
            let meta = fs::symlink_metadata(full).map_err(ImageError::io("stat", full))?;
            let mode = meta.permissions().mode() & 0o7777;
            let ft = meta.file_type();
            let kind = if ft.is_dir() {
                TreeKind::Dir
            } else if ft.is_symlink() {
                let target = fs::read_link(full).map_err(ImageError::io("read link", full))?;
                let target = target.into_os_string().into_string().map_err(|_| ImageError::Unsupported {
                    path: full.to_path_buf(),
                    message: "the symlink target is not UTF-8".into(),
                })?;
                TreeKind::Symlink { target }
            } else if ft.is_file() {
                let file = fs::File::open(full).map_err(ImageError::io("open", full))?;
                let kept = keep(path);
                let (size, sha256, bytes) = hash_reader(file, kept).map_err(ImageError::io("read", full))?;
                if let Some(bytes) = bytes {
                    tree.contents.insert(path.to_string(), bytes);
                }
                TreeKind::File { size, sha256 }
            } else {
                return Err(ImageError::SpecialFile { path: full.to_path_buf() });
            };
            tree.entries.insert(path.to_string(), TreeEntry { path: path.to_string(), kind, mode });
        }
        Ok(tree)
    }

    /// Reads an uncompressed layer tar stream, keeping the bytes of the files `keep` asks for.
    /// Names are cleaned of `./` and empty components; absolute names, `..`, a path given twice,
    /// a hardlink to anything but an earlier file, and devices or FIFOs are errors naming the entry.
    pub fn from_tar(reader: impl Read, keep: Keep<'_>) -> Result<ImageTree, ImageError> {
        let bad = |name: &str, message: String| ImageError::Unsupported {
            path: format!("layer entry `{}`", name.escape_debug()).into(),
            message,
        };
        let tar_err = |cause| ImageError::Io { action: "read", path: "the layer's tar stream".into(), cause };
        let mut tree = ImageTree::default();
        let mut archive = tar::Archive::new(reader);
        for item in archive.entries().map_err(tar_err)? {
            let mut item = item.map_err(tar_err)?;
            let raw = String::from_utf8_lossy(&item.path_bytes()).into_owned();
            let header = item.header();
            let entry_type = header.entry_type();
            if entry_type.is_pax_global_extensions() {
                continue;
            }
            let Some(path) = clean_name(&raw).map_err(|m| bad(&raw, m.into()))? else {
                continue; // `./`: the root itself
            };
            let mode = header.mode().map_err(|e| bad(&raw, e.to_string()))? & 0o7777;
            let link = || -> Result<String, ImageError> {
                let bytes = item.link_name_bytes().ok_or_else(|| bad(&raw, "a link without a target".into()))?;
                String::from_utf8(bytes.into_owned()).map_err(|_| bad(&raw, "the link target is not UTF-8".into()))
            };
            let kind = match entry_type {
                tar::EntryType::Directory => TreeKind::Dir,
                tar::EntryType::Symlink => TreeKind::Symlink { target: link()? },
                tar::EntryType::Link => {
                    let target = link()?;
                    let target = clean_name(&target).ok().flatten().unwrap_or_default();
                    let shared = tree.entries.get(&target).filter(|e| matches!(e.kind, TreeKind::File { .. }));
                    let Some(shared) = shared else {
                        return Err(bad(&raw, format!("hardlink to `{target}`, which is not a file before it")));
                    };
                    if let Some(bytes) = tree.contents.get(&target).filter(|_| keep(&path)).cloned() {
                        tree.contents.insert(path.clone(), bytes);
                    }
                    shared.kind.clone()
                }
                tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                    let kept = keep(&path);
                    let (size, sha256, bytes) = hash_reader(&mut item, kept).map_err(tar_err)?;
                    if let Some(bytes) = bytes {
                        tree.contents.insert(path.clone(), bytes);
                    }
                    TreeKind::File { size, sha256 }
                }
                other => return Err(bad(&raw, format!("{other:?} entries are not supported"))),
            };
            if tree.entries.contains_key(&path) {
                return Err(bad(&raw, "the path appears twice in the layer".into()));
            }
            tree.entries.insert(path.clone(), TreeEntry { path, kind, mode });
        }
        Ok(tree)
    }

    /// Every entry, sorted by path.
    pub fn entries(&self) -> impl Iterator<Item = &TreeEntry> {
        self.entries.values()
    }

    /// The entry at a layer path.
    pub fn get(&self, path: &str) -> Option<&TreeEntry> {
        self.entries.get(path)
    }

    /// The kept bytes of a file.
    pub fn contents(&self, path: &str) -> Option<&[u8]> {
        self.contents.get(path).map(Vec::as_slice)
    }

    /// The kept files and their bytes, sorted by path.
    pub fn kept(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.contents.iter().map(|(p, b)| (p.as_str(), b.as_slice()))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the tree has no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Layout {
    /// The tree of `arch`'s layer (see [`ImageTree::from_tar`]). Blobs are not verified here; call
    /// [`Layout::verify`] first for that.
    pub fn tree(&self, arch: Arch, keep: Keep<'_>) -> Result<ImageTree, ImageError> {
        ImageTree::from_tar(self.layer_reader(arch)?, keep)
    }
}

/// `name` without `./`, empty components and a trailing `/`; `None` for the root itself.
fn clean_name(name: &str) -> Result<Option<String>, &'static str> {
    if name.starts_with('/') {
        return Err("absolute names are not allowed in a layer");
    }
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("`..` is not allowed in a layer"),
            part => parts.push(part),
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

/// Size and sha256 of everything `reader` yields, with the bytes themselves when `keep`.
fn hash_reader(mut reader: impl Read, keep: bool) -> io::Result<(u64, Sha256, Option<Vec<u8>>)> {
    let mut summer = Summer::default();
    let mut kept = keep.then(Vec::new);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        summer.update(&buf[..n]);
        if let Some(k) = &mut kept {
            k.extend_from_slice(&buf[..n]);
        }
    }
    let (sha256, size) = summer.finish();
    Ok((size, sha256, kept))
}

/// A path in both trees whose entry differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub old: TreeEntry,
    pub new: TreeEntry,
}

/// How one image's tree differs from another's. Directories count only when their mode or kind
/// changes: one that merely appears or disappears is implied by its files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeDiff {
    pub added: Vec<TreeEntry>,
    pub removed: Vec<TreeEntry>,
    pub changed: Vec<Changed>,
}

impl TreeDiff {
    /// Nothing differs.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// `new` against `old`, sorted by path.
pub fn diff_trees(old: &ImageTree, new: &ImageTree) -> TreeDiff {
    let mut diff = TreeDiff::default();
    for (path, o) in &old.entries {
        match new.entries.get(path) {
            None if o.kind != TreeKind::Dir => diff.removed.push(o.clone()),
            None => {}
            Some(n) if !o.same_as(n) => diff.changed.push(Changed { old: o.clone(), new: n.clone() }),
            Some(_) => {}
        }
    }
    diff.added = new
        .entries
        .iter()
        .filter(|(p, n)| n.kind != TreeKind::Dir && !old.entries.contains_key(*p))
        .map(|(_, n)| n.clone())
        .collect();
    diff
}

/// A path of the node's root file system that several extensions ship, not all alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    /// The path on the node, relative to `/` (`usr/local/bin/x`).
    pub path: String,
    /// Each extension shipping it (in the order the trees were given) and what it ships there.
    pub shipped: Vec<(String, TreeEntry)>,
}

/// The paths that two or more of `trees` (named extensions) put on the node: each extension's
/// `rootfs/` is overlaid on `/`, so a path two of them ship holds only one of the two. Paths that
/// every shipper ships alike (kind, mode and contents or target) and directories (which overlay
/// merges) are left out; a directory in one and anything else in another is an overlap.
/// `manifest.yaml` is each extension's own and never overlaps.
pub fn overlaps(trees: &[(&str, &ImageTree)]) -> Vec<Overlap> {
    let prefix = format!("{ROOTFS_DIR}/");
    let mut by_path: BTreeMap<&str, Vec<(String, TreeEntry)>> = BTreeMap::new();
    for (name, tree) in trees {
        for (path, entry) in &tree.entries {
            if let Some(node_path) = path.strip_prefix(&prefix) {
                by_path.entry(node_path).or_default().push((name.to_string(), entry.clone()));
            }
        }
    }
    by_path
        .into_iter()
        .filter(|(_, shipped)| {
            shipped.len() > 1
                && !shipped.iter().all(|(_, e)| e.kind == TreeKind::Dir)
                && !shipped.iter().all(|(_, e)| e.same_as(&shipped[0].1))
        })
        .map(|(path, shipped)| Overlap { path: path.to_string(), shipped })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar(entries: &[(&str, tar::EntryType, u32, &[u8], &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, kind, mode, data, link) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_mode(*mode);
            header.set_size(data.len() as u64);
            if !link.is_empty() {
                header.set_link_name(link).unwrap();
            }
            // `append_data` would refuse `..`; write the name into the header directly.
            let field = &mut header.as_old_mut().name;
            field[..name.len()].copy_from_slice(name.as_bytes());
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    use tar::EntryType::{Directory as D, Link as H, Regular as F, Symlink as S};

    #[test]
    fn reads_a_layer_with_hardlinks_and_kept_contents() {
        let bytes = tar(&[
            ("./manifest.yaml", F, 0o644, b"m\n", ""),
            ("rootfs/", D, 0o755, b"", ""),
            ("rootfs/a", F, 0o755, b"hello", ""),
            ("rootfs/b", H, 0o755, b"", "rootfs/a"),
            ("rootfs/l", S, 0o777, b"", "/usr/local/a"),
        ]);
        let tree = ImageTree::from_tar(&bytes[..], &|p| p == "manifest.yaml").unwrap();
        let paths: Vec<&str> = tree.entries().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["manifest.yaml", "rootfs", "rootfs/a", "rootfs/b", "rootfs/l"]);
        assert_eq!(tree.contents("manifest.yaml"), Some(&b"m\n"[..]));
        assert_eq!(tree.contents("rootfs/a"), None);
        assert!(tree.get("rootfs/a").unwrap().same_as(tree.get("rootfs/b").unwrap()));
        assert_eq!(tree.get("rootfs/a").unwrap().size(), 5);
        assert_eq!(tree.get("rootfs/l").unwrap().describe(), "symlink -> /usr/local/a");
    }

    #[test]
    fn hostile_names_are_errors_naming_the_entry() {
        for (name, want) in [("../x", "`..`"), ("/etc/x", "absolute"), ("rootfs/../../x", "`..`")] {
            let err = ImageTree::from_tar(&tar(&[(name, F, 0o644, b"x", "")])[..], &|_| false).unwrap_err().to_string();
            assert!(err.contains(&format!("`{name}`")) && err.contains(want), "{err}");
        }
        let twice = tar(&[("rootfs/a", F, 0o644, b"x", ""), ("./rootfs/a", F, 0o644, b"y", "")]);
        let err = ImageTree::from_tar(&twice[..], &|_| false).unwrap_err().to_string();
        assert!(err.contains("appears twice"), "{err}");
        let dangling = tar(&[("rootfs/b", H, 0o644, b"", "rootfs/a")]);
        let err = ImageTree::from_tar(&dangling[..], &|_| false).unwrap_err().to_string();
        assert!(err.contains("not a file before it"), "{err}");
    }

    #[test]
    fn diff_and_overlaps() {
        let old = ImageTree::from_tar(
            &tar(&[
                ("rootfs/", D, 0o755, b"", ""),
                ("rootfs/same", F, 0o644, b"s", ""),
                ("rootfs/gone", F, 0o644, b"g", ""),
                ("rootfs/edit", F, 0o644, b"1", ""),
                ("rootfs/chmod", F, 0o644, b"c", ""),
                ("rootfs/olddir/", D, 0o755, b"", ""),
            ])[..],
            &|_| false,
        )
        .unwrap();
        let new = ImageTree::from_tar(
            &tar(&[
                ("rootfs/", D, 0o755, b"", ""),
                ("rootfs/same", F, 0o644, b"s", ""),
                ("rootfs/new", F, 0o644, b"n", ""),
                ("rootfs/edit", F, 0o644, b"22", ""),
                ("rootfs/chmod", F, 0o755, b"c", ""),
                ("rootfs/newdir/", D, 0o755, b"", ""),
            ])[..],
            &|_| false,
        )
        .unwrap();
        let d = diff_trees(&old, &new);
        let names = |v: &[TreeEntry]| v.iter().map(|e| e.path.clone()).collect::<Vec<_>>();
        assert_eq!(names(&d.added), ["rootfs/new"]);
        assert_eq!(names(&d.removed), ["rootfs/gone"]);
        let changed: Vec<(&str, u64, u64)> =
            d.changed.iter().map(|c| (c.old.path.as_str(), c.old.size(), c.new.size())).collect();
        assert_eq!(changed, [("rootfs/chmod", 1, 1), ("rootfs/edit", 1, 2)]);
        assert!(diff_trees(&new, &new).is_empty());

        // `same` is identical in both, the root directory merges: only `edit` and `chmod` overlap.
        let found = overlaps(&[("a", &old), ("b", &new)]);
        let paths: Vec<(&str, Vec<&str>)> =
            found.iter().map(|o| (o.path.as_str(), o.shipped.iter().map(|(n, _)| n.as_str()).collect())).collect();
        assert_eq!(paths, [("chmod", vec!["a", "b"]), ("edit", vec!["a", "b"])]);
    }
}
