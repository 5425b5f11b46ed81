//! What a staged binary needs at run time, read from its ELF headers: machine, interpreter and
//! `DT_NEEDED` libraries. Used to prove that binaries run on Talos (musl, no glibc).

use std::path::Path;

use anyhow::{Context, Result, bail};
use object::Endianness;
use object::elf;
use object::read::elf::{Dyn, FileHeader, ProgramHeader, SectionHeader};

/// The run-time facts of one ELF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfInfo {
    /// `e_machine` (62 = x86-64, 183 = aarch64).
    pub machine: u16,
    /// `PT_INTERP`, when dynamically linked.
    pub interpreter: Option<String>,
    /// `DT_NEEDED` entries.
    pub needed: Vec<String>,
}

impl ElfInfo {
    /// Reads an ELF64 file.
    pub fn read(path: &Path) -> Result<ElfInfo> {
        let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&data).with_context(|| format!("{} is not a readable ELF64 file", path.display()))
    }

    /// Parses ELF64 bytes.
    pub fn parse(data: &[u8]) -> Result<ElfInfo> {
        let header = elf::FileHeader64::<Endianness>::parse(data)?;
        let endian = header.endian()?;
        let mut info = ElfInfo { machine: header.e_machine(endian), interpreter: None, needed: Vec::new() };
        for ph in header.program_headers(endian, data)? {
            if let Some(interp) = ph.interpreter(endian, data)? {
                info.interpreter = Some(String::from_utf8_lossy(interp).into_owned());
            }
        }
        let sections = header.sections(endian, data)?;
        for section in sections.iter() {
            let Some((entries, link)) = section.dynamic(endian, data)? else { continue };
            let strings = sections.strings(endian, data, link)?;
            for entry in entries {
                if entry.tag32(endian) == Some(elf::DT_NEEDED) {
                    let name = entry.string(endian, strings)?;
                    info.needed.push(String::from_utf8_lossy(name).into_owned());
                }
            }
        }
        Ok(info)
    }

    /// Fails unless this binary runs on Talos: the expected machine, and no glibc loader or
    /// `libc.so.6` (musl only, static or against musl's loader).
    pub fn check_talos_userland(&self, machine: u16) -> Result<()> {
        if self.machine != machine {
            bail!("ELF machine is {} but {machine} was expected", self.machine);
        }
        if let Some(interp) = &self.interpreter
            && !interp.contains("ld-musl-")
        {
            bail!("needs the glibc loader {interp}: Talos has no glibc");
        }
        if let Some(lib) = self.needed.iter().find(|n| n.starts_with("libc.so.6") || n.starts_with("ld-linux")) {
            bail!("needs {lib}: Talos has no glibc");
        }
        Ok(())
    }
}
