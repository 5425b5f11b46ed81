//! [`recover`]: `Module.symvers` from a kernel's published files (see the parent module).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget};

use super::{Export, KernelImage, Symvers, SymversError, VMLINUX, input_err, io_err};

/// The size of a `struct kernel_symbol` with PC-relative offsets: value, name, namespace.
const ENTRY: u64 = 12;

/// The export tables, plain and GPL-only, with the CRC table that goes with each.
const TABLES: [(&str, &str, bool); 2] = [("__ksymtab", "__kcrctab", false), ("__ksymtab_gpl", "__kcrctab_gpl", true)];

/// What [`recover`] found and read.
#[derive(Debug)]
pub struct Recovery {
    pub symvers: Symvers,
    /// The kernel release (the module directory's name).
    pub release: String,
    pub kernel: PathBuf,
    /// How the kernel image was unwrapped (`bzImage, zstd, ELF`).
    pub kernel_format: String,
    pub system_map: PathBuf,
    pub modules_dir: PathBuf,
    /// Modules read (with or without exports).
    pub modules: usize,
}

/// Recovers `Module.symvers` from `dir`, an unpacked kernel package or image: `vmlinuz*` (or
/// `vmlinux*`) and `System.map*` in `dir` or `dir/boot`, and the modules of one release in
/// `lib/modules/<release>/` or `usr/lib/modules/<release>/` (`.ko`, `.ko.gz`, `.ko.xz`,
/// `.ko.zst`).
pub fn recover(dir: &Path) -> Result<Recovery, SymversError> {
    let modules_dir = find_modules_dir(dir)?;
    let release = modules_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let kernel = find_one(dir, &["vmlinuz", "vmlinux"], &release, "a kernel image (vmlinuz*)")?;
    let system_map = find_one(dir, &["System.map"], &release, "a System.map")?;

    let map = read_system_map(&system_map)?;
    let mut image = KernelImage::read(&kernel)?;
    if image.is_flat() {
        let text =
            *map.get("_text").ok_or_else(|| input_err(&system_map, "has no `_text`, where a flat image starts"))?;
        image.set_flat_base(text);
    }
    let mut exports = BTreeMap::new();
    for (name, export) in kernel_exports(&image, &map, &kernel, &system_map)? {
        if exports.insert(name.clone(), export).is_some() {
            return Err(input_err(&kernel, format!("exports `{name}` twice")));
        }
    }
    let mut modules = 0;
    for (path, owner) in module_files(&modules_dir)? {
        modules += 1;
        let bytes = super::read_module(&path).map_err(io_err(&path))?;
        for (name, export) in module_exports(&bytes, &owner).map_err(|m| input_err(&path, m))? {
            if let Some(first) = exports.get(&name) {
                return Err(input_err(&path, format!("exports `{name}`, which {} exports too", first.owner)));
            }
            exports.insert(name, export);
        }
    }
    Ok(Recovery {
        symvers: Symvers { exports },
        release,
        kernel,
        kernel_format: image.description.clone(),
        system_map,
        modules_dir,
        modules,
    })
}

fn find_modules_dir(dir: &Path) -> Result<PathBuf, SymversError> {
    let mut found = Vec::new();
    for base in ["lib/modules", "usr/lib/modules"] {
        let base = dir.join(base);
        let Ok(entries) = std::fs::read_dir(&base) else { continue };
        for entry in entries {
            let path = entry.map_err(io_err(&base))?.path();
            if path.is_dir() {
                found.push(path);
            }
        }
    }
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(input_err(dir, "no lib/modules/<release>/ or usr/lib/modules/<release>/ directory")),
        _ => Err(input_err(
            dir,
            format!(
                "several module trees ({}): unpack one kernel per directory",
                found.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

/// The one file in `dir` or `dir/boot` whose name starts with one of `prefixes`; of several, the
/// one named for `release` (`vmlinuz-<release>`).
fn find_one(dir: &Path, prefixes: &[&str], release: &str, what: &str) -> Result<PathBuf, SymversError> {
    let mut found = Vec::new();
    for base in [dir.to_path_buf(), dir.join("boot")] {
        let Ok(entries) = std::fs::read_dir(&base) else { continue };
        for entry in entries {
            let path = entry.map_err(io_err(&base))?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if path.is_file() && prefixes.iter().any(|p| name.starts_with(p)) {
                found.push(path);
            }
        }
    }
    found.sort();
    if found.len() > 1 {
        let named: Vec<PathBuf> = found.iter().filter(|p| p.to_string_lossy().ends_with(release)).cloned().collect();
        if named.len() == 1 {
            return Ok(named[0].clone());
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(input_err(dir, format!("no {what} in it or in boot/"))),
        _ => Err(input_err(
            dir,
            format!(
                "several candidates for {what} ({}) and none named for release {release}",
                found.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

/// The symbols of `System.map` that recovery uses (section bounds and `_text`).
fn read_system_map(path: &Path) -> Result<BTreeMap<String, u64>, SymversError> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    let mut map = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let mut fields = line.split_whitespace();
        let (Some(addr), Some(_kind), Some(name)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(SymversError::Parse {
                path: path.to_path_buf(),
                line: i + 1,
                message: "expected `<address> <type> <symbol>`".into(),
            });
        };
        if name == "_text" || name.starts_with("__start___k") || name.starts_with("__stop___k") {
            let addr = u64::from_str_radix(addr, 16).map_err(|_| SymversError::Parse {
                path: path.to_path_buf(),
                line: i + 1,
                message: format!("`{addr}` is not a hexadecimal address"),
            })?;
            map.insert(name.to_string(), addr);
        }
    }
    if !map.contains_key("__start___ksymtab") {
        return Err(input_err(
            path,
            format!(
                "has no `__start___ksymtab` ({} lines): a stub? Debian's linux-image packages ship one; the real \
                 System.map comes with the kernel build (or `nm -n` of the -dbg package's vmlinux)",
                text.lines().count()
            ),
        ));
    }
    Ok(map)
}

/// The kernel's own exports, read from its tables by address.
fn kernel_exports(
    image: &KernelImage,
    map: &BTreeMap<String, u64>,
    kernel: &Path,
    system_map: &Path,
) -> Result<Vec<(String, Export)>, SymversError> {
    let bound = |name: String| {
        map.get(&name).copied().ok_or_else(|| {
            input_err(system_map, format!("has no `{name}` (is the kernel built with CONFIG_MODVERSIONS?)"))
        })
    };
    let mut out = Vec::new();
    for (table, crcs, gpl) in TABLES {
        let (start, stop) = (bound(format!("__start_{table}"))?, bound(format!("__stop_{table}"))?);
        let (crc_start, crc_stop) = (bound(format!("__start_{crcs}"))?, bound(format!("__stop_{crcs}"))?);
        let count = crc_stop.saturating_sub(crc_start) / 4;
        if stop.saturating_sub(start) != count * ENTRY {
            return Err(input_err(
                system_map,
                format!(
                    "{table} is {} bytes for {count} CRCs in {crcs}: not {ENTRY}-byte PC-relative entries \
                     (only kernels with CONFIG_HAVE_ARCH_PREL32_RELOCATIONS and MODVERSIONS are supported)",
                    stop.saturating_sub(start)
                ),
            ));
        }
        let read_err = |what: &str, addr: u64| {
            input_err(kernel, format!("{what} at {addr:#x} ({table}) is not in the image ({})", image.description))
        };
        for i in 0..count {
            let entry = start + i * ENTRY;
            let rel = |field: u64| -> Result<u64, SymversError> {
                let at = entry + field;
                let offset = image.u32_at(at).ok_or_else(|| read_err("an entry", at))? as i32;
                Ok(at.wrapping_add_signed(offset.into()))
            };
            let (name_at, ns_at) = (rel(4)?, rel(8)?);
            let name = image.str_at(name_at).ok_or_else(|| read_err("a symbol name", name_at))?;
            let namespace = image.str_at(ns_at).ok_or_else(|| read_err("a namespace", ns_at))?;
            let crc_at = crc_start + 4 * i;
            let crc = image.u32_at(crc_at).ok_or_else(|| read_err("a CRC", crc_at))?;
            out.push((name.to_string(), Export { crc, owner: VMLINUX.into(), gpl, namespace: namespace.to_string() }));
        }
    }
    Ok(out)
}

/// Every module below `dir` (sorted, links not followed) with its owner name: the path below the
/// release directory without `kernel/` and the `.ko*` suffix, as modpost names in-tree modules.
fn module_files(dir: &Path) -> Result<Vec<(PathBuf, String)>, SymversError> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).map_err(io_err(&d))? {
            let entry = entry.map_err(io_err(&d))?;
            let kind = entry.file_type().map_err(io_err(entry.path()))?;
            let path = entry.path();
            if kind.is_dir() {
                todo.push(path);
            } else if kind.is_file() {
                let rel = path.strip_prefix(dir).expect("below dir").to_string_lossy().into_owned();
                let stem = [".ko", ".ko.gz", ".ko.xz", ".ko.zst"].iter().find_map(|s| rel.strip_suffix(s));
                if let Some(stem) = stem {
                    let owner = stem.strip_prefix("kernel/").unwrap_or(stem).to_string();
                    out.push((path, owner));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A module's exports, from its unrelocated `__ksymtab*` (names and namespaces through the
/// relocations of each entry) and `__kcrctab*` (by index).
fn module_exports(bytes: &[u8], owner: &str) -> Result<Vec<(String, Export)>, String> {
    let file = object::File::parse(bytes).map_err(|e| format!("not an ELF module: {e}"))?;
    let strings = file.section_by_name("__ksymtab_strings");
    let mut out = Vec::new();
    for (table, crcs, gpl) in TABLES {
        let Some(section) = file.section_by_name(table) else { continue };
        let size = section.size();
        if size % ENTRY != 0 {
            return Err(format!("{table} is {size} bytes, not a whole number of {ENTRY}-byte entries"));
        }
        let count = size / ENTRY;
        if count == 0 {
            continue;
        }
        let crc_data = file
            .section_by_name(crcs)
            .ok_or_else(|| format!("exports {count} symbols in {table} but has no {crcs}: built without MODVERSIONS?"))?
            .data()
            .map_err(|e| format!("{crcs}: {e}"))?;
        if crc_data.len() as u64 != count * 4 {
            return Err(format!("{table} has {count} entries but {crcs} {} CRCs", crc_data.len() / 4));
        }
        let strings = strings.as_ref().ok_or_else(|| format!("exports from {table} but has no __ksymtab_strings"))?;
        let string_data = strings.data().map_err(|e| format!("__ksymtab_strings: {e}"))?;
        // offset in the table -> offset in __ksymtab_strings
        let mut targets = BTreeMap::new();
        for (offset, reloc) in section.relocations() {
            let RelocationTarget::Symbol(index) = reloc.target() else { continue };
            let symbol = file.symbol_by_index(index).map_err(|e| format!("{table}: relocation at {offset}: {e}"))?;
            if symbol.section_index() == Some(strings.index()) {
                targets.insert(offset, symbol.address().wrapping_add_signed(reloc.addend()));
            }
        }
        let string_at = |field: u64| -> Result<String, String> {
            let at = *targets.get(&field).ok_or_else(|| format!("{table}: no string relocation at offset {field}"))?;
            let rest =
                string_data.get(at as usize..).ok_or_else(|| format!("{table}: string offset {at} out of range"))?;
            let len =
                rest.iter().position(|&b| b == 0).ok_or_else(|| format!("{table}: unterminated string at {at}"))?;
            String::from_utf8(rest[..len].to_vec()).map_err(|_| format!("{table}: a name that is not UTF-8 at {at}"))
        };
        for i in 0..count {
            let name = string_at(i * ENTRY + 4)?;
            let namespace = string_at(i * ENTRY + 8)?;
            let at = (i * 4) as usize;
            let crc = u32::from_le_bytes(crc_data[at..at + 4].try_into().expect("four bytes"));
            out.push((name, Export { crc, owner: owner.to_string(), gpl, namespace }));
        }
    }
    Ok(out)
}
