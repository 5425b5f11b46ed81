//! Just enough ELF to identify a kernel module's machine ([`elf_machine`]) and read its
//! `.modinfo` section ([`modinfo`]), on the `object` crate's ELF reader.
//!
//! Only ELF64 little-endian files are accepted (x86_64 and aarch64 modules); only the file header
//! and the section header table are read. Bytes after the last section (an appended module
//! signature) are ignored, so signed and unsigned modules read the same. Malformed input is an
//! [`ElfError`], never a panic.

use std::fmt;

use object::LittleEndian;
use object::elf::{self, FileHeader64};
use object::read::elf::{FileHeader, SectionHeader};

/// The four bytes every ELF file starts with.
pub const ELF_MAGIC: [u8; 4] = elf::ELFMAG;

/// Size of an ELF64 file header.
pub const ELF64_HEADER_LEN: usize = std::mem::size_of::<FileHeader64<LittleEndian>>();

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
            elf::EM_X86_64 => ElfMachine::X86_64,
            elf::EM_AARCH64 => ElfMachine::Aarch64,
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
    /// A header or table is malformed or points outside the file.
    #[error("malformed elf file: {cause}")]
    Malformed {
        /// What the ELF reader found wrong.
        cause: object::read::Error,
    },
    /// The file has no `.modinfo` section, so it is not a kernel module.
    #[error("no .modinfo section (not a kernel module?)")]
    NoModinfo,
    /// The `__versions` section is not an array of `struct modversion_info`.
    #[error("malformed __versions section: {why}")]
    BadVersions {
        /// What is wrong with it.
        why: String,
    },
}

/// The `e_machine` of an ELF64 little-endian file.
pub fn elf_machine(bytes: &[u8]) -> Result<ElfMachine, ElfError> {
    let header = file_header(bytes)?;
    Ok(ElfMachine::from_e_machine(header.e_machine(LittleEndian)))
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
    let section = section(bytes, MODINFO_SECTION)?.ok_or(ElfError::NoModinfo)?;
    Ok(ModInfo::from_section(section))
}

/// The data of the first section named `name` (e.g. `.modinfo`, `__versions`) of an ELF64
/// little-endian file (signed or not), or `None` if it has no such section. A `SHT_NOBITS`
/// section is empty.
pub fn section<'a>(bytes: &'a [u8], name: &[u8]) -> Result<Option<&'a [u8]>, ElfError> {
    let header = file_header(bytes)?;
    let malformed = |cause| ElfError::Malformed { cause };
    let sections = header.sections(LittleEndian, bytes).map_err(malformed)?;
    match sections.section_by_name(LittleEndian, name) {
        Some((_, section)) => section.data(LittleEndian, bytes).map(Some).map_err(malformed),
        None => Ok(None),
    }
}

/// The size of one `struct modversion_info` of a 64-bit kernel: an `unsigned long` CRC and a
/// 56-byte NUL-padded symbol name.
pub const MODVERSION_ENTRY_LEN: usize = 64;

/// The `__versions` section of a module built with `CONFIG_MODVERSIONS` (the basic format):
/// each symbol it uses from outside with the CRC it was built against, in section order; `None`
/// when the module has no such section (a MODVERSIONS kernel refuses it). A section whose size is
/// not a whole number of entries, or an entry without a NUL-terminated name, is
/// [`ElfError::Malformed`]-like [`ElfError::BadVersions`].
pub fn modversions(bytes: &[u8]) -> Result<Option<Vec<(String, u32)>>, ElfError> {
    let Some(data) = section(bytes, b"__versions")? else { return Ok(None) };
    if data.len() % MODVERSION_ENTRY_LEN != 0 {
        return Err(ElfError::BadVersions {
            why: format!("{} bytes is not a whole number of {MODVERSION_ENTRY_LEN}-byte entries", data.len()),
        });
    }
    let mut out = Vec::with_capacity(data.len() / MODVERSION_ENTRY_LEN);
    for (i, entry) in data.chunks_exact(MODVERSION_ENTRY_LEN).enumerate() {
        let crc = u64::from_le_bytes(entry[..8].try_into().expect("eight bytes"));
        let name = &entry[8..];
        let len = name
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| ElfError::BadVersions { why: format!("entry {i} has no NUL-terminated name") })?;
        let name = String::from_utf8_lossy(&name[..len]).into_owned();
        out.push((name, crc as u32));
    }
    Ok(Some(out))
}

/// Whether `bytes` starts with the ELF magic.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(&ELF_MAGIC)
}

/// The checked file header: ELF magic, then class and data encoding (told apart from a
/// malformed file, so the error names them), then what `object` checks.
fn file_header(bytes: &[u8]) -> Result<&FileHeader64<LittleEndian>, ElfError> {
    if !is_elf(bytes) {
        return Err(ElfError::NotElf);
    }
    // `e_ident[EI_CLASS]` and `e_ident[EI_DATA]`.
    if let [_, _, _, _, class, data, ..] = *bytes
        && (class != elf::ELFCLASS64 || data != elf::ELFDATA2LSB)
    {
        return Err(ElfError::Unsupported { class, data });
    }
    FileHeader64::<LittleEndian>::parse(bytes).map_err(|cause| ElfError::Malformed { cause })
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
        assert!(matches!(elf_machine(&ELF_MAGIC), Err(ElfError::Malformed { .. })));
        let mut be = elf32;
        be[4] = 2;
        be[5] = 2;
        assert_eq!(modinfo(&be), Err(ElfError::Unsupported { class: 2, data: 2 }));
    }

    #[test]
    fn header_constants_are_the_elf64_ones() {
        assert_eq!(ELF_MAGIC, *b"\x7fELF");
        assert_eq!(ELF64_HEADER_LEN, 64);
    }
}
