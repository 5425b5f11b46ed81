//! `Module.symvers`: the CRC, owner, license flag and namespace of every symbol a kernel and its
//! in-tree modules export ([`Symvers`], modpost's text format), and its recovery from a built
//! kernel's published files alone ([`recover`]): `vmlinuz`, `System.map` and the module tree.
//!
//! A kernel with `CONFIG_MODVERSIONS` keeps everything `Module.symvers` says in the image itself:
//! its exports are `struct kernel_symbol` entries in `__ksymtab`/`__ksymtab_gpl` (sorted by
//! name), each with a 32-bit CRC at the same index of `__kcrctab`/`__kcrctab_gpl`, which is how
//! the module loader pairs them (`symversion(crcs, index)`). `System.map` keeps the start and stop
//! symbols of those sections (it drops `__crc_*` and `__kstrtab*`), so the tables are found by
//! address in the decompressed image ([`KernelImage`]). Each entry holds PC-relative offsets to
//! the symbol, its name and its namespace (`CONFIG_HAVE_ARCH_PREL32_RELOCATIONS`, which x86_64
//! and arm64 select). Modules carry the same sections, unrelocated: names and namespaces come
//! from the relocations of `__ksymtab*`, CRCs from `__kcrctab*` by index.

mod image;
mod recover;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

pub use image::{Compression, KernelImage};
pub use recover::{Recovery, recover};

/// A module file's ELF bytes: read, and decompressed when it is a `.ko.gz`, `.ko.xz` or
/// `.ko.zst` (told by its magic bytes, not its name).
pub fn read_module(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    let bytes = std::fs::read(path)?;
    match Compression::detect(&bytes).filter(|c| *c != Compression::Lzma) {
        Some(c) => c.decompress(&bytes, 1 << 30),
        None => Ok(bytes),
    }
}

/// The owner modpost writes for the kernel's own exports.
pub const VMLINUX: &str = "vmlinux";

/// One exported symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub crc: u32,
    /// `vmlinux`, or the module's path below the build tree without `.ko` (`fs/btrfs/btrfs`).
    pub owner: String,
    /// `EXPORT_SYMBOL_GPL`.
    pub gpl: bool,
    /// The symbol namespace (`""` for none).
    pub namespace: String,
}

/// The contents of a `Module.symvers`: exports by symbol name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Symvers {
    pub exports: BTreeMap<String, Export>,
}

/// What can go wrong reading or recovering a `Module.symvers`.
#[derive(Debug, thiserror::Error)]
pub enum SymversError {
    #[error("{path}:{line}: {message}")]
    Parse { path: PathBuf, line: usize, message: String },
    #[error("{path}: {message}")]
    Input { path: PathBuf, message: String },
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub(crate) fn input_err(path: impl Into<PathBuf>, message: impl Into<String>) -> SymversError {
    SymversError::Input { path: path.into(), message: message.into() }
}

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> SymversError {
    let path = path.into();
    move |source| SymversError::Io { path, source }
}

impl Symvers {
    /// Parses modpost's format: `0x<crc>\t<symbol>\t<owner>\tEXPORT_SYMBOL[_GPL]\t<namespace>`
    /// per line. `path` only names the file in errors.
    pub fn parse(text: &str, path: &std::path::Path) -> Result<Symvers, SymversError> {
        let mut exports = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let fail = |message: String| SymversError::Parse { path: path.to_path_buf(), line: i + 1, message };
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            let [crc, name, owner, kind, rest @ ..] = fields.as_slice() else {
                return Err(fail(format!("expected 4 or 5 tab-separated fields, found {}", fields.len())));
            };
            if rest.len() > 1 {
                return Err(fail(format!("expected 4 or 5 tab-separated fields, found {}", fields.len())));
            }
            let crc = crc
                .strip_prefix("0x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .ok_or_else(|| fail(format!("`{crc}` is not a CRC like 0x1a2b3c4d")))?;
            let gpl = match *kind {
                "EXPORT_SYMBOL" => false,
                "EXPORT_SYMBOL_GPL" => true,
                other => return Err(fail(format!("`{other}` is not EXPORT_SYMBOL or EXPORT_SYMBOL_GPL"))),
            };
            let export =
                Export { crc, owner: owner.to_string(), gpl, namespace: rest.first().unwrap_or(&"").to_string() };
            if exports.insert(name.to_string(), export).is_some() {
                return Err(fail(format!("`{name}` is exported twice")));
            }
        }
        Ok(Symvers { exports })
    }

    /// modpost's format, one line per export: `vmlinux`'s first, then each module's, by owner;
    /// symbols sorted within an owner (modpost's own order follows its link order, which a
    /// consumer never depends on).
    pub fn to_text(&self) -> String {
        let mut rows: Vec<(&String, &Export)> = self.exports.iter().collect();
        rows.sort_by(|(a, ea), (b, eb)| {
            (ea.owner != VMLINUX, &ea.owner, *a).cmp(&(eb.owner != VMLINUX, &eb.owner, *b))
        });
        let mut out = String::new();
        for (name, e) in rows {
            out.push_str(&format!(
                "0x{:08x}\t{name}\t{}\tEXPORT_SYMBOL{}\t{}\n",
                e.crc,
                e.owner,
                if e.gpl { "_GPL" } else { "" },
                e.namespace
            ));
        }
        out
    }

    /// Every difference from `other`, one line each (`symbol: ...`), sorted; empty when equal.
    pub fn differences(&self, other: &Symvers) -> Vec<String> {
        let mut out = Vec::new();
        for (name, a) in &self.exports {
            match other.exports.get(name) {
                None => out.push(format!("{name}: only in the first ({})", a.owner)),
                Some(b) if a != b => out.push(format!("{name}: {a} != {b}")),
                Some(_) => {}
            }
        }
        for (name, b) in &other.exports {
            if !self.exports.contains_key(name) {
                out.push(format!("{name}: only in the second ({})", b.owner));
            }
        }
        out
    }

    /// The number of exports per owner kind: (`vmlinux`, modules).
    pub fn counts(&self) -> (usize, usize) {
        let kernel = self.exports.values().filter(|e| e.owner == VMLINUX).count();
        (kernel, self.exports.len() - kernel)
    }
}

impl fmt::Display for Export {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:08x} {} {}", self.crc, self.owner, if self.gpl { "GPL" } else { "non-GPL" })?;
        if !self.namespace.is_empty() {
            write!(f, " namespace {}", self.namespace)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const TEXT: &str = "0x12345678\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n\
                        0x0000abcd\tbtrfs_x\tfs/btrfs/btrfs\tEXPORT_SYMBOL_GPL\tBTRFS\n\
                        0xdeadbeef\tkmalloc\tvmlinux\tEXPORT_SYMBOL_GPL\t\n";

    #[test]
    fn parses_and_writes_modposts_format() {
        let s = Symvers::parse(TEXT, Path::new("Module.symvers")).unwrap();
        assert_eq!(s.exports.len(), 3);
        let e = &s.exports["btrfs_x"];
        assert_eq!((e.crc, e.owner.as_str(), e.gpl, e.namespace.as_str()), (0xabcd, "fs/btrfs/btrfs", true, "BTRFS"));
        assert_eq!(
            s.to_text(),
            "0xdeadbeef\tkmalloc\tvmlinux\tEXPORT_SYMBOL_GPL\t\n\
             0x12345678\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n\
             0x0000abcd\tbtrfs_x\tfs/btrfs/btrfs\tEXPORT_SYMBOL_GPL\tBTRFS\n"
        );
        assert_eq!(Symvers::parse(&s.to_text(), Path::new("x")).unwrap(), s);
        assert_eq!(s.counts(), (2, 1));
    }

    #[test]
    fn bad_lines_name_the_file_and_line() {
        for (text, want) in [
            ("0x1\ta\tvmlinux\n", "found 3"),
            ("12\ta\tvmlinux\tEXPORT_SYMBOL\t\n", "not a CRC"),
            ("0x1\ta\tvmlinux\tEXPORT\t\n", "not EXPORT_SYMBOL"),
            ("0x1\ta\tvmlinux\tEXPORT_SYMBOL\t\n0x2\ta\tm\tEXPORT_SYMBOL\t\n", "exported twice"),
        ] {
            let e = Symvers::parse(text, Path::new("/k/Module.symvers")).unwrap_err().to_string();
            assert!(e.starts_with("/k/Module.symvers:") && e.contains(want), "{e}");
        }
    }

    #[test]
    fn differences_name_each_symbol() {
        let a = Symvers::parse(TEXT, Path::new("a")).unwrap();
        let mut b = a.clone();
        b.exports.get_mut("printk").unwrap().crc = 1;
        b.exports.remove("kmalloc");
        let d = a.differences(&b);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].starts_with("kmalloc: only in the first"), "{d:?}");
        assert!(d[1].starts_with("printk: 0x12345678 vmlinux non-GPL != 0x00000001"), "{d:?}");
        assert!(a.differences(&a).is_empty());
    }
}
