//! In-tree modules: picking signed modules out of a toolchain's module tree
//! (`lib/modules/<release>/kernel/...`), decompressed to plain `.ko` with their signatures kept,
//! and finding `depends=` that nothing provides.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use talos_ext_kmod::{ModuleSignature, modinfo};
use talos_ext_model::Arch;

use crate::error::KernelError;

/// The index files extensions ship next to their modules (pkgs' convention).
pub const INDEX_FILES: [&str; 3] = ["modules.order", "modules.builtin", "modules.builtin.modinfo"];

/// What counts as the base kernel when checking `depends=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// Every module of the tree (Debian: the image's own tree is the base).
    WholeTree,
    /// Only `modules.builtin` (Talos: the rootfs ships a curated subset not known here).
    BuiltinOnly,
}

/// A module tree of one toolchain and arch: `<dir>` is `.../lib/modules/<release>`.
#[derive(Debug, Clone)]
pub struct ModuleTree {
    pub toolchain: String,
    pub arch: Arch,
    pub release: String,
    pub dir: PathBuf,
    pub base: Base,
}

/// One selected module, decompressed, with what `.modinfo` and its signature say.
#[derive(Debug, Clone)]
pub struct SelectedModule {
    /// Path relative to the release directory (`kernel/drivers/input/misc/uinput.ko`).
    pub rel: String,
    /// Plain ELF with its appended signature.
    pub bytes: Vec<u8>,
    /// The module name (`uinput`, `mei_me`).
    pub name: String,
    pub depends: Vec<String>,
    /// The signer's common name.
    pub signer: Option<String>,
}

/// A `depends=` entry nothing provides.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unresolved {
    pub module: String,
    pub depends: String,
}

/// The module name of a file name: without `.ko`/`.ko.xz`, `-` as `_` (what `depends=` uses).
pub fn module_name(file_name: &str) -> String {
    let base = file_name.strip_suffix(".xz").unwrap_or(file_name);
    base.strip_suffix(".ko").unwrap_or(base).replace('-', "_")
}

/// Why a module is not in a [`ModuleTree`] ([`ModuleTree::absence`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Absence {
    /// The kernel has it built in (`modules.builtin` lists it).
    BuiltIn,
    /// The kernel's configuration does not build it at all (or this kernel version has no such module).
    NotBuilt,
}

impl std::fmt::Display for Absence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Absence::BuiltIn => "built into this kernel (modules.builtin)",
            Absence::NotBuilt => "not built by this kernel's configuration or version",
        })
    }
}

impl ModuleTree {
    /// Reads the modules `rels` (`kernel/...ko`): finds `.ko` or `.ko.xz`, decompresses, checks
    /// that each is signed and for this arch.
    pub fn select(&self, rels: &[String]) -> Result<Vec<SelectedModule>, KernelError> {
        rels.iter().map(|rel| self.read_module(rel)).collect()
    }

    fn read_module(&self, rel: &str) -> Result<SelectedModule, KernelError> {
        let plain = self.dir.join(rel);
        let xz = self.dir.join(format!("{rel}.xz"));
        let bytes = if plain.is_file() {
            fs::read(&plain).map_err(KernelError::io("read", &plain))?
        } else if xz.is_file() {
            talos_ext_kmod::symvers::read_module(&xz).map_err(KernelError::io("read", &xz))?
        } else {
            return Err(KernelError::NoSuchModule {
                toolchain: self.toolchain.clone(),
                arch: self.arch,
                module: rel.to_string(),
                tree: self.dir.clone(),
                near: self.near(rel),
            });
        };
        let bad = |message: String| KernelError::Module { path: plain.clone(), message };
        let info = modinfo(&bytes).map_err(|e| bad(e.to_string()))?;
        let machine = talos_ext_kmod::elf_machine(&bytes).map_err(|e| bad(e.to_string()))?;
        if machine.talos_arch() != Some(self.arch.as_str()) {
            return Err(bad(format!("is for {machine:?}, not {}", self.arch)));
        }
        let sig = ModuleSignature::parse(&bytes).map_err(|e| bad(e.to_string()))?;
        let Some(sig) = sig else {
            return Err(bad(format!(
                "is not signed: in-tree modules must keep the kernel build's signature (toolchain `{}`)",
                self.toolchain
            )));
        };
        let file = rel.rsplit('/').next().unwrap_or(rel);
        Ok(SelectedModule {
            rel: rel.to_string(),
            name: info.name().map(str::to_string).unwrap_or_else(|| module_name(file)),
            depends: info.depends().into_iter().map(str::to_string).collect(),
            signer: sig.signer_name().map(str::to_string),
            bytes,
        })
    }

    /// Why the module `rel` (`kernel/...ko`) is not in the tree as a module, or `None` when it
    /// is (`.ko` or `.ko.xz`).
    pub fn absence(&self, rel: &str) -> Option<Absence> {
        if self.dir.join(rel).is_file() || self.dir.join(format!("{rel}.xz")).is_file() {
            return None;
        }
        let builtin = fs::read_to_string(self.dir.join("modules.builtin")).unwrap_or_default();
        Some(if builtin.lines().any(|l| l == rel) { Absence::BuiltIn } else { Absence::NotBuilt })
    }

    /// Other modules with the same file name, as a hint; or that the kernel has it built in.
    fn near(&self, rel: &str) -> String {
        if self.absence(rel) == Some(Absence::BuiltIn) {
            return format!("; this kernel has it built in (modules.builtin), so no tree of it has a `{rel}`");
        }
        let want = module_name(rel.rsplit('/').next().unwrap_or(rel));
        let mut found = Vec::new();
        walk(&self.dir.join("kernel"), &mut |p| {
            if p.file_name().is_some_and(|n| module_name(&n.to_string_lossy()) == want) {
                found.push(p.strip_prefix(&self.dir).unwrap_or(p).display().to_string());
            }
        });
        if found.is_empty() { String::new() } else { format!("; found {}", found.join(", ")) }
    }

    /// The index files present in the tree, with their paths.
    pub fn index_files(&self) -> Vec<(&'static str, PathBuf)> {
        INDEX_FILES.iter().map(|n| (*n, self.dir.join(n))).filter(|(_, p)| p.is_file()).collect()
    }

    /// Names of the modules the base kernel provides (see [`Base`]).
    pub fn base_names(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        if let Ok(text) = fs::read_to_string(self.dir.join("modules.builtin")) {
            names.extend(text.lines().filter_map(|l| l.rsplit('/').next()).map(module_name));
        }
        if self.base == Base::WholeTree {
            walk(&self.dir.join("kernel"), &mut |p| {
                if let Some(n) = p.file_name().map(|n| n.to_string_lossy().into_owned())
                    && (n.ends_with(".ko") || n.ends_with(".ko.xz"))
                {
                    names.insert(module_name(&n));
                }
            });
        }
        names
    }
}

/// `depends=` of `modules` that neither `provided` (the extension's own modules) nor `base` has.
pub fn unresolved_depends(
    modules: &[(String, Vec<String>)],
    provided: &BTreeSet<String>,
    base: &BTreeSet<String>,
) -> Vec<Unresolved> {
    let mut out: Vec<Unresolved> = modules
        .iter()
        .flat_map(|(module, deps)| deps.iter().map(move |d| (module, d)))
        .filter(|(_, d)| {
            let d = d.replace('-', "_");
            !provided.contains(&d) && !base.contains(&d)
        })
        .map(|(m, d)| Unresolved { module: m.clone(), depends: d.clone() })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            walk(&path, f);
        } else {
            f(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absence_says_built_in_or_not_built() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("6.12.1-amd64");
        fs::create_dir_all(dir.join("kernel/drivers/a")).unwrap();
        fs::write(dir.join("kernel/drivers/a/m.ko.xz"), b"").unwrap();
        fs::write(dir.join("modules.builtin"), "kernel/drivers/a/b.ko\n").unwrap();
        let tree = ModuleTree {
            toolchain: "t".into(),
            arch: Arch::Amd64,
            release: "6.12.1-amd64".into(),
            dir,
            base: Base::WholeTree,
        };
        assert_eq!(tree.absence("kernel/drivers/a/m.ko"), None);
        assert_eq!(tree.absence("kernel/drivers/a/b.ko"), Some(Absence::BuiltIn));
        assert_eq!(tree.absence("kernel/drivers/a/c.ko"), Some(Absence::NotBuilt));
        let err = tree.select(&["kernel/drivers/a/b.ko".to_string()]).unwrap_err().to_string();
        assert!(err.contains("built in (modules.builtin)"), "{err}");
    }

    #[test]
    fn names_and_unresolved_depends() {
        assert_eq!(module_name("mei-me.ko.xz"), "mei_me");
        assert_eq!(module_name("uinput.ko"), "uinput");
        let modules = vec![
            ("mei_me".to_string(), vec!["mei".to_string()]),
            ("mei_hdcp".to_string(), vec!["mei".to_string(), "drm-display-helper".to_string()]),
        ];
        let provided: BTreeSet<String> = ["mei_me".into(), "mei_hdcp".into()].into();
        let base: BTreeSet<String> = BTreeSet::new();
        let got = unresolved_depends(&modules, &provided, &base);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], Unresolved { module: "mei_hdcp".into(), depends: "drm-display-helper".into() });
        let base: BTreeSet<String> = ["mei".into(), "drm_display_helper".into()].into();
        assert!(unresolved_depends(&modules, &provided, &base).is_empty());
    }
}
