//! The only code that writes unpacked entries to disk, and so the one that enforces the rules
//! about where they may go.
//!
//! Readers (`read_tar`, `read_zip`) hand each entry over as a raw name, an [`EntryKind`] and its
//! data; the sink validates the name, strips leading components, and creates the entry under the
//! root (a fresh temporary directory). It never follows a symlink: every parent of an entry must be
//! a real directory (checked with `symlink_metadata`), files are created with `O_EXCL` after
//! unlinking whatever was there, and symlink targets must resolve inside the root. Because a later
//! symlink can change how an earlier one resolves, [`Sink::finish`] re-checks every symlink against
//! the final tree. The sink does not pick the root or move it into place; that is `unpack`.
//!
//! A sink for file-system trees ([`Sink::trees`], used by `unpack_trees`) takes several archives
//! one after another into the same root: an absolute symlink target there names a path inside
//! the root and is rewritten as a relative one before the usual checks, and every link of every
//! archive is re-checked against the final tree.

use std::collections::VecDeque;
use std::fs::{self, DirBuilder, OpenOptions, Permissions};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::name::{check_characters, enclosed_name, enclosed_or_root};
use crate::{EnclosedPath, NameProblem, Refusal, UnpackError};

/// Mode of every directory created.
const DIR_MODE: u32 = 0o755;
/// Mode of a regular file whose archived mode has any exec bit.
const EXEC_MODE: u32 = 0o755;
/// Mode of any other regular file.
const FILE_MODE: u32 = 0o644;
/// How many symlinks one resolution may follow before it is treated as a loop (as Linux's 40).
const MAX_SYMLINK_FOLLOWS: usize = 40;

/// What an archive entry is, as far as unpacking cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EntryKind {
    /// A directory and its archived permission bits.
    Directory {
        mode: u32,
    },
    /// A regular file and its archived permission bits.
    File {
        mode: u32,
    },
    Symlink {
        target: Vec<u8>,
    },
    Hardlink {
        target: Vec<u8>,
    },
    /// Metadata-only entries (such as a pax global header) that produce nothing.
    Ignored,
    /// Anything that is refused whatever its name: devices, FIFOs, sockets, unknown types.
    Unsupported {
        kind: &'static str,
    },
}

/// A symlink created during unpacking, re-checked in [`Sink::finish`].
struct CreatedLink {
    archive: PathBuf,
    entry: String,
    path: EnclosedPath,
    target: String,
}

/// What a sink does with modes and absolute symlink targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    /// Source archives: only the exec bit is kept; absolute symlink targets are refused.
    Source,
    /// File-system trees: as `Source`, but an absolute symlink target names a path inside the
    /// root and is rewritten as a relative link.
    Trees,
    /// Image layers: permission bits are kept (`0o777`: never setuid, setgid or sticky); an
    /// absolute symlink target names a path of the image's root file system (`<root>/rootfs/`,
    /// where the node sees `/`), is checked as resolving inside it and kept as written.
    Layer,
}

/// The directory of an image layer that absolute symlink targets name ([`Policy::Layer`]).
const LAYER_ROOTFS: &str = "rootfs";

/// Counts gathered while unpacking.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub entries: u64,
    pub skipped: u64,
    pub bytes: u64,
    pub top_level: Option<String>,
}

pub(crate) struct Sink<'a> {
    root: &'a Path,
    /// The archive being read (for messages).
    archive: PathBuf,
    strip: usize,
    policy: Policy,
    links: Vec<CreatedLink>,
    /// Directories and their archived modes, applied at the end ([`Policy::Layer`]): a directory
    /// without write permission must still receive its entries.
    dir_modes: Vec<(PathBuf, u32)>,
    stats: Stats,
    /// Set once two different top-level names have been seen.
    several_tops: bool,
}

impl<'a> Sink<'a> {
    /// A sink writing under `root`, which must be an existing, canonical, empty directory.
    pub(crate) fn new(root: &'a Path, archive: &Path, strip: usize) -> Sink<'a> {
        Sink {
            root,
            archive: archive.to_path_buf(),
            strip,
            policy: Policy::Source,
            links: Vec::new(),
            dir_modes: Vec::new(),
            stats: Stats::default(),
            several_tops: false,
        }
    }

    /// A sink for file-system trees under `root`: nothing stripped, absolute symlink targets
    /// inside the root; the archives are announced with [`Sink::next_archive`].
    pub(crate) fn trees(root: &'a Path) -> Sink<'a> {
        Sink { policy: Policy::Trees, ..Sink::new(root, Path::new(""), 0) }
    }

    /// A sink for an image layer (`manifest.yaml` + `rootfs/`) under `root`: nothing stripped,
    /// permission bits kept, absolute symlink targets naming paths of `rootfs/` (see [`Policy`]).
    pub(crate) fn layer(root: &'a Path, archive: &Path) -> Sink<'a> {
        Sink { policy: Policy::Layer, ..Sink::new(root, archive, 0) }
    }

    /// Starts reading `archive` into the same root, and returns the counts of the one before.
    pub(crate) fn next_archive(&mut self, archive: &Path) -> Stats {
        self.archive = archive.to_path_buf();
        self.several_tops = false;
        std::mem::take(&mut self.stats)
    }

    fn refuse(&self, entry: &str, reason: Refusal) -> UnpackError {
        UnpackError::Refused { archive: self.archive.clone(), entry: entry.to_owned(), reason }
    }

    fn extract_err(&self, entry: &str, path: &Path, source: io::Error) -> UnpackError {
        UnpackError::Extract {
            archive: self.archive.clone(),
            entry: entry.to_owned(),
            path: path.to_path_buf(),
            source,
        }
    }

    /// Unpacks one entry; `data` is read only for regular files.
    pub(crate) fn add(&mut self, raw_name: &[u8], kind: EntryKind, data: &mut dyn Read) -> Result<(), UnpackError> {
        let entry = String::from_utf8_lossy(raw_name).into_owned();
        let name = enclosed_or_root(raw_name).map_err(|p| self.refuse(&entry, Refusal::Name(p)))?;
        match kind {
            EntryKind::Ignored => return Ok(()),
            EntryKind::Unsupported { kind } => return Err(self.refuse(&entry, Refusal::Unsupported { kind })),
            _ => {}
        }
        let Some(name) = name else {
            // `./` and the like: the archive root itself.
            return if matches!(kind, EntryKind::Directory { .. }) {
                self.stats.skipped += 1;
                Ok(())
            } else {
                Err(self.refuse(&entry, Refusal::Name(NameProblem::Empty)))
            };
        };
        self.note_top_level(name.first())?;
        let Some(rel) = name.strip(self.strip) else {
            return if matches!(kind, EntryKind::Directory { .. }) {
                self.stats.skipped += 1;
                Ok(())
            } else {
                Err(self.refuse(&entry, Refusal::StrippedAway))
            };
        };
        match kind {
            EntryKind::Directory { mode } => self.directory(&entry, &rel, mode)?,
            EntryKind::File { mode } => self.file(&entry, &rel, mode, data)?,
            EntryKind::Symlink { target } => self.symlink(&entry, &rel, &target)?,
            EntryKind::Hardlink { target } => self.hardlink(&entry, &rel, &target)?,
            EntryKind::Ignored | EntryKind::Unsupported { .. } => {}
        }
        self.stats.entries += 1;
        Ok(())
    }

    fn note_top_level(&mut self, first: &str) -> Result<(), UnpackError> {
        match &self.stats.top_level {
            None if !self.several_tops => self.stats.top_level = Some(first.to_owned()),
            Some(top) if top != first => {
                if self.strip > 0 {
                    return Err(UnpackError::NonSingularArchive {
                        archive: self.archive.to_path_buf(),
                        first: top.clone(),
                        other: first.to_owned(),
                    });
                }
                self.stats.top_level = None;
                self.several_tops = true;
            }
            _ => {}
        }
        Ok(())
    }

    /// Checks (and with `create`, makes) every parent of `rel` as a real directory under the root,
    /// returning the full path of `rel` itself.
    fn parents(&self, entry: &str, rel: &EnclosedPath, create: bool) -> Result<Option<PathBuf>, UnpackError> {
        let components = rel.components();
        let mut path = self.root.to_path_buf();
        for (i, component) in components[..components.len() - 1].iter().enumerate() {
            path.push(component);
            match fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => {}
                Ok(meta) => {
                    let parent = components[..=i].join("/");
                    let reason = if meta.file_type().is_symlink() {
                        Refusal::ThroughSymlink { parent }
                    } else {
                        Refusal::ParentNotDirectory { parent }
                    };
                    return Err(self.refuse(entry, reason));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                    self.make_dir(&path).map_err(|e| self.extract_err(entry, &path, e))?;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(self.extract_err(entry, &path, e)),
            }
        }
        path.push(&components[components.len() - 1]);
        Ok(Some(path))
    }

    fn make_dir(&self, path: &Path) -> io::Result<()> {
        DirBuilder::new().mode(DIR_MODE).create(path)?;
        // Undo the umask, so the result does not depend on who runs us.
        fs::set_permissions(path, Permissions::from_mode(DIR_MODE))
    }

    /// Makes room for a non-directory at `path`: unlinks a file or symlink (never following it),
    /// refuses to replace a directory.
    fn clear(&self, entry: &str, rel: &EnclosedPath, path: &Path) -> Result<(), UnpackError> {
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => {
                Err(self.refuse(entry, Refusal::Conflict { path: rel.to_string(), existing: "directory" }))
            }
            Ok(_) => fs::remove_file(path).map_err(|e| self.extract_err(entry, path, e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.extract_err(entry, path, e)),
        }
    }

    fn full_path(&self, entry: &str, rel: &EnclosedPath) -> Result<PathBuf, UnpackError> {
        // With `create`, `parents` always returns a path.
        self.parents(entry, rel, true)?.ok_or_else(|| {
            self.extract_err(entry, self.root, io::Error::new(io::ErrorKind::NotFound, "parent directory vanished"))
        })
    }

    fn directory(&mut self, entry: &str, rel: &EnclosedPath, mode: u32) -> Result<(), UnpackError> {
        let path = self.full_path(entry, rel)?;
        if self.policy == Policy::Layer {
            self.dir_modes.push((path.clone(), mode & 0o777));
        }
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(meta) => {
                let existing = if meta.file_type().is_symlink() { "symlink" } else { "file" };
                Err(self.refuse(entry, Refusal::Conflict { path: rel.to_string(), existing }))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.make_dir(&path).map_err(|e| self.extract_err(entry, &path, e))
            }
            Err(e) => Err(self.extract_err(entry, &path, e)),
        }
    }

    fn file(&mut self, entry: &str, rel: &EnclosedPath, mode: u32, data: &mut dyn Read) -> Result<(), UnpackError> {
        let path = self.full_path(entry, rel)?;
        self.clear(entry, rel, &path)?;
        let mode = match self.policy {
            Policy::Layer => mode & 0o777,
            Policy::Source | Policy::Trees if mode & 0o111 != 0 => EXEC_MODE,
            Policy::Source | Policy::Trees => FILE_MODE,
        };
        self.stats.bytes += write_new_file(&path, mode, data).map_err(|e| self.extract_err(entry, &path, e))?;
        Ok(())
    }

    fn symlink(&mut self, entry: &str, rel: &EnclosedPath, raw_target: &[u8]) -> Result<(), UnpackError> {
        let lossy = String::from_utf8_lossy(raw_target).into_owned();
        let target = check_characters(raw_target)
            .map_err(|problem| self.refuse(entry, Refusal::BadSymlinkTarget { target: lossy.clone(), problem }))?;
        // `written` is the link's target on disk, `checked` how it resolves under the root.
        let (written, checked) = match (target.strip_prefix('/'), self.policy) {
            (Some(inside), Policy::Trees) => {
                let relative = relative_to_root(rel, inside);
                (relative.clone(), relative)
            }
            (Some(inside), Policy::Layer) => {
                (target.to_owned(), relative_to_root(rel, &format!("{LAYER_ROOTFS}/{inside}")))
            }
            (Some(_), Policy::Source) => return Err(self.refuse(entry, Refusal::AbsoluteSymlink { target: lossy })),
            (None, _) => (target.to_owned(), target.to_owned()),
        };
        if !self.resolves_inside(rel, &checked) {
            return Err(self.refuse(entry, Refusal::SymlinkEscape { target: lossy }));
        }
        let path = self.full_path(entry, rel)?;
        self.clear(entry, rel, &path)?;
        std::os::unix::fs::symlink(&written, &path).map_err(|e| self.extract_err(entry, &path, e))?;
        self.links.push(CreatedLink {
            archive: self.archive.clone(),
            entry: entry.to_owned(),
            path: rel.clone(),
            target: written,
        });
        Ok(())
    }

    fn hardlink(&mut self, entry: &str, rel: &EnclosedPath, raw_target: &[u8]) -> Result<(), UnpackError> {
        let lossy = String::from_utf8_lossy(raw_target).into_owned();
        let bad = |problem| Refusal::BadHardlinkTarget { target: lossy.clone(), problem };
        let target = enclosed_name(raw_target).map_err(|p| self.refuse(entry, bad(p)))?;
        // Hardlink targets are archive names, so they are stripped like entry names.
        let Some(target) = target.strip(self.strip) else {
            return Err(self.refuse(entry, bad(NameProblem::Empty)));
        };
        let missing = || Refusal::HardlinkTargetMissing { target: lossy.clone() };
        let Some(target_path) = self.parents(entry, &target, false)? else {
            return Err(self.refuse(entry, missing()));
        };
        match fs::symlink_metadata(&target_path) {
            Ok(meta) if meta.is_file() => {}
            _ => return Err(self.refuse(entry, missing())),
        }
        if target == *rel {
            return Ok(());
        }
        let path = self.full_path(entry, rel)?;
        self.clear(entry, rel, &path)?;
        // `link(2)` without `AT_SYMLINK_FOLLOW`; the target is a regular file in any case.
        fs::hard_link(&target_path, &path).map_err(|e| self.extract_err(entry, &path, e))
    }

    /// Resolves `target` from the directory holding the link at `link`, following symlinks that
    /// already exist under the root, and reports whether it never leaves the root.
    fn resolves_inside(&self, link: &EnclosedPath, target: &str) -> bool {
        let components = link.components();
        let mut stack: Vec<String> = components[..components.len() - 1].to_vec();
        let mut pending: VecDeque<String> = target.split('/').map(str::to_owned).collect();
        let mut follows = 0;
        while let Some(component) = pending.pop_front() {
            match component.as_str() {
                "" | "." => {}
                ".." => {
                    if stack.pop().is_none() {
                        return false;
                    }
                }
                _ => {
                    stack.push(component);
                    let path: PathBuf =
                        std::iter::once(self.root.to_path_buf()).chain(stack.iter().map(PathBuf::from)).collect();
                    let Ok(meta) = fs::symlink_metadata(&path) else {
                        // Nothing exists below a missing path, so the rest resolves lexically.
                        continue;
                    };
                    if !meta.file_type().is_symlink() {
                        continue;
                    }
                    follows += 1;
                    let Ok(next) = fs::read_link(&path) else {
                        return false;
                    };
                    let Some(next) = next.to_str() else {
                        return false;
                    };
                    if follows > MAX_SYMLINK_FOLLOWS {
                        return false;
                    }
                    stack.pop();
                    if let Some(inside) = next.strip_prefix('/') {
                        // Only image layers keep absolute targets: they start at `rootfs/`.
                        if self.policy != Policy::Layer {
                            return false;
                        }
                        stack = vec![LAYER_ROOTFS.to_owned()];
                        for part in inside.split('/').rev() {
                            pending.push_front(part.to_owned());
                        }
                        continue;
                    }
                    for part in next.split('/').rev() {
                        pending.push_front(part.to_owned());
                    }
                }
            }
        }
        true
    }

    /// Re-checks every symlink against the finished tree, gives directories their archived modes
    /// ([`Policy::Layer`]: deepest first, so none loses write permission before its children are
    /// done) and returns the counts.
    pub(crate) fn finish(mut self) -> Result<Stats, UnpackError> {
        self.check_links()?;
        self.dir_modes.sort_by(|a, b| b.0.cmp(&a.0));
        for (path, mode) in &self.dir_modes {
            fs::set_permissions(path, Permissions::from_mode(*mode)).map_err(|source| UnpackError::Extract {
                archive: self.archive.clone(),
                entry: path.strip_prefix(self.root).unwrap_or(path).display().to_string(),
                path: path.clone(),
                source,
            })?;
        }
        if self.stats.entries == 0 {
            return Err(UnpackError::EmptyArchive { archive: self.archive.clone() });
        }
        Ok(self.stats)
    }

    /// [`Sink::finish`] for file-system trees: re-checks every symlink of every archive and
    /// returns the counts of the last one (an archive may be empty).
    pub(crate) fn finish_trees(self) -> Result<Stats, UnpackError> {
        self.check_links()?;
        Ok(self.stats)
    }

    fn check_links(&self) -> Result<(), UnpackError> {
        for link in &self.links {
            let path = self.root.join(link.path.to_path_buf());
            if !fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                continue; // replaced by a later entry
            }
            // A later entry may have replaced the link with another one; check what is there now.
            let current = fs::read_link(&path).map_err(|source| UnpackError::Extract {
                archive: link.archive.clone(),
                entry: link.entry.clone(),
                path: path.clone(),
                source,
            })?;
            let current = current.to_str().unwrap_or(&link.target);
            let checked = match (current.strip_prefix('/'), self.policy) {
                (Some(inside), Policy::Layer) => relative_to_root(&link.path, &format!("{LAYER_ROOTFS}/{inside}")),
                _ => current.to_owned(),
            };
            if !self.resolves_inside(&link.path, &checked) {
                return Err(UnpackError::Refused {
                    archive: link.archive.clone(),
                    entry: link.entry.clone(),
                    reason: Refusal::SymlinkEscape { target: current.to_owned() },
                });
            }
        }
        Ok(())
    }
}

/// The relative form of the absolute target `/<inside>` of a link at `link` in a file-system
/// tree: `lib/modules/6.12/build -> /usr/src/x` gives `../../../usr/src/x`.
fn relative_to_root(link: &EnclosedPath, inside: &str) -> String {
    let depth = link.components().len() - 1;
    let inside = inside.trim_start_matches('/');
    let mut target = "../".repeat(depth);
    target.push_str(inside);
    match target.trim_end_matches('/') {
        "" => ".".to_owned(),
        trimmed => trimmed.to_owned(),
    }
}

/// Creates a file that must not exist yet and fills it from `data`.
fn write_new_file(path: &Path, mode: u32, data: &mut dyn Read) -> io::Result<u64> {
    // `create_new` is `O_CREAT | O_EXCL`, which never follows a symlink.
    let mut file = OpenOptions::new().write(true).create_new(true).mode(mode).open(path)?;
    let bytes = io::copy(data, &mut file)?;
    file.set_permissions(Permissions::from_mode(mode))?;
    Ok(bytes)
}
