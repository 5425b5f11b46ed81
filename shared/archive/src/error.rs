//! Error types for unpacking and patching.
//!
//! Every variant carries the evidence needed to act on it: the archive path, the entry name as
//! written in the archive, and for refusals a [`Refusal`] saying which guard fired. Messages are
//! lowercase without a trailing period; names are shown escaped so control characters stay visible.

use std::io;
use std::path::PathBuf;

use crate::NameProblem;

/// Why an archive could not be unpacked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnpackError {
    /// The archive could not be opened or its first bytes read.
    #[error("failed to open archive `{}`", archive.display())]
    Open {
        /// The archive.
        archive: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The magic bytes match no supported format.
    #[error(
        "`{}` is not a tar, tar.gz, tar.xz, tar.bz2, tar.zst or zip archive (detected by content, not by name)",
        archive.display()
    )]
    UnknownFormat {
        /// The archive.
        archive: PathBuf,
    },
    /// The archive is corrupt or truncated, or decompression failed.
    #[error("failed to read archive `{}`", archive.display())]
    Read {
        /// The archive.
        archive: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// An entry broke one of the safety rules; nothing was unpacked.
    #[error("refused entry `{}` in archive `{}`: {reason}", entry.escape_debug(), archive.display())]
    Refused {
        /// The archive.
        archive: PathBuf,
        /// The entry's name as written in the archive (lossily decoded as UTF-8).
        entry: String,
        /// Which rule the entry broke.
        reason: Refusal,
    },
    /// Nothing would be unpacked (no entries, or only directories stripped away).
    #[error("archive `{}` has no entries to unpack", archive.display())]
    EmptyArchive {
        /// The archive.
        archive: PathBuf,
    },
    /// Leading components were to be stripped, but the archive has more than one top-level entry.
    #[error(
        "archive `{}` has more than one top-level entry (`{}` and `{}`), so leading components cannot be stripped",
        archive.display(), first.escape_debug(), other.escape_debug()
    )]
    NonSingularArchive {
        /// The archive.
        archive: PathBuf,
        /// The first top-level entry seen.
        first: String,
        /// A different top-level entry seen later.
        other: String,
    },
    /// The destination exists and is not an empty directory.
    #[error("destination `{}` already exists and is not an empty directory", dest.display())]
    DestinationExists {
        /// The destination.
        dest: PathBuf,
    },
    /// The destination has no usable parent or file name (for example `/` or `..`).
    #[error("destination `{}` must name a directory to create, such as `work/src`", dest.display())]
    InvalidDestination {
        /// The destination.
        dest: PathBuf,
    },
    /// The temporary directory beside the destination could not be created, or renamed into place.
    #[error("failed to prepare destination `{}`", dest.display())]
    Destination {
        /// The destination.
        dest: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Writing an entry failed (or reading its data from the archive did).
    #[error("failed to extract entry `{}` of archive `{}` to `{}`", entry.escape_debug(), archive.display(), path.display())]
    Extract {
        /// The archive.
        archive: PathBuf,
        /// The entry's name as written in the archive.
        entry: String,
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// The safety rule an archive entry broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The entry's own name is unsafe.
    #[error("{0}")]
    Name(NameProblem),
    /// A file, link or special entry would be removed entirely by `strip_components`.
    #[error("it is not a directory but has no components left after stripping")]
    StrippedAway,
    /// Device nodes, FIFOs and other special entries are never created.
    #[error("{kind} entries are not allowed")]
    Unsupported {
        /// The kind of entry, such as `character device`.
        kind: &'static str,
    },
    /// A parent of the entry is a symlink extracted earlier; writing through it is not allowed.
    #[error("its parent `{}` is a symlink, and nothing is written through symlinks", parent.escape_debug())]
    ThroughSymlink {
        /// The parent path (after stripping).
        parent: String,
    },
    /// A parent of the entry is a file extracted earlier.
    #[error("its parent `{}` is not a directory", parent.escape_debug())]
    ParentNotDirectory {
        /// The parent path (after stripping).
        parent: String,
    },
    /// The entry would replace a directory with a non-directory, or the other way round.
    #[error("it conflicts with `{}`, extracted earlier as a {existing}", path.escape_debug())]
    Conflict {
        /// The path (after stripping).
        path: String,
        /// What is already there (`directory`, `file` or `symlink`).
        existing: &'static str,
    },
    /// The symlink target is empty or has NUL or control characters.
    #[error("symlink target `{}` is invalid: {problem}", target.escape_debug())]
    BadSymlinkTarget {
        /// The target as written in the archive.
        target: String,
        /// What is wrong with it.
        problem: NameProblem,
    },
    /// The symlink target is absolute.
    #[error("symlink target `{}` is absolute", target.escape_debug())]
    AbsoluteSymlink {
        /// The target as written in the archive.
        target: String,
    },
    /// The symlink target resolves outside the destination (possibly through other symlinks).
    #[error("symlink target `{}` escapes the destination", target.escape_debug())]
    SymlinkEscape {
        /// The target as written in the archive.
        target: String,
    },
    /// The hardlink target name is unsafe (absolute, has `..`, and so on).
    #[error("hardlink target `{}` is invalid: {problem}", target.escape_debug())]
    BadHardlinkTarget {
        /// The target as written in the archive.
        target: String,
        /// What is wrong with it.
        problem: NameProblem,
    },
    /// The hardlink target was not extracted earlier as a regular file.
    #[error("hardlink target `{}` is not a regular file extracted earlier", target.escape_debug())]
    HardlinkTargetMissing {
        /// The target as written in the archive.
        target: String,
    },
}

/// Why a patch could not be applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PatchError {
    /// The patch file or the source directory could not be resolved.
    #[error("failed to resolve `{}`", path.display())]
    Resolve {
        /// The path that could not be resolved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The `patch` program could not be started.
    #[error("cannot apply patch `{}`: {cause}", patch.display())]
    Spawn {
        /// The patch being applied.
        patch: PathBuf,
        /// What the runner reported (the program, its `PATH`, how to install it).
        cause: talos_ext_process::ProcessError,
    },
    /// `patch` exited unsuccessfully, typically because a hunk failed.
    #[error(
        "patch `{}` does not apply to `{}` ({status}):\n{output}",
        patch.display(), source_dir.display()
    )]
    Failed {
        /// The patch that failed.
        patch: PathBuf,
        /// The source tree it was applied to.
        source_dir: PathBuf,
        /// The exit status of `patch`.
        status: std::process::ExitStatus,
        /// What `patch` wrote to stdout and stderr.
        output: String,
    },
}
