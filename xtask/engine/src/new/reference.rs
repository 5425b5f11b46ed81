//! Facts for a scaffold from a reference catalog in the upstream catalog format: `[[extension]]`
//! tables (name, tier, label, author, compatibility, arches, `version_format` and
//! `version_value`, sources with `destination`, modules, `firmware_paths`, licenses, CPEs) and
//! `[[internal]]` tables (name, `version`, sources) for libraries; an out-of-tree module
//! extension (`kmod_pkgs_image`) takes the sources of that `[[module_package]]`, from the same
//! file or the `talos-toolchain.toml` beside it. Only facts are taken; the
//! description is a sentence made from our own `label`, never upstream prose.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use talos_ext_model::{Arch, Source, VersionSpec};

/// What a reference entry says, as recipe metadata.
#[derive(Debug, Default)]
pub struct Facts {
    pub tier: Option<String>,
    pub author: Option<String>,
    pub description: Option<String>,
    pub compatibility: Option<String>,
    pub arches: Option<Vec<Arch>>,
    /// The version as the reference formats it (the caller checks it suits the kind).
    pub version: Option<VersionSpec>,
    pub sources: Vec<Source>,
    pub modules: BTreeMap<Arch, Vec<String>>,
    pub firmware: Vec<String>,
    pub license: Option<String>,
    pub cpes: Vec<String>,
    pub purl: Option<String>,
}

/// Reads `path` and returns the facts of the entry `name` (`[[extension]]` first, then
/// `[[internal]]`).
pub fn facts(path: &Path, name: &str) -> Result<Facts> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the reference {}", path.display()))?;
    let doc: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing the reference {}", path.display()))?;
    let entries = |table: &str| -> Vec<toml::Table> {
        doc.get(table)
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|e| e.as_table().cloned()).collect())
            .unwrap_or_default()
    };
    let (extensions, internals) = (entries("extension"), entries("internal"));
    let named = |e: &toml::Table| e.get("name").and_then(|n| n.as_str()) == Some(name);
    if let Some(e) = extensions.iter().find(|e| named(e)) {
        let mut facts = extension_facts(e).with_context(|| format!("{}: [[extension]] `{name}`", path.display()))?;
        // An out-of-tree module extension's sources are its module package's (pkgs builds it).
        if facts.sources.is_empty()
            && let Some(package) = string(e, "kmod_pkgs_image")
        {
            facts.sources = module_package_sources(path, &doc, &package)?;
            if facts.purl.is_none() || facts.purl.as_deref().is_some_and(|p| p.starts_with("pkg:generic/")) {
                let version = facts.version.as_ref().map(|v| v.upstream_part().to_string());
                facts.purl = purl(&facts, name, version);
            }
        }
        return Ok(facts);
    }
    if let Some(e) = internals.iter().find(|e| named(e)) {
        return internal_facts(e).with_context(|| format!("{}: [[internal]] `{name}`", path.display()));
    }
    let near: Vec<&str> = extensions
        .iter()
        .chain(&internals)
        .filter_map(|e| e.get("name").and_then(|n| n.as_str()))
        .filter(|n| n.contains(name) || name.contains(n) || edit_distance(n, name) <= 2)
        .collect();
    let hint = if near.is_empty() { String::new() } else { format!("\nhint: did you mean {}?", near.join(", ")) };
    bail!("the reference {} has no [[extension]] or [[internal]] named `{name}`{hint}", path.display())
}

/// The file beside a catalog reference that holds the `[[module_package]]` tables (the pkgs
/// images out-of-tree modules are built in), when the reference itself has none.
pub const MODULE_PACKAGES_FILE: &str = "talos-toolchain.toml";

/// The sources of the `[[module_package]]` named `package`, from `doc` or, when it has no such
/// table, from [`MODULE_PACKAGES_FILE`] beside `path`; each named after its download (see
/// [`source_id`]). No such package: no sources (the scaffold leaves placeholders).
fn module_package_sources(path: &Path, doc: &toml::Table, package: &str) -> Result<Vec<Source>> {
    let find = |doc: &toml::Table| -> Option<toml::Table> {
        doc.get("module_package")?
            .as_array()?
            .iter()
            .filter_map(|e| e.as_table())
            .find(|e| e.get("name").and_then(|n| n.as_str()) == Some(package))
            .cloned()
    };
    let found = match find(doc) {
        Some(e) => Some((e, path.to_path_buf())),
        None => {
            let beside = path.with_file_name(MODULE_PACKAGES_FILE);
            match std::fs::read_to_string(&beside) {
                Ok(text) => {
                    let other: toml::Table =
                        toml::from_str(&text).with_context(|| format!("parsing {}", beside.display()))?;
                    find(&other).map(|e| (e, beside))
                }
                Err(_) => None,
            }
        }
    };
    let Some((entry, file)) = found else { return Ok(Vec::new()) };
    let mut sources = Vec::new();
    let list = entry.get("sources").and_then(|v| v.as_array()).cloned().unwrap_or_default();
    for (i, s) in list.iter().enumerate() {
        let s = s
            .as_table()
            .with_context(|| format!("{}: [[module_package]] `{package}`: sources[{i}]", file.display()))?;
        let url = string(s, "url").unwrap_or_default();
        let json = serde_json::json!({
            "name": source_id(&url, package),
            "url": url,
            "sha256": string(s, "sha256").unwrap_or_default(),
            "sha512": string(s, "sha512").unwrap_or_default(),
            "arch": string(s, "arch"),
        });
        let source: Source = serde_json::from_value(json)
            .with_context(|| format!("{}: [[module_package]] `{package}`: sources[{i}]", file.display()))?;
        sources.push(source);
    }
    Ok(sources)
}

/// A source id from a download URL: the file's stem without its version and what follows
/// (`kernel-mstflint-4.34.1-4.tar.gz` is `kernel-mstflint`); a bare version (GitHub's
/// `archive/refs/tags/v2.5.2.tar.gz`) gives the repository's name; nothing usable gives `fallback`.
fn source_id(url: &str, fallback: &str) -> String {
    let versionish = |part: &str| {
        let p = part.strip_prefix('v').unwrap_or(part);
        p.chars().next().is_some_and(|c| c.is_ascii_digit())
    };
    let stem = archive_stem(url);
    let kept: Vec<&str> = stem.split('-').take_while(|p| !versionish(p)).collect();
    if !kept.is_empty() && !kept.concat().is_empty() {
        return kept.join("-");
    }
    let parts: Vec<&str> = url.strip_prefix("https://github.com/").unwrap_or("").split('/').collect();
    match parts.as_slice() {
        [_, repo, "archive", ..] | [_, repo, "releases", ..] => repo.to_string(),
        _ => fallback.trim_end_matches("-pkg").to_string(),
    }
}

/// Levenshtein distance (for "did you mean").
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

fn string(e: &toml::Table, key: &str) -> Option<String> {
    e.get(key).and_then(|v| v.as_str()).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn strings(e: &toml::Table, key: &str) -> Vec<String> {
    e.get(key)
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn extension_facts(e: &toml::Table) -> Result<Facts> {
    let name = string(e, "name").unwrap_or_default();
    let mut facts = common_facts(e, &name)?;
    facts.tier = string(e, "tier");
    facts.author = string(e, "author");
    facts.description = string(e, "label").map(|l| sentence(&l));
    facts.compatibility = string(e, "compatibility");
    let arches = strings(e, "arches");
    if !arches.is_empty() {
        let parsed: Result<Vec<Arch>, _> = arches.iter().map(|a| a.parse::<Arch>()).collect();
        facts.arches = Some(parsed.context("arches")?);
    }
    let value = string(e, "version_value").unwrap_or_default();
    facts.version = match string(e, "version_format").as_deref() {
        Some("upstream") => Some(VersionSpec::Upstream { upstream: value }),
        Some("upstream-talos") => Some(VersionSpec::UpstreamTalos { upstream: value }),
        Some("talos") => Some(VersionSpec::Talos),
        Some("firmware") => Some(VersionSpec::Firmware { date: value }),
        Some("firmware-talos") => Some(VersionSpec::FirmwareTalos { date: value }),
        Some("commit-talos") => Some(VersionSpec::CommitTalos { commit: value }),
        Some("fixed") => Some(VersionSpec::Fixed { version: value }),
        _ => None,
    };
    let all = strings(e, "modules");
    let arches = facts.arches.clone().unwrap_or_else(|| Arch::ALL.to_vec());
    for arch in arches {
        let own = strings(e, &format!("modules_{arch}"));
        let list = if own.is_empty() { all.clone() } else { own };
        if !list.is_empty() {
            facts.modules.insert(arch, list);
        }
    }
    facts.firmware = strings(e, "firmware_paths");
    let licenses = strings(e, "licenses");
    if !licenses.is_empty() {
        facts.license = Some(licenses.iter().map(|l| spdx_id(l)).collect::<Vec<_>>().join(" AND "));
    }
    facts.cpes = strings(e, "cpes");
    facts.purl = match &facts.version {
        // Firmware comes from linux-firmware; its release date is the version.
        Some(VersionSpec::Firmware { date } | VersionSpec::FirmwareTalos { date }) if facts.sources.is_empty() => {
            Some(format!("pkg:generic/linux-firmware@{date}"))
        }
        version => purl(&facts, &name, version.as_ref().map(|v| v.upstream_part().to_string())),
    };
    Ok(facts)
}

fn internal_facts(e: &toml::Table) -> Result<Facts> {
    let name = string(e, "name").unwrap_or_default();
    let mut facts = common_facts(e, &name)?;
    facts.version = string(e, "version").map(|upstream| VersionSpec::Upstream { upstream });
    facts.purl = purl(&facts, &name, string(e, "version"));
    Ok(facts)
}

/// The sources, named after their `destination` (`nut.tar.gz` is `nut`), or after the entry
/// when that gives nothing.
fn common_facts(e: &toml::Table, name: &str) -> Result<Facts> {
    let mut facts = Facts::default();
    let sources = e.get("sources").and_then(|v| v.as_array()).cloned().unwrap_or_default();
    for (i, s) in sources.iter().enumerate() {
        let s = s.as_table().with_context(|| format!("sources[{i}] is not a table"))?;
        let destination = string(s, "destination").unwrap_or_default();
        let stem = archive_stem(&destination);
        let json = serde_json::json!({
            "name": if stem.is_empty() { name.to_string() } else { stem },
            "url": string(s, "url").unwrap_or_default(),
            "sha256": string(s, "sha256").unwrap_or_default(),
            "sha512": string(s, "sha512").unwrap_or_default(),
            "arch": string(s, "arch"),
        });
        let source: Source = serde_json::from_value(json).with_context(|| format!("sources[{i}]"))?;
        facts.sources.push(source);
    }
    Ok(facts)
}

/// A file name without its archive extension, as a source id (`[A-Za-z0-9._-]`).
fn archive_stem(file: &str) -> String {
    let mut stem = file.rsplit('/').next().unwrap_or(file);
    for ext in [".tar.gz", ".tar.xz", ".tar.bz2", ".tar.zst", ".tgz", ".tar", ".zip", ".gz", ".xz"] {
        if let Some(s) = stem.strip_suffix(ext) {
            stem = s;
            break;
        }
    }
    stem.chars().filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c)).collect()
}

/// A label (`Lightweight OCI runtime written in C`) as a one-line description: trimmed, first
/// letter capitalised, no final period (manifest.yaml shows it after the tier).
fn sentence(label: &str) -> String {
    let label = label.trim().trim_end_matches('.');
    let mut chars = label.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// An SPDX license id: the deprecated bare GNU ids (`GPL-2.0`) are the `-only` ones.
fn spdx_id(license: &str) -> String {
    let gnu = ["GPL-", "LGPL-", "AGPL-", "GFDL-"].iter().any(|p| license.starts_with(p));
    let bare = license.rsplit('-').next().is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'));
    if gnu && bare { format!("{license}-only") } else { license.to_string() }
}

/// A purl for the first source: `pkg:github/<owner>/<repo>@<tag or commit>` for GitHub
/// downloads; else, when no CPE names the software, `pkg:generic/<name>@<version>`.
fn purl(facts: &Facts, name: &str, version: Option<String>) -> Option<String> {
    if let Some(url) = facts.sources.first().map(|s| s.url.as_str())
        && let Some(path) = url.strip_prefix("https://github.com/")
    {
        let parts: Vec<&str> = path.split('/').collect();
        let reference = match parts.as_slice() {
            [_, _, "archive", "refs", "tags", file] => archive_stem(file),
            [_, _, "archive", file] => archive_stem(file),
            [_, _, "releases", "download", tag, ..] => tag.to_string(),
            _ => String::new(),
        };
        if parts.len() > 2 && !reference.is_empty() {
            return Some(format!("pkg:github/{}/{}@{reference}", parts[0], parts[1]));
        }
    }
    let version = version.filter(|v| !v.is_empty())?;
    facts.cpes.is_empty().then(|| format!("pkg:generic/{name}@{version}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids() {
        assert_eq!(archive_stem("nut.tar.gz"), "nut");
        assert_eq!(archive_stem("crun"), "crun");
        assert_eq!(sentence("lLDP neighbour discovery daemon."), "LLDP neighbour discovery daemon");
        assert_eq!(spdx_id("GPL-2.0"), "GPL-2.0-only");
        assert_eq!(spdx_id("GPL-2.0-or-later"), "GPL-2.0-or-later");
        assert_eq!(spdx_id("BSD-2-Clause-Patent"), "BSD-2-Clause-Patent");
        assert_eq!(spdx_id("MIT"), "MIT");
        assert_eq!(edit_distance("demo-tol", "demo-tool"), 1);
        assert_eq!(edit_distance("crun", "youki"), 4);
        let mst = "https://github.com/Mellanox/mstflint/releases/download/v4.34.1-4/kernel-mstflint-4.34.1-4.tar.gz";
        assert_eq!(source_id(mst, "x-pkg"), "kernel-mstflint");
        assert_eq!(source_id("https://github.com/NVIDIA/gdrcopy/archive/refs/tags/v2.5.2.tar.gz", "x-pkg"), "gdrcopy");
        assert_eq!(source_id("https://example.org/download", "demo-pkg"), "download");
        assert_eq!(source_id("https://example.org/1.0.tar.gz", "demo-pkg"), "demo");
    }
}
