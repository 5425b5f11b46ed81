//! Archive format detection by magic bytes, and the decompressing reader for each tar flavour.
//!
//! The file name is never trusted: a `.tar.gz` that really holds xz data is read as xz. A plain
//! tar is recognised by its `ustar` magic, by a valid header checksum (pre-POSIX v7 archives), or
//! by an all-zero end-of-archive block (an empty tar). Nothing here looks at entries; see
//! `read_tar` and `read_zip`.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use crate::UnpackError;

/// The container and compression of an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ArchiveFormat {
    /// Uncompressed tar.
    Tar,
    /// gzip-compressed tar (`.tar.gz`, `.tgz`).
    TarGz,
    /// xz-compressed tar (`.tar.xz`).
    TarXz,
    /// bzip2-compressed tar (`.tar.bz2`).
    TarBz2,
    /// zstd-compressed tar (`.tar.zst`).
    TarZst,
    /// zip archive (deflate or stored entries).
    Zip,
}

impl fmt::Display for ArchiveFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ArchiveFormat::Tar => "tar",
            ArchiveFormat::TarGz => "tar.gz",
            ArchiveFormat::TarXz => "tar.xz",
            ArchiveFormat::TarBz2 => "tar.bz2",
            ArchiveFormat::TarZst => "tar.zst",
            ArchiveFormat::Zip => "zip",
        })
    }
}

const TAR_BLOCK: usize = 512;

impl ArchiveFormat {
    /// Identifies a format from the first bytes of a file (at least 512 are needed for plain tar).
    pub fn from_magic(head: &[u8]) -> Option<ArchiveFormat> {
        let format = if head.starts_with(&[0x1f, 0x8b]) {
            ArchiveFormat::TarGz
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            ArchiveFormat::TarXz
        } else if head.starts_with(b"BZh") {
            ArchiveFormat::TarBz2
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            ArchiveFormat::TarZst
        } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            ArchiveFormat::Zip
        } else if is_tar_header(head) {
            ArchiveFormat::Tar
        } else {
            return None;
        };
        Some(format)
    }
}

/// A tar header has `ustar` at offset 257, or (v7) a checksum that matches its bytes.
fn is_tar_header(head: &[u8]) -> bool {
    let Some(block) = head.get(..TAR_BLOCK) else {
        return false;
    };
    // `ustar` magic (POSIX and GNU), or an end-of-archive block: an empty tar is all zeros.
    if &block[257..262] == b"ustar" || block.iter().all(|b| *b == 0) {
        return true;
    }
    let field = &block[148..156];
    let digits: String = field
        .iter()
        .copied()
        .skip_while(|b| *b == b' ')
        .take_while(|b| (b'0'..=b'7').contains(b))
        .map(char::from)
        .collect();
    let Ok(recorded) = u32::from_str_radix(&digits, 8) else {
        return false;
    };
    let computed: u32 = block
        .iter()
        .enumerate()
        .map(|(i, b)| if (148..156).contains(&i) { u32::from(b' ') } else { u32::from(*b) })
        .sum();
    recorded == computed && block[0] != 0
}

/// Reads the start of `archive` and identifies its format.
pub fn detect_format(archive: &Path) -> Result<ArchiveFormat, UnpackError> {
    let open_err = |source| UnpackError::Open { archive: archive.to_path_buf(), source };
    let mut file = File::open(archive).map_err(open_err)?;
    let mut head = Vec::with_capacity(TAR_BLOCK);
    file.by_ref().take(TAR_BLOCK as u64).read_to_end(&mut head).map_err(open_err)?;
    ArchiveFormat::from_magic(&head).ok_or_else(|| UnpackError::UnknownFormat { archive: archive.to_path_buf() })
}

/// Opens `archive` as a stream of uncompressed tar bytes.
pub(crate) fn tar_stream(archive: &Path, format: ArchiveFormat) -> io::Result<Box<dyn Read>> {
    decompress(BufReader::new(File::open(archive)?), format)
}

/// `input` (of `format`) as a stream of uncompressed tar bytes.
pub(crate) fn decompress(input: impl BufRead + 'static, format: ArchiveFormat) -> io::Result<Box<dyn Read>> {
    Ok(match format {
        ArchiveFormat::Tar => Box::new(input),
        ArchiveFormat::TarGz => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
        ArchiveFormat::TarXz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(input)),
        ArchiveFormat::TarBz2 => Box::new(bzip2::bufread::MultiBzDecoder::new(input)),
        ArchiveFormat::TarZst => Box::new(zstd::stream::read::Decoder::with_buffer(input)?),
        ArchiveFormat::Zip => {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "a zip archive is not a tar stream"));
        }
    })
}

/// A stream whose first bytes were read to identify it, with those bytes put back in front.
pub(crate) type Sniffed = io::Chain<io::Cursor<Vec<u8>>, Box<dyn Read>>;

/// Reads the first bytes of `stream` (enough to identify any format) and returns its format
/// with a reader that still yields every byte; `None` when no supported tar flavour matches.
pub(crate) fn sniff_tar_stream(mut stream: Box<dyn Read>) -> io::Result<(Option<ArchiveFormat>, Sniffed)> {
    let mut head = Vec::with_capacity(TAR_BLOCK);
    stream.by_ref().take(TAR_BLOCK as u64).read_to_end(&mut head)?;
    let format = ArchiveFormat::from_magic(&head).filter(|f| *f != ArchiveFormat::Zip);
    Ok((format, io::Cursor::new(head).chain(stream)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic() {
        assert_eq!(ArchiveFormat::from_magic(b"\x1f\x8b\x08\0"), Some(ArchiveFormat::TarGz));
        assert_eq!(ArchiveFormat::from_magic(b"\xfd7zXZ\0\0"), Some(ArchiveFormat::TarXz));
        assert_eq!(ArchiveFormat::from_magic(b"BZh91AY"), Some(ArchiveFormat::TarBz2));
        assert_eq!(ArchiveFormat::from_magic(b"\x28\xb5\x2f\xfd\0"), Some(ArchiveFormat::TarZst));
        assert_eq!(ArchiveFormat::from_magic(b"PK\x03\x04...."), Some(ArchiveFormat::Zip));
        assert_eq!(ArchiveFormat::from_magic(b"hello world"), None);
        assert_eq!(ArchiveFormat::from_magic(&[0; 100]), None);
        assert_eq!(ArchiveFormat::from_magic(&[0; 1024]), Some(ArchiveFormat::Tar));
    }

    #[test]
    fn v7_tar_by_checksum() {
        let mut block = [0u8; TAR_BLOCK];
        block[..5].copy_from_slice(b"a.txt");
        block[100..107].copy_from_slice(b"000644 ");
        let sum: u32 = block.iter().map(|b| u32::from(*b)).sum::<u32>() + 8 * u32::from(b' ');
        let field = format!("{sum:06o}\0 ");
        block[148..156].copy_from_slice(field.as_bytes());
        assert_eq!(ArchiveFormat::from_magic(&block), Some(ArchiveFormat::Tar));
        block[0] = b'b';
        assert_eq!(ArchiveFormat::from_magic(&block), None);
    }
}
