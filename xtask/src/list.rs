//! `cargo xtask list`: the catalog as a table, JSON Lines ([`Record`]) or Markdown (the tables of
//! README.md's catalog section, see [`markdown`]). Everything comes from [`Catalog::load`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;
use talos_ext_model::{Arch, Kind, Source, Tier, toolchain};
use xshell::Shell;

use crate::catalog::{Catalog, Entry};
use crate::flags::{ListCmd, ListFormat, Verbosity};

/// Stands for the `host[:port]/prefix` given to `cargo xtask publish --registry`: the workspace
/// names no registry of its own.
pub const REGISTRY_PLACEHOLDER: &str = "<registry>";

/// One line of `cargo xtask list --json`: an extension or internal library stage. Every field is
/// always present (`null` or empty when it does not apply), in this order; README.md describes
/// them for users.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// The extension name (the cargo package name).
    pub name: String,
    /// `extensions/<category>/`.
    pub category: String,
    /// An internal library stage (kind `library`): never published.
    pub internal: bool,
    pub tier: Tier,
    pub kind: Kind,
    pub description: String,
    pub author: String,
    /// The version string for the pinned Talos tag (the image tag).
    pub version: String,
    /// Its convention: `upstream`, `upstream-talos`, `talos`, `firmware`, `firmware-talos` or
    /// `commit-talos`.
    pub version_format: &'static str,
    /// The Talos tag the version is rendered for (`toolchain/pin.toml`).
    pub talos: String,
    pub arches: Vec<Arch>,
    /// The Talos compatibility constraint (`>= v1.5.0`; empty for none).
    pub compatibility: String,
    /// `<registry>/<name>:<version>`, as `publish` pushes it; `null` for internal stages.
    pub image: Option<String>,
    /// The crate directory, relative to the workspace root.
    pub dir: String,
    /// Catalog entries it depends on directly (library stages, or extensions it is layered on).
    pub uses: Vec<String>,
    /// Catalog entries that depend on it directly.
    pub used_by: Vec<String>,
    /// The kernel toolchain (`toolchain/toolchains/<name>.toml`) it builds or selects modules
    /// with, as chosen without `TALOS_EXT_TOOLCHAIN`; `null` when it has no modules.
    pub kernel_toolchain: Option<String>,
    pub license: Option<String>,
    pub cpes: Vec<String>,
    pub purl: Option<String>,
    pub sbom_exempt: Option<String>,
    /// The pinned sources: `name`, `url`, `sha256`, `sha512` and, for one arch only, `arch`.
    pub sources: Vec<Source>,
    /// In-tree kernel modules per arch.
    pub modules: BTreeMap<Arch, Vec<String>>,
}

impl Record {
    pub fn new(catalog: &Catalog, e: &Entry) -> Record {
        let m = &e.meta;
        let tag = &catalog.pin.talos.tag;
        let version = m.version_string(tag);
        Record {
            name: m.name.clone(),
            category: m.category.clone(),
            internal: m.is_internal(),
            tier: m.tier,
            kind: m.kind,
            description: m.description.trim().to_string(),
            author: m.author.clone(),
            image: (!m.is_internal()).then(|| format!("{REGISTRY_PLACEHOLDER}/{}:{version}", m.name)),
            version,
            version_format: m.version.format_name(),
            talos: tag.clone(),
            arches: m.arches.clone(),
            compatibility: m.compatibility.clone(),
            dir: catalog.relative_dir(e),
            uses: e.uses.clone(),
            used_by: catalog.used_by(&m.name).into_iter().map(str::to_string).collect(),
            kernel_toolchain: kernel_toolchain(catalog, e),
            license: m.license.clone(),
            cpes: m.cpes.clone(),
            purl: m.purl.clone(),
            sbom_exempt: m.sbom_exempt.clone(),
            sources: m.sources.clone(),
            modules: m.modules.clone(),
        }
    }
}

/// The kernel toolchain an entry builds or selects modules with (metadata and pin only, never the
/// environment, so the answer is the same for everyone); `None` when it has no modules.
pub fn kernel_toolchain(catalog: &Catalog, e: &Entry) -> Option<String> {
    if !e.meta.uses_kernel_toolchain() {
        return None;
    }
    toolchain::select(&e.meta, &catalog.pin, None).map(|(name, _)| name)
}

pub fn run(sh: &Shell, cmd: ListCmd, verbosity: Verbosity) -> Result<ExitCode> {
    let catalog = Catalog::load(&sh.current_dir())?;
    let tag = &catalog.pin.talos.tag;
    let shown: Vec<&Entry> = catalog.entries.iter().filter(|e| cmd.internal || !e.meta.is_internal()).collect();
    match cmd.format() {
        ListFormat::Json => {
            for e in &shown {
                println!("{}", serde_json::to_string(&Record::new(&catalog, e))?);
            }
            return Ok(ExitCode::SUCCESS);
        }
        ListFormat::Markdown => {
            print!("{}", markdown(&catalog, cmd.internal));
            return Ok(ExitCode::SUCCESS);
        }
        ListFormat::Table => {}
    }
    let rows: Vec<[String; 7]> = shown
        .iter()
        .map(|e| {
            [
                e.meta.name.clone(),
                e.meta.category.clone(),
                e.meta.tier.to_string(),
                e.meta.version_string(tag),
                arches(e, ","),
                e.meta.kind.to_string(),
                if e.meta.is_internal() {
                    format!("used by {}", catalog.used_by(&e.meta.name).join(","))
                } else {
                    e.uses.join(",")
                },
            ]
        })
        .collect();
    print_table(&["NAME", "CATEGORY", "TIER", "VERSION", "ARCHES", "KIND", "LIBRARIES"], &rows);
    if !verbosity.is_quiet() {
        eprintln!(
            "{} extensions and {} internal libraries, Talos {tag}",
            catalog.extensions().count(),
            catalog.libraries().count()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn arches(e: &Entry, sep: &str) -> String {
    e.meta.arches.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(sep)
}

/// The catalog as Markdown: a summary line, one table per category (sorted; extensions sorted by
/// name), and with `internal` the table of internal library stages. README.md's catalog section
/// is this with `internal` (`cargo xtask catalog`); the text depends only on the metadata and the
/// pin.
pub fn markdown(catalog: &Catalog, internal: bool) -> String {
    let tag = &catalog.pin.talos.tag;
    let mut by_category: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for e in catalog.extensions() {
        by_category.entry(e.meta.category.as_str()).or_default().push(e);
    }
    let mut out = String::new();
    let _ = write!(out, "{} extensions in {} categories", catalog.extensions().count(), by_category.len());
    if internal {
        let _ = write!(out, " and {} internal library stages", catalog.libraries().count());
    }
    let _ = writeln!(
        out,
        ", for Talos `{tag}`. Each is published as `{REGISTRY_PLACEHOLDER}/<name>:<version>`, where \
         `{REGISTRY_PLACEHOLDER}` is the `host[:port]/prefix` given to `cargo xtask publish --registry` \
         (the workspace has no default registry)."
    );
    // Cells every table has: a link to the crate, the description, the version and its format,
    // the arches and the tier.
    let common = |e: &Entry| {
        let m = &e.meta;
        [
            format!("[{}]({}/)", m.name, catalog.relative_dir(e)),
            cell(&m.description),
            format!("`{}` ({})", m.version_string(tag), m.version.format_name()),
            arches(e, ", "),
            m.tier.to_string(),
        ]
    };
    for (category, entries) in &by_category {
        let _ = writeln!(out, "\n### {category}\n");
        let rows = entries.iter().map(|e| {
            let [link, description, version, arches, tier] = common(e);
            let image = format!("`{REGISTRY_PLACEHOLDER}/{}`", e.meta.name);
            [link, image, description, version, arches, tier, e.meta.kind.to_string(), e.uses.join(", ")]
        });
        markdown_table(
            &mut out,
            &["Name", "Image", "Description", "Version (format)", "Arches", "Tier", "Kind", "Libraries"],
            rows,
        );
    }
    if internal {
        let _ = writeln!(
            out,
            "\n### Internal library stages\n\n\
             Static libraries built into a sysroot that the recipes listed under *Used by* link \
             against (`extensions/internal/`); they are never published.\n"
        );
        let rows = catalog.libraries().map(|e| {
            let [link, description, version, arches, tier] = common(e);
            [link, description, version, arches, tier, e.uses.join(", "), catalog.used_by(&e.meta.name).join(", ")]
        });
        markdown_table(
            &mut out,
            &["Name", "Description", "Version (format)", "Arches", "Tier", "Libraries", "Used by"],
            rows,
        );
    }
    out
}

/// Appends a Markdown table.
fn markdown_table<const N: usize>(out: &mut String, header: &[&str; N], rows: impl Iterator<Item = [String; N]>) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", " --- |".repeat(N));
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
}

/// Text for a Markdown table cell: one line, `|` escaped.
fn cell(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|")
}

/// Prints left-aligned columns separated by two spaces.
pub fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == N {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        println!("{}", s.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}
