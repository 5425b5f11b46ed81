//! Safe unpacking of upstream source archives, and ordered application of patches.
//!
//! This crate owns two steps of preparing a source tree for a build:
//!
//! - [`unpack`] extracts a tar (plain, gzip, xz, bzip2 or zstd; detected by magic bytes) or zip
//!   archive into a destination directory, optionally stripping leading path components. It is
//!   guarded in layers, after uv's `uv-extract`: every name is checked ([`enclosed_name`]: no
//!   absolute paths, no `..`, no NUL or control characters, no empty names); symlinks must resolve
//!   inside the destination; hardlinks must point at a file extracted earlier; device nodes and
//!   FIFOs are refused; nothing is ever written through a symlink; only the exec bit of a mode is
//!   kept, and owners, mtimes and xattrs are dropped. Extraction happens in a fresh temporary
//!   directory beside the destination, renamed into place only on success, so a refused archive
//!   leaves neither a partial destination nor anything outside it.
//! - [`unpack_trees`] unpacks file-system trees (the data archives of Debian packages, given as
//!   streams) into one destination with the same guards, except that an absolute symlink target
//!   names a path inside the destination and is rewritten as a relative link.
//! - [`unpack_layer`] unpacks an OCI image layer (`manifest.yaml` + `rootfs/`) with the same
//!   guards, keeping permission bits and absolute symlink targets (which name paths of the
//!   image's `rootfs/`, checked as such), for `cargo xtask export`.
//! - [`apply_patches`] runs GNU `patch -p1` for each patch in order (see [`find_patches`]).
//!
//! It deliberately does not download, verify checksums or cache anything: that belongs to
//! `talos-ext-fetch`.
//!
//! ```no_run
//! use std::path::Path;
//! use talos_ext_archive::{UnpackOptions, apply_patches, find_patches, unpack};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let summary = unpack(
//!     Path::new("downloads/util-linux-2.40.tar.xz"),
//!     Path::new("work/src"),
//!     &UnpackOptions { strip_components: 1 },
//! )?;
//! assert_eq!(summary.top_level.as_deref(), Some("util-linux-2.40"));
//! apply_patches(Path::new("work/src"), &find_patches(Path::new("patches")))?;
//! # Ok(())
//! # }
//! ```

mod error;
mod format;
mod name;
mod patch;
mod read_tar;
mod read_zip;
mod sink;
mod unpack;

pub use error::{PatchError, Refusal, UnpackError};
pub use format::{ArchiveFormat, detect_format};
pub use name::{EnclosedPath, NameProblem, enclosed_name};
pub use patch::{PATCH_PROGRAM, apply_patches, find_patches};
pub use unpack::{TreeLayer, UnpackOptions, UnpackSummary, unpack, unpack_layer, unpack_trees};
