//! Walks the entries of a zip archive and hands each one to the [`Sink`].
//!
//! The entry type comes from the Unix mode in the external attributes when there is one (so
//! symlinks, whose target is the entry's data, are recognised), and otherwise from a trailing `/`
//! in the name. The sink keeps only the exec bit of the mode. Encrypted entries and compression methods
//! other than stored and deflate fail as unreadable.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use crate::UnpackError;
use crate::sink::{EntryKind, Sink};

/// Longest symlink target read from a zip entry (Linux's `PATH_MAX`).
const MAX_LINK_TARGET: u64 = 4096;

const S_IFMT: u32 = 0o170_000;

pub(crate) fn read_zip(archive: &Path, sink: &mut Sink<'_>) -> Result<(), UnpackError> {
    let read_err = |source: io::Error| UnpackError::Read { archive: archive.to_path_buf(), source };
    let file = File::open(archive).map_err(read_err)?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| read_err(e.into()))?;
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index).map_err(|e| read_err(e.into()))?;
        let name = entry.name_raw().to_vec();
        let mode = entry.unix_mode().unwrap_or(0);
        let kind = match mode & S_IFMT {
            0o120_000 => {
                let mut target = Vec::new();
                (&mut entry).take(MAX_LINK_TARGET).read_to_end(&mut target).map_err(read_err)?;
                EntryKind::Symlink { target }
            }
            0o040_000 => EntryKind::Directory { mode: mode & 0o7777 },
            0 | 0o100_000 if entry.is_dir() => EntryKind::Directory { mode: mode & 0o7777 },
            0 | 0o100_000 => EntryKind::File { mode: mode & 0o7777 },
            0o020_000 => EntryKind::Unsupported { kind: "character device" },
            0o060_000 => EntryKind::Unsupported { kind: "block device" },
            0o010_000 => EntryKind::Unsupported { kind: "fifo" },
            0o140_000 => EntryKind::Unsupported { kind: "socket" },
            _ => EntryKind::Unsupported { kind: "unknown zip entry type" },
        };
        sink.add(&name, kind, &mut entry)?;
    }
    Ok(())
}
