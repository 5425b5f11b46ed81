//! The [`unpack`] entry point: picks the reader for the detected format, runs it into a fresh
//! temporary directory beside the destination, and renames that directory into place only when
//! every entry was accepted. [`unpack_trees`] does the same for several file-system trees (the
//! data archives of Debian packages) unpacked into one destination.
//!
//! The destination's parent is created if missing and canonicalised, so the temporary directory
//! and the destination are on the same file system and the final rename is atomic. On any error
//! the temporary directory is removed (without following symlinks) and the destination is left as
//! it was.

use std::fs;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::format::{decompress, sniff_tar_stream, tar_stream};
use crate::read_tar::read_tar;
use crate::read_zip::read_zip;
use crate::sink::{Sink, Stats};
use crate::{ArchiveFormat, UnpackError, detect_format};

/// How to unpack an archive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnpackOptions {
    /// Leading path components to remove from every entry name, like GNU tar's
    /// `--strip-components`. When non-zero, every entry must share one top-level name
    /// ([`UnpackError::NonSingularArchive`] otherwise); directories that strip to nothing are
    /// skipped, anything else that does is refused. `.` components are dropped before counting.
    pub strip_components: usize,
}

/// What [`unpack`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnpackSummary {
    /// The format detected from the archive's magic bytes.
    pub format: ArchiveFormat,
    /// The destination, now holding the unpacked tree.
    pub dest: PathBuf,
    /// Entries created (directories, files and links).
    pub entries: u64,
    /// Directory entries skipped because they stripped to nothing.
    pub skipped: u64,
    /// Bytes written to regular files.
    pub bytes: u64,
    /// The single top-level name of the archive before stripping, such as `util-linux-2.40`;
    /// `None` if the archive has several top-level entries.
    pub top_level: Option<String>,
}

/// Unpacks `archive` into `dest`, which must not exist or be an empty directory.
///
/// See the crate docs for the safety rules. On error, `dest` and everything outside it are
/// left untouched.
pub fn unpack(archive: &Path, dest: &Path, options: &UnpackOptions) -> Result<UnpackSummary, UnpackError> {
    let format = detect_format(archive)?;
    let (temp, final_dest) = fresh_temp_beside(dest)?;
    let mut sink = Sink::new(temp.path(), archive, options.strip_components);
    match format {
        ArchiveFormat::Zip => read_zip(archive, &mut sink)?,
        tar => {
            let stream = tar_stream(archive, tar)
                .map_err(|source| UnpackError::Read { archive: archive.to_path_buf(), source })?;
            read_tar(stream, archive, &mut sink)?;
        }
    }
    let stats = sink.finish()?;
    move_into_place(temp, &final_dest, dest)?;
    Ok(summary(format, &final_dest, stats))
}

/// One file-system tree for [`unpack_trees`]: a tar stream (plain or compressed, detected by its
/// magic bytes) and the name messages give it (`hello_2.10-3_amd64.deb:data.tar.xz`).
pub struct TreeLayer {
    /// The name of the stream in messages.
    pub origin: PathBuf,
    /// The tar bytes.
    pub stream: Box<dyn Read>,
}

/// Unpacks file-system trees, such as the data archives of Debian packages, one after another
/// into `dest` (which must not exist or be an empty directory), and returns a summary per layer.
///
/// The rules of [`unpack`] apply (nothing is stripped), with two differences that make a
/// package's tree usable where it was unpacked: an absolute symlink target names the same path
/// inside `dest` and is rewritten as a relative link (`lib/modules/6.12/build ->
/// /usr/src/linux-headers-6.12` becomes `../../../usr/src/linux-headers-6.12`) before it is
/// checked like any other; and a later layer's file or link replaces an earlier one's (a
/// directory is never replaced). Every link of every layer is checked again against the final
/// tree. On error nothing is left behind, as with [`unpack`].
pub fn unpack_trees(layers: Vec<TreeLayer>, dest: &Path) -> Result<Vec<UnpackSummary>, UnpackError> {
    let (temp, final_dest) = fresh_temp_beside(dest)?;
    let mut sink = Sink::trees(temp.path());
    let mut formats = Vec::new();
    let mut stats = Vec::new();
    for (i, layer) in layers.into_iter().enumerate() {
        let before = sink.next_archive(&layer.origin);
        if i > 0 {
            stats.push(before);
        }
        let read_err = |source| UnpackError::Read { archive: layer.origin.clone(), source };
        let (format, stream) = sniff_tar_stream(layer.stream).map_err(read_err)?;
        let format = format.ok_or_else(|| UnpackError::UnknownFormat { archive: layer.origin.clone() })?;
        let stream = decompress(BufReader::new(stream), format).map_err(read_err)?;
        read_tar(stream, &layer.origin, &mut sink)?;
        formats.push(format);
    }
    stats.push(sink.finish_trees()?);
    move_into_place(temp, &final_dest, dest)?;
    Ok(formats.into_iter().zip(stats).map(|(format, stats)| summary(format, &final_dest, stats)).collect())
}

/// Unpacks an OCI image layer (a tar stream, plain or compressed, detected by its magic bytes;
/// `origin` names it in messages) into `dest`, which must not exist or be an empty directory.
///
/// The rules of [`unpack`] apply (nothing is stripped), except that what an image needs to stay
/// what it is, is kept: permission bits (`0o777`; setuid, setgid and sticky bits are dropped) of
/// files and directories, and absolute symlink targets, which name paths of the image's root file
/// system (`<dest>/rootfs/`, what the node sees as `/`): such a target is kept as written, and
/// checked as resolving inside `<dest>` from `rootfs/`. Whiteouts are not interpreted. On error
/// nothing is left behind, as with [`unpack`].
pub fn unpack_layer(stream: Box<dyn Read>, origin: &Path, dest: &Path) -> Result<UnpackSummary, UnpackError> {
    let (temp, final_dest) = fresh_temp_beside(dest)?;
    let mut sink = Sink::layer(temp.path(), origin);
    let read_err = |source| UnpackError::Read { archive: origin.to_path_buf(), source };
    let (format, stream) = sniff_tar_stream(stream).map_err(read_err)?;
    let format = format.ok_or_else(|| UnpackError::UnknownFormat { archive: origin.to_path_buf() })?;
    let stream = decompress(BufReader::new(stream), format).map_err(read_err)?;
    read_tar(stream, origin, &mut sink)?;
    let stats = sink.finish()?;
    move_into_place(temp, &final_dest, dest)?;
    Ok(summary(format, &final_dest, stats))
}

fn summary(format: ArchiveFormat, dest: &Path, stats: Stats) -> UnpackSummary {
    UnpackSummary {
        format,
        dest: dest.to_path_buf(),
        entries: stats.entries,
        skipped: stats.skipped,
        bytes: stats.bytes,
        top_level: stats.top_level,
    }
}

/// A fresh temporary directory beside `dest` (mode 0755) and the canonical path `dest` will
/// have; `dest` must not exist or be an empty directory.
fn fresh_temp_beside(dest: &Path) -> Result<(tempfile::TempDir, PathBuf), UnpackError> {
    let invalid = || UnpackError::InvalidDestination { dest: dest.to_path_buf() };
    let file_name = dest.file_name().ok_or_else(invalid)?;
    let parent = match dest.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        Some(_) => Path::new("."),
        None => return Err(invalid()),
    };
    let dest_err = |source| UnpackError::Destination { dest: dest.to_path_buf(), source };
    fs::create_dir_all(parent).map_err(dest_err)?;
    let parent = fs::canonicalize(parent).map_err(dest_err)?;
    let final_dest = parent.join(file_name);
    check_destination(&final_dest).map_err(|e| match e {
        Some(source) => dest_err(source),
        None => UnpackError::DestinationExists { dest: dest.to_path_buf() },
    })?;

    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(file_name);
    prefix.push(".unpack-");
    let temp = tempfile::Builder::new()
        .prefix(&prefix)
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .tempdir_in(&parent)
        .map_err(dest_err)?;
    // The umask may have narrowed the mode; the result must not depend on who runs us.
    fs::set_permissions(temp.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).map_err(dest_err)?;
    Ok((temp, final_dest))
}

/// Renames the finished `temp` to `final_dest` (`dest` in messages), or removes it.
fn move_into_place(temp: tempfile::TempDir, final_dest: &Path, dest: &Path) -> Result<(), UnpackError> {
    // Keep the directory from here on: rename it, or remove it ourselves if that fails.
    let temp_path = temp.keep();
    if let Err(source) = fs::rename(&temp_path, final_dest) {
        let _ = fs::remove_dir_all(&temp_path);
        return Err(UnpackError::Destination { dest: dest.to_path_buf(), source });
    }
    Ok(())
}

/// `Ok` if `dest` is missing or an empty directory (which `rename` may replace), `Err(None)` if it
/// is anything else.
fn check_destination(dest: &Path) -> Result<(), Option<io::Error>> {
    match fs::symlink_metadata(dest) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Some(e)),
        Ok(meta) if meta.is_dir() => match fs::read_dir(dest).map_err(Some)?.next() {
            None => Ok(()),
            Some(_) => Err(None),
        },
        Ok(_) => Err(None),
    }
}
