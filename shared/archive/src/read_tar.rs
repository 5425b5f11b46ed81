//! Walks the entries of a (decompressed) tar stream and hands each one to the [`Sink`].
//!
//! Only the entry type, name, link name and permission bits are taken from a header (the sink
//! decides which bits it keeps); owners, mtimes,
//! xattrs and pax attributes other than `path`/`linkpath` are ignored. GNU long names and pax
//! headers are merged into the following entry by the `tar` crate; a pax global header is skipped.

use std::io::Read;
use std::path::Path;

use tar::EntryType;

use crate::UnpackError;
use crate::sink::{EntryKind, Sink};

pub(crate) fn read_tar(stream: Box<dyn Read>, archive: &Path, sink: &mut Sink<'_>) -> Result<(), UnpackError> {
    let read_err = |source| UnpackError::Read { archive: archive.to_path_buf(), source };
    let mut tar = tar::Archive::new(stream);
    for entry in tar.entries().map_err(read_err)? {
        let mut entry = entry.map_err(read_err)?;
        let name = entry.path_bytes().into_owned();
        let link_target = || entry.link_name_bytes().map(|t| t.into_owned()).unwrap_or_default();
        let kind = match entry.header().entry_type() {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                EntryKind::File { mode: entry.header().mode().map_err(read_err)? & 0o7777 }
            }
            EntryType::Directory => EntryKind::Directory { mode: entry.header().mode().map_err(read_err)? & 0o7777 },
            EntryType::Symlink => EntryKind::Symlink { target: link_target() },
            EntryType::Link => EntryKind::Hardlink { target: link_target() },
            EntryType::Char => EntryKind::Unsupported { kind: "character device" },
            EntryType::Block => EntryKind::Unsupported { kind: "block device" },
            EntryType::Fifo => EntryKind::Unsupported { kind: "fifo" },
            EntryType::XGlobalHeader => EntryKind::Ignored,
            _ => EntryKind::Unsupported { kind: "unknown tar entry type" },
        };
        sink.add(&name, kind, &mut entry)?;
    }
    Ok(())
}
