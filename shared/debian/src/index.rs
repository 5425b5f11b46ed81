//! Reading apt's downloaded indexes (`Packages`, `Sources`): deb822 stanzas, found by package
//! name without parsing the whole file, and the pool files they name.
//!
//! An index is large (50-70 MB for one suite's `main`) and a lookup needs a handful of its
//! stanzas, so the file is searched for the line `Package: <name>` (memchr's substring search)
//! and only the stanzas around the hits are parsed.

use std::collections::BTreeSet;
use std::path::PathBuf;

use memchr::memmem;
use talos_ext_model::Sha256;

use crate::version::upstream_version;

/// Whether an index lists binary packages (`Packages`) or source packages (`Sources`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexKind {
    /// `deb` entries: `Packages` indexes per architecture.
    Binary,
    /// `deb-src` entries: `Sources` indexes.
    Source,
}

impl IndexKind {
    /// The `Types:` value of a sources entry.
    pub fn apt_type(self) -> &'static str {
        match self {
            IndexKind::Binary => "deb",
            IndexKind::Source => "deb-src",
        }
    }

    /// apt's identifier of the index target (`Packages`, `Sources`).
    pub fn identifier(self) -> &'static str {
        match self {
            IndexKind::Binary => "Packages",
            IndexKind::Source => "Sources",
        }
    }
}

/// One downloaded index of the private state, as `apt-get indextargets` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexFile {
    pub path: PathBuf,
    pub suite: String,
    pub component: String,
    /// The architecture of a `Packages` index; `None` for `Sources`.
    pub arch: Option<String>,
    /// The archive root the index's file names are relative to (`http://deb.debian.org/debian`).
    pub repo_uri: String,
}

/// A file of the archive's pool, as a signed index names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolFile {
    /// The file name (`util-linux_2.42.2.orig.tar.xz`).
    pub name: String,
    /// Where it is (`<archive root>/pool/...`).
    pub url: String,
    pub sha256: Sha256,
    pub size: u64,
}

/// A binary package as an index lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryPackage {
    pub name: String,
    pub version: String,
    /// `amd64`, `arm64` or `all`.
    pub arch: String,
    /// The suite and component of the index it was found in.
    pub suite: String,
    pub component: String,
    /// The `.deb`.
    pub file: PoolFile,
}

/// A source package as an index lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePackage {
    pub name: String,
    pub version: String,
    /// The suite and component of the index it was found in.
    pub suite: String,
    pub component: String,
    /// Its files: `.dsc`, upstream tarball(s) and signatures, the Debian part.
    pub files: Vec<PoolFile>,
}

impl SourcePackage {
    /// The upstream release tarball: `<name>_<upstream>.orig.tar.*`, or `<name>_<upstream>.tar.*`
    /// for a native package (not a signature, not an additional `.orig-<component>` tarball).
    pub fn upstream_tarball(&self) -> Option<&PoolFile> {
        let prefix = format!("{}_{}", self.name, upstream_version(&self.version));
        self.files.iter().find(|f| {
            let Some(rest) = f.name.strip_prefix(&prefix) else { return false };
            let rest = rest.strip_prefix(".orig").unwrap_or(rest);
            rest.strip_prefix(".tar.")
                .is_some_and(|ext| !ext.is_empty() && ext.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        })
    }
}

/// The fields of one stanza, in order; continuation lines are joined to their field with `\n`
/// (without the leading space), so multi-line fields keep one entry per line.
pub(crate) fn fields(stanza: &str) -> Vec<(&str, String)> {
    let mut out: Vec<(&str, String)> = Vec::new();
    for line in stanza.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = out.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
        } else if let Some((key, value)) = line.split_once(':') {
            out.push((key.trim(), value.trim().to_string()));
        }
    }
    out
}

/// The value of field `key` (case-insensitive, as in deb822).
pub(crate) fn field<'a>(fields: &'a [(&str, String)], key: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
}

/// Every stanza of `data` whose `Package` field is `name`.
pub(crate) fn stanzas_of<'a>(data: &'a [u8], name: &str) -> Vec<&'a str> {
    let needle = format!("Package: {name}\n");
    let mut out = Vec::new();
    for pos in memmem::find_iter(data, needle.as_bytes()) {
        if pos > 0 && data[pos - 1] != b'\n' {
            continue; // inside another field's value
        }
        let start = memmem::rfind(&data[..pos], b"\n\n").map_or(0, |i| i + 2);
        let end = memmem::find(&data[pos..], b"\n\n").map_or(data.len(), |i| pos + i + 1);
        if let Ok(stanza) = std::str::from_utf8(&data[start..end]) {
            out.push(stanza);
        }
    }
    out
}

/// The names of every package in `data` that starts with `prefix`.
pub(crate) fn names_with_prefix(data: &[u8], prefix: &str) -> BTreeSet<String> {
    let needle = format!("Package: {prefix}");
    memmem::find_iter(data, needle.as_bytes())
        .filter(|&pos| pos == 0 || data[pos - 1] == b'\n')
        .filter_map(|pos| {
            let line = &data[pos + "Package: ".len()..];
            let end = memchr::memchr(b'\n', line).unwrap_or(line.len());
            std::str::from_utf8(&line[..end]).ok().map(|name| name.trim().to_string())
        })
        .collect()
}

/// The binary packages of a `Packages` index `file` in its stanzas (`data`) named `name` that
/// are for `arch` or `all`. Stanzas without a file or sha256 are skipped.
pub(crate) fn binaries(file: &IndexFile, data: &[u8], name: &str, arch: &str) -> Vec<BinaryPackage> {
    stanzas_of(data, name)
        .into_iter()
        .filter_map(|stanza| {
            let fields = fields(stanza);
            let pkg_arch = field(&fields, "Architecture")?;
            if pkg_arch != arch && pkg_arch != "all" {
                return None;
            }
            let filename = field(&fields, "Filename")?;
            let name_part = filename.rsplit('/').next()?.to_string();
            Some(BinaryPackage {
                name: name.to_string(),
                version: field(&fields, "Version")?.to_string(),
                arch: pkg_arch.to_string(),
                suite: file.suite.clone(),
                component: file.component.clone(),
                file: PoolFile {
                    name: name_part,
                    url: join_url(&file.repo_uri, filename),
                    sha256: Sha256::parse(field(&fields, "SHA256")?).ok()?,
                    size: field(&fields, "Size")?.parse().ok()?,
                },
            })
        })
        .collect()
}

/// The source packages of a `Sources` index `file` in its stanzas (`data`) named `name`.
pub(crate) fn sources(file: &IndexFile, data: &[u8], name: &str) -> Vec<SourcePackage> {
    stanzas_of(data, name)
        .into_iter()
        .filter_map(|stanza| {
            let fields = fields(stanza);
            let directory = field(&fields, "Directory")?;
            let files = field(&fields, "Checksums-Sha256")?
                .lines()
                .filter_map(|line| {
                    let mut words = line.split_whitespace();
                    let (sha256, size, file_name) = (words.next()?, words.next()?, words.next()?);
                    Some(PoolFile {
                        name: file_name.to_string(),
                        url: join_url(&file.repo_uri, &format!("{directory}/{file_name}")),
                        sha256: Sha256::parse(sha256).ok()?,
                        size: size.parse().ok()?,
                    })
                })
                .collect();
            Some(SourcePackage {
                name: name.to_string(),
                version: field(&fields, "Version")?.to_string(),
                suite: file.suite.clone(),
                component: file.component.clone(),
                files,
            })
        })
        .collect()
}

/// `<root>/<path>` with exactly one `/` between them.
pub(crate) fn join_url(root: &str, path: &str) -> String {
    format!("{}/{}", root.trim_end_matches('/'), path.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKAGES: &str = "\
Package: hello
Version: 2.10-3
Architecture: arm64
Description: not hello-extra
 Package: hello
Filename: pool/main/h/hello/hello_2.10-3_arm64.deb
Size: 53000
SHA256: 1111111111111111111111111111111111111111111111111111111111111111

Package: hello
Version: 2.10-3
Architecture: amd64
Filename: pool/main/h/hello/hello_2.10-3_amd64.deb
Size: 54000
SHA256: 2222222222222222222222222222222222222222222222222222222222222222

Package: hello-traditional
Version: 2.10-6
Architecture: all
Filename: pool/main/h/hello-traditional/hello-traditional_2.10-6_all.deb
Size: 1000
SHA256: 3333333333333333333333333333333333333333333333333333333333333333

Source: hello
Package: hello-doc
Version: 2.10-3
Architecture: all
Filename: pool/main/h/hello/hello-doc_2.10-3_all.deb
Size: 9000
SHA256: 4444444444444444444444444444444444444444444444444444444444444444
";

    const SOURCES: &str = "\
Package: util-linux
Binary: util-linux, fdisk
Version: 2.42.2-1
Directory: pool/main/u/util-linux
Checksums-Sha256:
 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 4400 util-linux_2.42.2-1.dsc
 bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 9100000 util-linux_2.42.2.orig.tar.xz
 cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc 833 util-linux_2.42.2.orig.tar.xz.asc
 dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd 120000 util-linux_2.42.2-1.debian.tar.xz

Package: json-c
Version: 0.18+ds-1
Directory: pool/main/j/json-c
Checksums-Sha256:
 eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee 300000 json-c_0.18+ds.orig-extra.tar.gz
 ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff 290000 json-c_0.18+ds.orig.tar.xz

Package: dpkg
Version: 1.22.21
Directory: pool/main/d/dpkg
Checksums-Sha256:
 9999999999999999999999999999999999999999999999999999999999999999 5000000 dpkg_1.22.21.tar.xz
";

    fn index(arch: Option<&str>) -> IndexFile {
        IndexFile {
            path: PathBuf::from("/lists/x"),
            suite: "trixie".into(),
            component: "main".into(),
            arch: arch.map(str::to_string),
            repo_uri: "http://deb.debian.org/debian/".into(),
        }
    }

    #[test]
    fn finds_binaries_by_name_and_arch_only_at_line_starts() {
        let file = index(Some("arm64"));
        let found = binaries(&file, PACKAGES.as_bytes(), "hello", "arm64");
        assert_eq!(found.len(), 1, "{found:?}");
        let hello = &found[0];
        assert_eq!((hello.version.as_str(), hello.arch.as_str(), hello.suite.as_str()), ("2.10-3", "arm64", "trixie"));
        assert_eq!(hello.file.name, "hello_2.10-3_arm64.deb");
        assert_eq!(hello.file.url, "http://deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_arm64.deb");
        assert_eq!((hello.file.size, &hello.file.sha256.as_str()[..4]), (53000, "1111"));
        // An `all` package matches any arch; a stanza whose Package is not its first field too.
        let doc = binaries(&file, PACKAGES.as_bytes(), "hello-doc", "amd64");
        assert_eq!(doc.iter().map(|b| b.file.name.as_str()).collect::<Vec<_>>(), ["hello-doc_2.10-3_all.deb"]);
        assert!(binaries(&file, PACKAGES.as_bytes(), "hello-tra", "amd64").is_empty());
        assert!(binaries(&file, PACKAGES.as_bytes(), "hello", "riscv64").is_empty());
    }

    #[test]
    fn lists_names_by_prefix() {
        let names: Vec<String> = names_with_prefix(PACKAGES.as_bytes(), "hello").into_iter().collect();
        assert_eq!(names, ["hello", "hello-doc", "hello-traditional"]);
        assert!(names_with_prefix(PACKAGES.as_bytes(), "ello").is_empty());
    }

    #[test]
    fn finds_sources_and_their_upstream_tarball() {
        let file = index(None);
        let found = sources(&file, SOURCES.as_bytes(), "util-linux");
        assert_eq!(found.len(), 1);
        let orig = found[0].upstream_tarball().expect("an upstream tarball");
        assert_eq!(orig.name, "util-linux_2.42.2.orig.tar.xz");
        assert_eq!(orig.url, "http://deb.debian.org/debian/pool/main/u/util-linux/util-linux_2.42.2.orig.tar.xz");
        assert_eq!(orig.size, 9_100_000);
        // Not the `.orig-<component>` tarball that comes first; a native package's own tarball.
        let json = sources(&file, SOURCES.as_bytes(), "json-c");
        assert_eq!(json[0].upstream_tarball().map(|f| f.name.as_str()), Some("json-c_0.18+ds.orig.tar.xz"));
        let dpkg = sources(&file, SOURCES.as_bytes(), "dpkg");
        assert_eq!(dpkg[0].upstream_tarball().map(|f| f.name.as_str()), Some("dpkg_1.22.21.tar.xz"));
        assert!(sources(&file, SOURCES.as_bytes(), "util").is_empty());
    }

    #[test]
    fn multi_line_fields_keep_their_lines() {
        let fields = fields("Package: a\nChecksums-Sha256:\n x 1 a.dsc\n y 2 a.tar.xz\nVersion: 1\n");
        assert_eq!(field(&fields, "checksums-sha256"), Some("\nx 1 a.dsc\ny 2 a.tar.xz"));
        assert_eq!(field(&fields, "Version"), Some("1"));
    }
}
