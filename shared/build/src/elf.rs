//! What a staged binary needs at run time, read from its ELF headers: machine, interpreter and
//! `DT_NEEDED` libraries. Used to prove that binaries run on Talos (musl, no glibc). And the
//! machine of every object in a static library ([`archive_machines`]), for sysroot checks.

use std::path::Path;

use anyhow::{Context, Result, bail};
use object::Endianness;
use object::elf;
use object::read::archive::ArchiveFile;
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
    /// `DT_SONAME`, for a shared library that names itself.
    pub soname: Option<String>,
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
        let mut info =
            ElfInfo { machine: header.e_machine(endian), interpreter: None, needed: Vec::new(), soname: None };
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
                } else if entry.tag32(endian) == Some(elf::DT_SONAME) {
                    let name = entry.string(endian, strings)?;
                    info.soname = Some(String::from_utf8_lossy(name).into_owned());
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

    /// The one exception to [`ElfInfo::check_talos_userland`], for the extension that ships
    /// glibc itself (`misc/glibc`) and for its own ELF files only: fails unless this file is for
    /// `machine` and is either static or needs exactly `loader`, the absolute path of the glibc
    /// loader that same extension installs. Whether `loader` really is in the extension's tree is
    /// the caller's check ([`crate::testing::Staged::check_own_glibc_program`] makes it); any
    /// other loader (the host's `/lib64/...`, musl's) is an error.
    pub fn check_own_glibc(&self, machine: u16, loader: &str) -> Result<()> {
        if self.machine != machine {
            bail!("ELF machine is {} but {machine} was expected", self.machine);
        }
        let name = loader.rsplit('/').next().unwrap_or_default();
        if !loader.starts_with('/') || !name.starts_with("ld-linux-") {
            bail!("`{loader}` is not the absolute path of a glibc loader (`/.../ld-linux-<arch>.so.<n>`)");
        }
        match &self.interpreter {
            Some(interp) if interp != loader => {
                bail!("needs the loader {interp}, not the extension's own glibc loader {loader}")
            }
            _ => Ok(()),
        }
    }
}

impl ElfInfo {
    /// Fails unless this binary is a glibc program for the node's `glibc` extension: the
    /// expected machine, exactly the interpreter `loader` (where that extension installs glibc's
    /// loader), and only glibc's own libraries (`libc.so.6`, `libm.so.6`, ...) needed, nothing
    /// of musl. The error says which loader the binary declares.
    pub fn check_glibc_program(&self, machine: u16, loader: &str) -> Result<()> {
        if self.machine != machine {
            bail!("ELF machine is {} but {machine} was expected", self.machine);
        }
        match self.interpreter.as_deref() {
            Some(interp) if interp == loader => {}
            Some(interp) => bail!("declares the loader {interp}, but the glibc extension's loader is {loader}"),
            None => bail!("is statically linked (no loader), but a glibc program declaring {loader} was expected"),
        }
        const GLIBC_LIBS: [&str; 7] =
            ["libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libresolv.so.2", "libutil.so.1"];
        if let Some(lib) = self.needed.iter().find(|n| !GLIBC_LIBS.contains(&n.as_str())) {
            bail!("needs {lib}, which is not one of glibc's libraries (declares the loader {loader})");
        }
        Ok(())
    }
}

/// The `e_machine` of every member of a static library (an `ar` archive), in archive order, with
/// the member's name. A member that is not an ELF64 file is an error naming it.
pub fn archive_machines(data: &[u8]) -> Result<Vec<(String, u16)>> {
    let archive = ArchiveFile::parse(data).context("not an ar archive")?;
    let mut machines = Vec::new();
    for member in archive.members() {
        let member = member.context("reading the archive's member table")?;
        let name = String::from_utf8_lossy(member.name()).into_owned();
        let bytes = member.data(data).with_context(|| format!("reading archive member {name}"))?;
        let header = elf::FileHeader64::<Endianness>::parse(bytes)
            .with_context(|| format!("archive member {name} is not an ELF64 file"))?;
        machines.push((name, header.e_machine(header.endian()?)));
    }
    Ok(machines)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test runner is a glibc program of the host: accepted with exactly its loader, and the
    /// error for another loader says which one it declares.
    #[test]
    fn glibc_programs_need_exactly_the_node_loader() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let info = ElfInfo::parse(&exe).unwrap();
        let interp = info.interpreter.clone().expect("the test runner is dynamically linked");
        let glibc_only = ElfInfo { needed: vec!["libc.so.6".into(), "libm.so.6".into()], ..info.clone() };
        glibc_only.check_glibc_program(info.machine, &interp).unwrap();
        let err = glibc_only.check_glibc_program(info.machine, "/usr/lib/ld-linux-x86-64.so.2").unwrap_err();
        if interp != "/usr/lib/ld-linux-x86-64.so.2" {
            assert!(err.to_string().contains(&format!("declares the loader {interp}")), "{err}");
        }
        let musl = ElfInfo { needed: vec!["libc.musl-x86_64.so.1".into()], ..info.clone() };
        assert!(
            musl.check_glibc_program(info.machine, &interp).unwrap_err().to_string().contains("not one of glibc's")
        );
        let static_file = ElfInfo { interpreter: None, ..info.clone() };
        assert!(static_file.check_glibc_program(info.machine, &interp).unwrap_err().to_string().contains("statically"));
        assert!(glibc_only.check_glibc_program(info.machine + 1, &interp).is_err());
    }

    /// An `ar` archive of `members` in the common (System V / GNU) format.
    fn ar(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = b"!<arch>\n".to_vec();
        for (name, data) in members {
            let header = format!("{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n", format!("{name}/"), 0, 0, 0, 644, data.len());
            assert_eq!(header.len(), 60);
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(data);
            if data.len() % 2 == 1 {
                out.push(b'\n');
            }
        }
        out
    }

    /// A dynamically linked glibc program of the host (the test runner itself): rejected as
    /// Talos userland, accepted only as an extension's own glibc file with exactly its loader.
    #[test]
    fn own_glibc_files_need_exactly_the_declared_loader() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let info = ElfInfo::parse(&exe).unwrap();
        let interp = info.interpreter.clone().expect("the test runner is dynamically linked");
        assert!(interp.contains("/ld-linux-"), "{interp}");
        let err = info.check_talos_userland(info.machine).unwrap_err();
        assert!(format!("{err:#}").contains("Talos has no glibc"), "{err:#}");

        info.check_own_glibc(info.machine, &interp).unwrap();
        let other = "/usr/local/glibc/usr/lib/ld-linux-x86-64.so.2";
        let err = info.check_own_glibc(info.machine, other).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            format!("needs the loader {interp}, not the extension's own glibc loader {other}")
        );
        let err = info.check_own_glibc(info.machine + 1, &interp).unwrap_err();
        assert!(format!("{err:#}").contains("was expected"), "{err:#}");
        for bad in ["lib/ld-linux-x86-64.so.2", "/lib/ld-musl-x86_64.so.1"] {
            let err = info.check_own_glibc(info.machine, bad).unwrap_err();
            assert!(format!("{err:#}").contains("is not the absolute path of a glibc loader"), "{err:#}");
        }
        // A static file (no interpreter) passes both checks' loader rules.
        let static_file = ElfInfo { interpreter: None, needed: Vec::new(), ..info };
        static_file.check_own_glibc(static_file.machine, other).unwrap();
        static_file.check_talos_userland(static_file.machine).unwrap();
    }

    #[test]
    fn reads_the_machine_of_every_archive_member() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let machine = ElfInfo::parse(&exe).unwrap().machine;
        // The first member starts at offset 68, not 8-byte aligned; the second follows an
        // odd-sized one.
        let archive = ar(&[("a.o", &exe[..exe.len() / 2 * 2 - 1]), ("b.o", &exe)]);
        let machines = archive_machines(&archive).unwrap();
        assert_eq!(machines, [("a.o".to_string(), machine), ("b.o".to_string(), machine)]);

        let err = archive_machines(&ar(&[("notes.txt", b"hello")])).unwrap_err();
        assert!(format!("{err:#}").contains("archive member notes.txt is not an ELF64 file"), "{err:#}");
        assert!(archive_machines(b"not an archive").is_err());
    }
}
