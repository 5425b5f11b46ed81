//! Vendor-built payloads (`kind = "prebuilt"`): the metadata's `[[payloads]]`, each a pinned
//! per-arch file or a member of a pinned archive, installed with its mode after checking that it
//! is an ELF file for the stage's arch, statically linked or against the loader it declares.
//! Each installed payload becomes a binary component of the extension's SBOM (its installed path,
//! its sha256, the source it came from).
//!
//! Archives are unpacked with the source-archive rules (`talos-ext-archive`: no absolute names,
//! `..`, escaping links, devices) into the stage's scratch directory; the member is then taken
//! from there. Whole-file payloads are copied from the verified download.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::Digest as _;
use talos_ext_archive::{UnpackOptions, unpack};
use talos_ext_model::{Arch, Payload, Sha256};

use crate::elf::ElfInfo;
use crate::stage::Stage;

/// Where Talos reads containerd CRI configuration parts, relative to the rootfs.
pub const CRI_PART_DIR: &str = "etc/cri/conf.d";

/// The name of an ELF `e_machine` value, for errors.
pub fn machine_name(machine: u16) -> String {
    match machine {
        62 => "x86-64 (62)".into(),
        183 => "aarch64 (183)".into(),
        3 => "i386 (3)".into(),
        40 => "arm (40)".into(),
        243 => "riscv (243)".into(),
        other => format!("machine {other}"),
    }
}

/// Checks that the ELF file `bytes` (named `what` in errors) runs on `arch`: an ELF64 file of the
/// arch's machine, statically linked when `loader` is `None`, otherwise with exactly that
/// interpreter.
pub fn check_payload_elf(what: &str, bytes: &[u8], arch: Arch, loader: Option<&str>) -> Result<ElfInfo> {
    if bytes.len() < 4 || &bytes[..4] != b"\x7fELF" {
        bail!("{what} is not an ELF file (it starts with {:02x?})", &bytes[..bytes.len().min(4)]);
    }
    let info = ElfInfo::parse(bytes).with_context(|| format!("{what} is not a readable ELF64 file"))?;
    if info.machine != arch.elf_machine() {
        bail!(
            "{what} is an ELF file for {}, but the {arch} stage needs {}: the wrong arch's payload?",
            machine_name(info.machine),
            machine_name(arch.elf_machine())
        );
    }
    match (loader, info.interpreter.as_deref()) {
        (None, None) => {}
        (None, Some(interp)) => bail!(
            "{what} is dynamically linked (interpreter {interp}) but its payload declares no `loader`: \
             it must be statically linked, or declare the loader it needs"
        ),
        (Some(want), Some(interp)) if want == interp => {}
        (Some(want), got) => {
            bail!("{what} declares loader {want} but its interpreter is {}", got.unwrap_or("none (statically linked)"))
        }
    }
    Ok(info)
}

impl Stage {
    /// Installs every payload the metadata declares for this arch ([`Stage::install_payload`]),
    /// in declaration order; returns their rootfs paths.
    pub fn install_payloads(&self) -> Result<Vec<String>> {
        let payloads: Vec<Payload> = self.meta.payloads_for(self.arch).cloned().collect();
        if payloads.is_empty() {
            bail!(
                "recipe `{}` declares no payloads for {} (`[[payloads]]` in its Cargo.toml)",
                self.meta.name,
                self.arch
            );
        }
        payloads.iter().map(|p| self.install_payload(p).map(|()| p.dest.clone())).collect()
    }

    /// Installs one payload: the pinned source's file (or its archive member), checked with
    /// [`check_payload_elf`], at `dest` with `mode`, and records it as an SBOM binary component.
    pub fn install_payload(&self, payload: &Payload) -> Result<()> {
        let source = self.pinned(&payload.source)?.clone();
        let file = self.source_file(&payload.source)?;
        let (path, origin) = match &payload.member {
            None => (file.clone(), source.file_name().to_string()),
            Some(member) => {
                (self.archive_member(&payload.source, &file, member)?, format!("{}:{member}", source.file_name()))
            }
        };
        let what = format!("payload `{}` ({origin}, source `{}`)", payload.dest, payload.source);
        self.install_vendor_program(&what, &source, &path, &payload.dest, payload.mode, payload.loader.as_deref())
    }

    /// Installs the vendor-built ELF program `src`, a file out of the pinned source `source`
    /// that the recipe took out itself (e.g. from an archive it unpacked with
    /// [`Stage::source`]), at `dest` with `mode`: checked with [`check_payload_elf`] (`what`
    /// names it in errors) and recorded as an SBOM binary component with the installed bytes'
    /// sha256, as a payload is. For recipes whose vendor files are more than `[[payloads]]`
    /// can say (kata-containers: a release tree with links, data files and configuration).
    pub fn install_vendor_program(
        &self,
        what: &str,
        source: &talos_ext_model::Source,
        src: &Path,
        dest: &str,
        mode: u32,
        loader: Option<&str>,
    ) -> Result<()> {
        let bytes = std::fs::read(src).with_context(|| format!("reading {}", src.display()))?;
        check_payload_elf(what, &bytes, self.arch, loader)?;
        self.install_bytes(dest, &bytes, mode)?;
        let sha256 = Sha256::parse(&hex::encode(sha2::Sha256::digest(&bytes)))
            .context("internal error: a computed sha256 does not parse")?;
        let node_path = format!("/{dest}");
        let mut component = talos_ext_sbom::Component::from_meta(&self.meta, &self.pin.talos.tag, self.arch);
        component.name = node_path.clone();
        component.sources = vec![source.clone()];
        component.binary = Some(talos_ext_sbom::Binary { path: node_path, sha256 });
        self.binaries.borrow_mut().push(component);
        Ok(())
    }

    /// Installs the recipe's containerd CRI configuration part `files/<name>` (TOML, e.g.
    /// `10-crun.part`) into `etc/cri/conf.d/<name>` (0644), where Talos merges it into containerd's
    /// CRI configuration; the strict validator's `cri-part` rule checks it when the tree is staged.
    pub fn install_cri_part(&self, name: &str) -> Result<()> {
        let src = self.input(&format!("files/{name}"))?;
        self.install(&src, &format!("{CRI_PART_DIR}/{name}"), 0o644)
    }

    /// `member` of the archive `file` (source `name`), unpacked once per archive into the scratch
    /// directory; an error lists the archive's files when the member is not one of them.
    fn archive_member(&self, name: &str, file: &Path, member: &str) -> Result<PathBuf> {
        let digest = {
            let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            hex::encode(sha2::Sha256::digest(&bytes))
        };
        let dest = self.work.join("payloads").join(format!("{name}-{}", &digest[..16]));
        if !dest.is_dir() {
            std::fs::create_dir_all(self.work.join("payloads")).context("creating the payload directory")?;
            unpack(file, &dest, &UnpackOptions { strip_components: 0 })
                .with_context(|| format!("unpacking source `{name}` ({}) of `{}`", file.display(), self.meta.name))?;
        }
        let path = dest.join(member);
        if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            let mut found = Vec::new();
            list_files(&dest, &dest, &mut found)?;
            found.sort();
            bail!(
                "source `{name}` ({}) has no file `{member}` (payload member); it holds: {}",
                file.file_name().unwrap_or_default().to_string_lossy(),
                if found.is_empty() { "nothing".to_string() } else { found.join(", ") }
            );
        }
        Ok(path)
    }
}

/// Regular files below `dir`, relative to `root`.
fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let kind = entry.file_type().with_context(|| format!("{}", entry.path().display()))?;
        if kind.is_dir() {
            list_files(root, &entry.path(), out)?;
        } else if kind.is_file() {
            out.push(entry.path().strip_prefix(root).unwrap_or(&entry.path()).display().to_string());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_elf_checks_name_the_file_and_both_machines() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        // This test binary is an x86-64 ELF, dynamically linked against glibc.
        let err = check_payload_elf("payload `usr/local/bin/x`", &exe, Arch::Arm64, Some("/x")).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("payload `usr/local/bin/x`"), "{msg}");
        assert!(msg.contains("x86-64 (62)") && msg.contains("aarch64 (183)") && msg.contains("arm64"), "{msg}");
        let interp = ElfInfo::parse(&exe).unwrap().interpreter.unwrap();
        check_payload_elf("x", &exe, Arch::Amd64, Some(&interp)).unwrap();
        let err = check_payload_elf("x", &exe, Arch::Amd64, None).unwrap_err().to_string();
        assert!(err.contains("dynamically linked") && err.contains(&interp), "{err}");
        let err = check_payload_elf("payload `a`", b"#!/bin/sh\n", Arch::Amd64, None).unwrap_err().to_string();
        assert!(err.contains("payload `a` is not an ELF file"), "{err}");
    }
}
