//! A kernel image as an address space: the bytes of `vmlinux` that the kernel is linked at, read
//! by virtual address, from whatever file a distribution ships.
//!
//! Accepted, detected by content (never by file name):
//! - an ELF `vmlinux` (unstripped or not), mapped through its `PT_LOAD` program headers;
//! - an x86 `bzImage`: the setup header's `payload_offset`/`payload_length` locate the compressed
//!   `vmlinux.bin`, itself an ELF;
//! - an arm64 EFI zboot image (`MZ` + `zimg`): the header gives the payload's offset, size and
//!   compression; the payload is a raw arm64 `Image`;
//! - a raw arm64 `Image` (`ARM\x64` at 0x38), which starts at `_text`;
//! - gzip, xz, lzma or zstd files of any of these (`Image.gz`, ...);
//! - otherwise, like the kernel's `scripts/extract-vmlinux`: the first gzip, xz or zstd stream in
//!   the file that decompresses to an ELF or an arm64 `Image`.

use std::io::Read;
use std::path::Path;

use object::read::elf::{FileHeader, ProgramHeader};
use object::{Endianness, elf};

use super::{SymversError, input_err};

/// A compression the reader undoes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Xz,
    Lzma,
    Zstd,
}

impl Compression {
    const ALL: [(Compression, &'static [u8]); 4] = [
        (Compression::Gzip, &[0x1f, 0x8b, 0x08]),
        (Compression::Xz, &[0xfd, b'7', b'z', b'X', b'Z', 0x00]),
        (Compression::Zstd, &[0x28, 0xb5, 0x2f, 0xfd]),
        (Compression::Lzma, &[0x5d, 0x00, 0x00]),
    ];

    /// The compression whose magic `bytes` start with.
    pub fn detect(bytes: &[u8]) -> Option<Compression> {
        Compression::ALL.iter().find(|(_, magic)| bytes.starts_with(magic)).map(|(c, _)| *c)
    }

    /// Decompresses the first stream of `bytes` (the kernel appends the uncompressed size after
    /// some of them, which is ignored), up to `limit` bytes of output.
    pub fn decompress(self, bytes: &[u8], limit: u64) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        match self {
            Compression::Gzip => flate2::read::GzDecoder::new(bytes).take(limit).read_to_end(&mut out)?,
            Compression::Xz => liblzma::read::XzDecoder::new(bytes).take(limit).read_to_end(&mut out)?,
            Compression::Lzma => {
                let stream = liblzma::stream::Stream::new_lzma_decoder(u64::MAX).map_err(std::io::Error::other)?;
                liblzma::read::XzDecoder::new_stream(bytes, stream).take(limit).read_to_end(&mut out)?
            }
            Compression::Zstd => {
                let mut d = zstd::stream::read::Decoder::with_buffer(bytes)?.single_frame();
                // Kernel images are compressed with large windows (`zstd -22 --ultra`).
                d.window_log_max(31)?;
                d.take(limit).read_to_end(&mut out)?
            }
        };
        Ok(out)
    }

    fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Lzma => "lzma",
            Compression::Zstd => "zstd",
        }
    }
}

/// No kernel image decompresses to more than this (a guard against a runaway stream).
const MAX_IMAGE: u64 = 2 << 30;

/// The offset of the arm64 `Image` magic.
const ARM64_MAGIC_AT: usize = 0x38;
const ARM64_MAGIC: &[u8; 4] = b"ARM\x64";

/// How virtual addresses map to offsets in the bytes.
#[derive(Debug, Clone)]
enum Layout {
    /// `(vaddr, offset, size)` of each loaded segment.
    Segments(Vec<(u64, u64, u64)>),
    /// A flat image that starts at `_text` (raw arm64 `Image`); the base comes from System.map.
    Flat,
}

/// The kernel's bytes, readable by virtual address.
#[derive(Debug, Clone)]
pub struct KernelImage {
    bytes: Vec<u8>,
    layout: Layout,
    base: u64,
    /// How the file was unwrapped, for messages (`bzImage, zstd, ELF`).
    pub description: String,
}

impl KernelImage {
    /// Reads `path` (see the module documentation for what it may be).
    pub fn read(path: &Path) -> Result<KernelImage, SymversError> {
        let bytes = std::fs::read(path).map_err(super::io_err(path))?;
        Self::from_bytes(bytes, path)
    }

    /// [`KernelImage::read`] on bytes already read; `path` names them in errors.
    pub fn from_bytes(bytes: Vec<u8>, path: &Path) -> Result<KernelImage, SymversError> {
        let mut steps = Vec::new();
        unwrap(bytes, path, &mut steps, 0)
    }

    /// Sets the address of the first byte of a flat image (System.map's `_text`); ELF images
    /// know their addresses and ignore it.
    pub fn set_flat_base(&mut self, text: u64) {
        self.base = text;
    }

    /// Whether addresses need [`KernelImage::set_flat_base`].
    pub fn is_flat(&self) -> bool {
        matches!(self.layout, Layout::Flat)
    }

    /// `len` bytes at virtual address `addr`, if the image holds them.
    pub fn at(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let offset = match &self.layout {
            Layout::Flat => addr.checked_sub(self.base)?,
            Layout::Segments(segs) => {
                let end = addr.checked_add(len as u64)?;
                let (vaddr, offset, _) = segs.iter().find(|(v, _, size)| addr >= *v && end <= v + size)?;
                offset + (addr - vaddr)
            }
        };
        let start = usize::try_from(offset).ok()?;
        self.bytes.get(start..start.checked_add(len)?)
    }

    /// The little-endian u32 at `addr`.
    pub fn u32_at(&self, addr: u64) -> Option<u32> {
        self.at(addr, 4).map(|b| u32::from_le_bytes(b.try_into().expect("four bytes")))
    }

    /// The NUL-terminated string at `addr`.
    pub fn str_at(&self, addr: u64) -> Option<&str> {
        let first = self.at(addr, 1)?;
        let start = first.as_ptr() as usize - self.bytes.as_ptr() as usize;
        let len = self.bytes[start..].iter().position(|&b| b == 0)?;
        std::str::from_utf8(&self.bytes[start..start + len]).ok()
    }
}

fn unwrap(bytes: Vec<u8>, path: &Path, steps: &mut Vec<String>, depth: usize) -> Result<KernelImage, SymversError> {
    let fail = |steps: &[String], what: &str| {
        let how = if steps.is_empty() { String::new() } else { format!(" (after {})", steps.join(", ")) };
        input_err(path, format!("{what}{how}"))
    };
    if depth > 3 {
        return Err(fail(steps, "too many nested wrappers"));
    }
    if bytes.starts_with(&elf::ELFMAG) {
        let layout = elf_segments(&bytes).ok_or_else(|| fail(steps, "an ELF file without loadable segments"))?;
        steps.push("ELF".into());
        return Ok(KernelImage { bytes, layout, base: 0, description: steps.join(", ") });
    }
    if bytes.get(ARM64_MAGIC_AT..ARM64_MAGIC_AT + 4) == Some(ARM64_MAGIC) {
        steps.push("arm64 Image".into());
        return Ok(KernelImage { bytes, layout: Layout::Flat, base: 0, description: steps.join(", ") });
    }
    if let Some(c) = Compression::detect(&bytes) {
        let out = c.decompress(&bytes, MAX_IMAGE).map_err(|e| fail(steps, &format!("{} data: {e}", c.name())))?;
        steps.push(c.name().into());
        return unwrap(out, path, steps, depth + 1);
    }
    if let Some((payload, what)) = zboot_payload(&bytes).or_else(|| bzimage_payload(&bytes)) {
        let payload = payload.map_err(|m| fail(steps, &m))?.to_vec();
        steps.push(what.into());
        return unwrap(payload, path, steps, depth + 1);
    }
    // As scripts/extract-vmlinux does: try every compressed stream in the file (but lzma, whose
    // three-byte magic is common in any binary).
    for start in 0..bytes.len() {
        let Some(c) = Compression::detect(&bytes[start..]).filter(|c| *c != Compression::Lzma) else { continue };
        let Ok(out) = c.decompress(&bytes[start..], MAX_IMAGE) else { continue };
        if out.starts_with(&elf::ELFMAG) || out.get(ARM64_MAGIC_AT..ARM64_MAGIC_AT + 4) == Some(ARM64_MAGIC) {
            steps.push(format!("{} stream at offset {start}", c.name()));
            return unwrap(out, path, steps, depth + 1);
        }
    }
    Err(fail(
        steps,
        "not a kernel image: no ELF vmlinux, bzImage, EFI zboot, arm64 Image or gzip/xz/lzma/zstd stream holding one",
    ))
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    bytes.get(at..at + 4).map(|b| u32::from_le_bytes(b.try_into().expect("four bytes")))
}

/// An EFI zboot image's payload (`drivers/firmware/efi/libstub/zboot-header.S`).
fn zboot_payload(bytes: &[u8]) -> Option<(Result<&[u8], String>, &'static str)> {
    if !(bytes.starts_with(b"MZ") && bytes.get(4..8) == Some(b"zimg")) {
        return None;
    }
    let (offset, size) = (le32(bytes, 8)? as usize, le32(bytes, 12)? as usize);
    let payload = bytes
        .get(offset..offset.checked_add(size)?)
        .ok_or_else(|| format!("EFI zboot payload {offset}+{size} is beyond the file's {} bytes", bytes.len()));
    Some((payload, "EFI zboot"))
}

/// An x86 bzImage's compressed payload (`arch/x86/boot/header.S`).
fn bzimage_payload(bytes: &[u8]) -> Option<(Result<&[u8], String>, &'static str)> {
    if bytes.get(0x202..0x206) != Some(b"HdrS") {
        return None;
    }
    let setup_sects = match *bytes.get(0x1f1)? {
        0 => 4,
        n => n as usize,
    };
    let start = (setup_sects + 1) * 512 + le32(bytes, 0x248)? as usize;
    let len = le32(bytes, 0x24c)? as usize;
    let payload = bytes
        .get(start..start.checked_add(len)?)
        .ok_or_else(|| format!("bzImage payload {start}+{len} is beyond the file's {} bytes", bytes.len()));
    Some((payload, "bzImage"))
}

fn elf_segments(bytes: &[u8]) -> Option<Layout> {
    let header = elf::FileHeader64::<Endianness>::parse(bytes).ok()?;
    let endian = header.endian().ok()?;
    let segs: Vec<(u64, u64, u64)> = header
        .program_headers(endian, bytes)
        .ok()?
        .iter()
        .filter(|p| p.p_type(endian) == elf::PT_LOAD)
        .map(|p| (p.p_vaddr(endian), p.p_offset(endian), p.p_filesz(endian)))
        .collect();
    (!segs.is_empty()).then_some(Layout::Segments(segs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn arm64_image() -> Vec<u8> {
        let mut img = vec![0u8; 0x100];
        img[ARM64_MAGIC_AT..ARM64_MAGIC_AT + 4].copy_from_slice(ARM64_MAGIC);
        img[0x80..0x86].copy_from_slice(b"hello\0");
        img[0x90..0x94].copy_from_slice(&0xdeadbeefu32.to_le_bytes());
        img
    }

    fn check(img: &KernelImage) {
        let mut img = img.clone();
        assert!(img.is_flat());
        img.set_flat_base(0xffff_8000_8000_0000);
        assert_eq!(img.str_at(0xffff_8000_8000_0080), Some("hello"));
        assert_eq!(img.u32_at(0xffff_8000_8000_0090), Some(0xdeadbeef));
        assert_eq!(img.u32_at(0xffff_8000_8000_00fe), None);
        assert_eq!(img.u32_at(0x10), None);
    }

    #[test]
    fn reads_raw_compressed_and_zboot_arm64_images() {
        let raw = arm64_image();
        let p = Path::new("vmlinuz");
        check(&KernelImage::from_bytes(raw.clone(), p).unwrap());

        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&raw).unwrap();
        let gz = gz.finish().unwrap();
        let img = KernelImage::from_bytes(gz.clone(), p).unwrap();
        assert_eq!(img.description, "gzip, arm64 Image");
        check(&img);

        let mut zst = zstd::encode_all(&raw[..], 19).unwrap();
        zst.extend_from_slice(&(raw.len() as u32).to_le_bytes()); // the appended size
        let mut zboot = vec![0u8; 0x40];
        zboot[..2].copy_from_slice(b"MZ");
        zboot[4..8].copy_from_slice(b"zimg");
        zboot[8..12].copy_from_slice(&0x40u32.to_le_bytes());
        zboot[12..16].copy_from_slice(&(zst.len() as u32 - 4).to_le_bytes());
        zboot.extend_from_slice(&zst);
        let img = KernelImage::from_bytes(zboot, p).unwrap();
        assert_eq!(img.description, "EFI zboot, zstd, arm64 Image");
        check(&img);

        // Buried in other bytes: found by scanning, like extract-vmlinux.
        let mut buried = vec![0x55u8; 1000];
        buried.extend_from_slice(&gz);
        let img = KernelImage::from_bytes(buried, p).unwrap();
        assert_eq!(img.description, "gzip stream at offset 1000, arm64 Image");
    }

    #[test]
    fn refuses_what_is_not_a_kernel_naming_the_file() {
        let e = KernelImage::from_bytes(vec![7u8; 4096], Path::new("/boot/vmlinuz")).unwrap_err().to_string();
        assert!(e.starts_with("/boot/vmlinuz: not a kernel image"), "{e}");
        let mut zboot = vec![0u8; 0x40];
        zboot[..2].copy_from_slice(b"MZ");
        zboot[4..8].copy_from_slice(b"zimg");
        zboot[8..12].copy_from_slice(&0x40u32.to_le_bytes());
        zboot[12..16].copy_from_slice(&1000u32.to_le_bytes());
        let e = KernelImage::from_bytes(zboot, Path::new("v")).unwrap_err().to_string();
        assert!(e.contains("EFI zboot payload 64+1000 is beyond"), "{e}");
    }
}
