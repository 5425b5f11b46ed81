//! A small, bounds-checked ELF64 little-endian section reader: just enough to identify a kernel
//! module's machine ([`elf_machine`]) and read its `.modinfo` section ([`modinfo`]).
//!
//! It reads the ELF header and the section header table of x86_64 and aarch64 modules (any ELF64
//! little-endian file, in fact) and never follows program headers, symbols or relocations. Bytes
//! after the last section (an appended module signature) are ignored, so signed and unsigned
//! modules read the same. Every offset is checked against the input; malformed input is an
//! [`ElfError`], never a panic.

use std::fmt;

/// The four bytes every ELF file starts with.
pub const ELF_MAGIC: [u8; 4] = *b"\x7fELF";

/// Size of an ELF64 file header.
pub const ELF64_HEADER_LEN: usize = 64;

const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const SHDR_LEN: usize = 64;
const SHN_XINDEX: u16 = 0xffff;
const SHT_NOBITS: u32 = 8;
const MODINFO_SECTION: &[u8] = b".modinfo";

/// The `e_machine` of an ELF file, as far as Talos cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElfMachine {
    /// `EM_X86_64` (62).
    X86_64,
    /// `EM_AARCH64` (183).
    Aarch64,
    /// Any other machine number.
    Other(u16),
}

impl ElfMachine {
    /// The machine for an `e_machine` value.
    pub fn from_e_machine(value: u16) -> ElfMachine {
        match value {
            62 => ElfMachine::X86_64,
            183 => ElfMachine::Aarch64,
            other => ElfMachine::Other(other),
        }
    }

    /// The Talos/OCI architecture name (`amd64`, `arm64`), if this is one Talos supports.
    pub fn talos_arch(self) -> Option<&'static str> {
        match self {
            ElfMachine::X86_64 => Some("amd64"),
            ElfMachine::Aarch64 => Some("arm64"),
            ElfMachine::Other(_) => None,
        }
    }
}

impl fmt::Display for ElfMachine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfMachine::X86_64 => f.write_str("x86_64"),
            ElfMachine::Aarch64 => f.write_str("aarch64"),
            ElfMachine::Other(n) => write!(f, "elf machine {n}"),
        }
    }
}

/// Why a file could not be read as an ELF64 little-endian kernel module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ElfError {
    /// The file does not start with `\x7fELF`.
    #[error("not an elf file (no \\x7fELF magic)")]
    NotElf,
    /// An ELF file, but not 64-bit little-endian.
    #[error("unsupported elf file: class {class}, data encoding {data} (only elf64 little-endian is supported)")]
    Unsupported {
        /// `e_ident[EI_CLASS]` (1 = 32-bit, 2 = 64-bit).
        class: u8,
        /// `e_ident[EI_DATA]` (1 = little-endian, 2 = big-endian).
        data: u8,
    },
    /// A header or table points outside the file.
    #[error("truncated elf file: {what} needs bytes {start}..{end}, the file has {len}")]
    Truncated {
        /// Which structure was being read.
        what: &'static str,
        /// First byte needed.
        start: u64,
        /// One past the last byte needed.
        end: u64,
        /// Length of the file.
        len: usize,
    },
    /// A header field has a value this reader cannot work with.
    #[error("malformed elf file: {field} is {value}")]
    Malformed {
        /// The header field.
        field: &'static str,
        /// Its value.
        value: u64,
    },
    /// The file has no `.modinfo` section, so it is not a kernel module.
    #[error("no .modinfo section (not a kernel module?)")]
    NoModinfo,
}

/// The `e_machine` of an ELF64 little-endian file.
pub fn elf_machine(bytes: &[u8]) -> Result<ElfMachine, ElfError> {
    let elf = Elf64::new(bytes)?;
    Ok(ElfMachine::from_e_machine(elf.u16_at(18)?))
}

/// The parsed `.modinfo` section of a kernel module: `key=value` strings in file order.
///
/// Keys may repeat (`alias`, `parm`, `firmware`), so this is a list, not a map.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModInfo {
    entries: Vec<(String, String)>,
}

impl ModInfo {
    /// Parse the raw bytes of a `.modinfo` section: NUL-separated `key=value` strings. Empty strings
    /// (alignment padding) are skipped; a string without `=` becomes a key with an empty value;
    /// invalid UTF-8 is replaced with U+FFFD.
    pub fn from_section(section: &[u8]) -> ModInfo {
        let entries = section
            .split(|&b| b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| {
                let s = String::from_utf8_lossy(s);
                match s.split_once('=') {
                    Some((k, v)) => (k.to_owned(), v.to_owned()),
                    None => (s.into_owned(), String::new()),
                }
            })
            .collect();
        ModInfo { entries }
    }

    /// All entries, in section order.
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    /// The first value for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value for `key`, in section order.
    pub fn get_all<'a, 'k>(&'a self, key: &'k str) -> impl Iterator<Item = &'a str> + use<'a, 'k> {
        self.entries.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// `vermagic=`: the kernel release and build options the module was built for.
    pub fn vermagic(&self) -> Option<&str> {
        self.get("vermagic")
    }

    /// `name=`: the module name (set by modpost).
    pub fn name(&self) -> Option<&str> {
        self.get("name")
    }

    /// `license=`.
    pub fn license(&self) -> Option<&str> {
        self.get("license")
    }

    /// `depends=`, split on commas; empty when the module depends on nothing or the key is absent.
    pub fn depends(&self) -> Vec<&str> {
        self.get("depends").map(|d| d.split(',').filter(|s| !s.is_empty()).collect()).unwrap_or_default()
    }

    /// The kernel release from `vermagic` (its first word), e.g. `6.18.45-talos`.
    pub fn kernel_release(&self) -> Option<&str> {
        self.vermagic().and_then(|v| v.split_whitespace().next())
    }
}

/// Read the `.modinfo` section of an ELF64 little-endian kernel module (signed or not).
pub fn modinfo(bytes: &[u8]) -> Result<ModInfo, ElfError> {
    let elf = Elf64::new(bytes)?;
    let section = elf.section_by_name(MODINFO_SECTION)?.ok_or(ElfError::NoModinfo)?;
    Ok(ModInfo::from_section(section))
}

/// Whether `bytes` starts with the ELF magic.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(&ELF_MAGIC)
}

struct Elf64<'a> {
    bytes: &'a [u8],
}

struct SectionHeader {
    name: u32,
    kind: u32,
    offset: u64,
    size: u64,
    link: u32,
}

impl<'a> Elf64<'a> {
    fn new(bytes: &'a [u8]) -> Result<Self, ElfError> {
        if !is_elf(bytes) {
            return Err(ElfError::NotElf);
        }
        let elf = Elf64 { bytes };
        elf.range("elf header", 0, ELF64_HEADER_LEN as u64)?;
        let (class, data) = (bytes[4], bytes[5]);
        if class != ELFCLASS64 || data != ELFDATA2LSB {
            return Err(ElfError::Unsupported { class, data });
        }
        Ok(elf)
    }

    fn range(&self, what: &'static str, start: u64, len: u64) -> Result<&'a [u8], ElfError> {
        let truncated = |end| ElfError::Truncated { what, start, end, len: self.bytes.len() };
        let end = start.checked_add(len).ok_or_else(|| truncated(u64::MAX))?;
        let (Ok(s), Ok(e)) = (usize::try_from(start), usize::try_from(end)) else {
            return Err(truncated(end));
        };
        self.bytes.get(s..e).ok_or_else(|| truncated(end))
    }

    fn u16_at(&self, off: u64) -> Result<u16, ElfError> {
        let b = self.range("elf header field", off, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn section_header(&self, index: u64) -> Result<SectionHeader, ElfError> {
        let shoff = le_u64(self.range("e_shoff", 0x28, 8)?);
        let entsize = u64::from(self.u16_at(0x3a)?);
        if entsize != SHDR_LEN as u64 {
            return Err(ElfError::Malformed { field: "e_shentsize", value: entsize });
        }
        let start = index
            .checked_mul(SHDR_LEN as u64)
            .and_then(|o| o.checked_add(shoff))
            .ok_or(ElfError::Malformed { field: "e_shoff", value: shoff })?;
        let h = self.range("section header", start, SHDR_LEN as u64)?;
        Ok(SectionHeader {
            name: le_u32(&h[0..4]),
            kind: le_u32(&h[4..8]),
            offset: le_u64(&h[24..32]),
            size: le_u64(&h[32..40]),
            link: le_u32(&h[40..44]),
        })
    }

    fn section_data(&self, header: &SectionHeader) -> Result<&'a [u8], ElfError> {
        if header.kind == SHT_NOBITS {
            return Ok(&[]);
        }
        self.range("section data", header.offset, header.size)
    }

    fn section_by_name(&self, wanted: &[u8]) -> Result<Option<&'a [u8]>, ElfError> {
        let shoff = le_u64(self.range("e_shoff", 0x28, 8)?);
        if shoff == 0 {
            return Ok(None);
        }
        let mut count = u64::from(self.u16_at(0x3c)?);
        let mut strndx = u64::from(self.u16_at(0x3e)?);
        // Extended numbering: the real values live in section header 0.
        if count == 0 || strndx == u64::from(SHN_XINDEX) {
            let first = self.section_header(0)?;
            if count == 0 {
                count = first.size;
            }
            if strndx == u64::from(SHN_XINDEX) {
                strndx = u64::from(first.link);
            }
        }
        if strndx >= count {
            return Err(ElfError::Malformed { field: "e_shstrndx", value: strndx });
        }
        // Bound the loop by what the file can actually hold before iterating.
        self.range("section header table", shoff, count.saturating_mul(SHDR_LEN as u64))?;
        let strtab = self.section_data(&self.section_header(strndx)?)?;
        for index in 0..count {
            let header = self.section_header(index)?;
            let name = usize::try_from(header.name)
                .ok()
                .and_then(|n| strtab.get(n..))
                .map(|s| s.split(|&b| b == 0).next().unwrap_or_default())
                .ok_or(ElfError::Malformed { field: "sh_name", value: u64::from(header.name) })?;
            if name == wanted {
                return self.section_data(&header).map(Some);
            }
        }
        Ok(None)
    }
}

fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modinfo_section_parsing() {
        let info = ModInfo::from_section(b"license=GPL\0\0depends=a,b\0alias=x\0alias=y\0flag\0vermagic=6.1.0 SMP\0");
        assert_eq!(info.license(), Some("GPL"));
        assert_eq!(info.depends(), ["a", "b"]);
        assert_eq!(info.get_all("alias").collect::<Vec<_>>(), ["x", "y"]);
        assert_eq!(info.get("flag"), Some(""));
        assert_eq!(info.kernel_release(), Some("6.1.0"));
        assert_eq!(ModInfo::from_section(b"depends=\0").depends(), Vec::<&str>::new());
    }

    #[test]
    fn rejects_non_elf_and_elf32() {
        assert_eq!(modinfo(b"hello"), Err(ElfError::NotElf));
        let mut elf32 = vec![0u8; 64];
        elf32[..4].copy_from_slice(&ELF_MAGIC);
        elf32[4] = 1;
        elf32[5] = 1;
        assert_eq!(elf_machine(&elf32), Err(ElfError::Unsupported { class: 1, data: 1 }));
        assert!(matches!(elf_machine(&ELF_MAGIC), Err(ElfError::Truncated { .. })));
    }
}
