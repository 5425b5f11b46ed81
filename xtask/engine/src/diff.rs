//! `cargo xtask diff <old> <new>`: what changed between two releases, for release notes.
//!
//! Each side is an index image (`<registry>/<prefix>/extensions:<tag>`, what `publish` writes:
//! its `image-digests` lines are the extensions), a single extension image reference, an image
//! layout directory, or a directory of layouts (`_out/oci`). Extensions are matched by name.
//! For every extension in both whose digest differs, both images are read (local layouts in
//! place; registry images pulled into temporary layouts, every digest verified) and compared per
//! arch: files added, removed and changed (`talos_ext_image::diff_trees`: kind, mode, size,
//! sha256), kernel modules whose vermagic changed (`.modinfo` read by `talos-ext-kmod`), and SBOM
//! components whose version changed (the SPDX documents under `usr/local/share/spdx/`, read by
//! `talos-ext-sbom`). Equal digests are equal images: they are not pulled.
//!
//! Output is Markdown (default) or JSON (`--json`), both from one [`Report`], sorted by name
//! and path.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use talos_ext_image::spec::ANNOTATION_VERSION;
use talos_ext_image::{ImageTree, Layout, TreeEntry, TreeKind, diff_trees};
use talos_ext_model::Arch;
use talos_ext_publish::{ExtensionLayout, INDEX_REPOSITORY, read_index_at};
use talos_ext_registry::{Client, Reference};
use xshell::Shell;
use xtask::flags::{DiffCmd, Verbosity};

use crate::progress::Bars;

/// Where an image is.
#[derive(Debug, Clone)]
enum Source {
    Layout(PathBuf),
    Registry(Reference),
}

/// One extension of a release.
#[derive(Debug, Clone)]
struct Image {
    version: String,
    /// `sha256:<hex>` of its index (or single manifest).
    digest: String,
    source: Source,
}

/// A release: extensions by name.
struct Release {
    label: String,
    images: BTreeMap<String, Image>,
}

/// What `diff` reports (also its `--json`).
#[derive(Debug, Serialize)]
pub struct Report {
    pub old: String,
    pub new: String,
    pub added: Vec<Listed>,
    pub removed: Vec<Listed>,
    pub changed: Vec<ExtensionChange>,
    pub unchanged: Vec<String>,
}

/// An extension only one side has.
#[derive(Debug, Serialize)]
pub struct Listed {
    pub name: String,
    pub version: String,
    pub digest: String,
}

/// An extension whose image differs.
#[derive(Debug, Serialize)]
pub struct ExtensionChange {
    pub name: String,
    pub old_version: String,
    pub new_version: String,
    pub old_digest: String,
    pub new_digest: String,
    pub arches: Vec<ArchChange>,
}

/// One arch of a changed extension.
#[derive(Debug, Serialize)]
pub struct ArchChange {
    pub arch: Arch,
    /// `changed`, or `added`/`removed` when only one side has the platform.
    pub status: &'static str,
    pub files_added: Vec<File>,
    pub files_removed: Vec<File>,
    pub files_changed: Vec<FileChange>,
    pub modules: Vec<ModuleChange>,
    pub components: Vec<ComponentChange>,
}

/// A path in an image.
#[derive(Debug, Clone, Serialize)]
pub struct File {
    /// `/usr/local/bin/x` for the rootfs, `manifest.yaml` for the image's own file.
    pub path: String,
    /// `file`, `dir` or `symlink`.
    pub kind: &'static str,
    /// Octal permission bits, `0644`.
    pub mode: String,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct FileChange {
    pub old: File,
    pub new: File,
}

/// A kernel module (path under `/usr/lib/modules/`) whose vermagic differs; `None` where the
/// side has no such module.
#[derive(Debug, Serialize)]
pub struct ModuleChange {
    pub path: String,
    pub old_vermagic: Option<String>,
    pub new_vermagic: Option<String>,
}

/// An SBOM component whose version differs; `None` where the side does not list it.
#[derive(Debug, Serialize)]
pub struct ComponentChange {
    pub name: String,
    pub old_version: Option<String>,
    pub new_version: Option<String>,
}

pub fn run(_sh: &Shell, cmd: DiffCmd, verbosity: Verbosity) -> Result<ExitCode> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let client = crate::publish::client(&cmd.registry_args)?;
    let old = open_release(&cmd.old, &cwd, &client).with_context(|| format!("reading the old release {}", cmd.old))?;
    let new = open_release(&cmd.new, &cwd, &client).with_context(|| format!("reading the new release {}", cmd.new))?;
    let pulls =
        tempfile::Builder::new().prefix("talos-ext-diff-").tempdir().context("creating a temporary directory")?;
    let mut puller = Puller { client: &client, dir: pulls.path(), count: 0, bars: Bars::new(verbosity), verbosity };
    let report = compare(&old, &new, &cmd.arch.arches(), &mut puller)?;
    if cmd.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", markdown(&report));
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads one side of the comparison (see the module docs for the forms).
fn open_release(text: &str, cwd: &Path, client: &Client) -> Result<Release> {
    let path = cwd.join(text);
    let mut images = BTreeMap::new();
    if path.is_dir() {
        let dirs: Vec<PathBuf> = if path.join("oci-layout").is_file() {
            vec![path.clone()]
        } else {
            let mut dirs: Vec<PathBuf> = std::fs::read_dir(&path)
                .with_context(|| format!("reading {}", path.display()))?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()
                .with_context(|| format!("reading {}", path.display()))?;
            dirs.retain(|d| d.join("oci-layout").is_file());
            dirs.sort();
            dirs
        };
        if dirs.is_empty() {
            bail!("{} is neither an image layout nor a directory of layouts", path.display());
        }
        for dir in dirs {
            let ext = ExtensionLayout::open(&dir).with_context(|| format!("opening {}", dir.display()))?;
            let image = Image { version: ext.version, digest: ext.digest, source: Source::Layout(dir.clone()) };
            if images.insert(ext.name.clone(), image).is_some() {
                bail!("{} holds two layouts of `{}`", path.display(), ext.name);
            }
        }
        return Ok(Release { label: text.to_string(), images });
    }
    let reference: Reference = text.parse().with_context(|| {
        format!("`{text}` is neither a directory nor an image reference (`host/repo:tag` or `host/repo@sha256:<hex>`)")
    })?;
    if last_component(&reference) == INDEX_REPOSITORY {
        let index = read_index_at(client, &reference, None)?;
        for line in &index.files.lines {
            let Ok(pinned) = line.parse::<Reference>() else { continue };
            let Some(digest) = pinned.digest.clone() else { continue };
            let version = pinned.tag.clone().unwrap_or_default();
            let image = Image { version, digest: digest.to_string(), source: Source::Registry(pinned.clone()) };
            images.insert(last_component(&pinned), image);
        }
    } else {
        let top = client.get_manifest(&reference)?;
        let annotated = serde_json::from_slice::<serde_json::Value>(&top.bytes)
            .ok()
            .and_then(|v| v.get("annotations")?.get(ANNOTATION_VERSION)?.as_str().map(String::from));
        let version = annotated.or_else(|| reference.tag.clone()).unwrap_or_default();
        let pinned = Reference { digest: Some(top.digest.clone()), ..reference.clone() };
        let image = Image { version, digest: top.digest.to_string(), source: Source::Registry(pinned) };
        images.insert(last_component(&reference), image);
    }
    Ok(Release { label: text.to_string(), images })
}

fn last_component(reference: &Reference) -> String {
    reference.repository.name.rsplit('/').next().unwrap_or_default().to_string()
}

/// Gets registry images as local layouts (each pulled once, into a temporary directory).
struct Puller<'a> {
    client: &'a Client,
    dir: &'a Path,
    count: usize,
    bars: Bars,
    verbosity: Verbosity,
}

impl Puller<'_> {
    fn layout(&mut self, image: &Image) -> Result<Layout> {
        let dir = match &image.source {
            Source::Layout(dir) => dir.clone(),
            Source::Registry(reference) => {
                self.count += 1;
                let dir = self.dir.join(self.count.to_string());
                if !self.verbosity.is_quiet() {
                    eprintln!("pulling {reference}");
                }
                self.client.pull_layout(reference, &dir, &self.bars).with_context(|| format!("pulling {reference}"))?;
                dir
            }
        };
        let layout = Layout::open(&dir)?;
        layout.verify().with_context(|| format!("{}: blobs do not match their digests", dir.display()))?;
        Ok(layout)
    }
}

fn compare(old: &Release, new: &Release, arches: &[Arch], puller: &mut Puller<'_>) -> Result<Report> {
    let listed = |name: &str, image: &Image| Listed {
        name: name.to_string(),
        version: image.version.clone(),
        digest: image.digest.clone(),
    };
    let mut report = Report {
        old: old.label.clone(),
        new: new.label.clone(),
        added: new.images.iter().filter(|(n, _)| !old.images.contains_key(*n)).map(|(n, i)| listed(n, i)).collect(),
        removed: old.images.iter().filter(|(n, _)| !new.images.contains_key(*n)).map(|(n, i)| listed(n, i)).collect(),
        changed: Vec::new(),
        unchanged: Vec::new(),
    };
    for (name, o) in &old.images {
        let Some(n) = new.images.get(name) else { continue };
        if o.digest == n.digest {
            report.unchanged.push(name.clone());
            continue;
        }
        let (old_layout, new_layout) = (puller.layout(o)?, puller.layout(n)?);
        let mut change = ExtensionChange {
            name: name.clone(),
            old_version: o.version.clone(),
            new_version: n.version.clone(),
            old_digest: o.digest.clone(),
            new_digest: n.digest.clone(),
            arches: Vec::new(),
        };
        for &arch in arches {
            let read = |layout: &Layout| -> Result<Option<ImageTree>> {
                if !layout.platforms().contains(&arch) {
                    return Ok(None);
                }
                let tree = layout.tree(arch, &keep).with_context(|| format!("reading the {arch} layer of {name}"))?;
                Ok(Some(tree))
            };
            let (old_tree, new_tree) = (read(&old_layout)?, read(&new_layout)?);
            let status = match (&old_tree, &new_tree) {
                (None, None) => continue,
                (Some(_), None) => "removed",
                (None, Some(_)) => "added",
                (Some(_), Some(_)) => "changed",
            };
            let empty = ImageTree::default();
            let (ot, nt) = (old_tree.as_ref().unwrap_or(&empty), new_tree.as_ref().unwrap_or(&empty));
            let files = diff_trees(ot, nt);
            change.arches.push(ArchChange {
                arch,
                status,
                files_added: files.added.iter().map(file).collect(),
                files_removed: files.removed.iter().map(file).collect(),
                files_changed: files
                    .changed
                    .iter()
                    .map(|c| FileChange { old: file(&c.old), new: file(&c.new) })
                    .collect(),
                modules: module_changes(ot, nt),
                components: component_changes(ot, nt),
            });
        }
        report.changed.push(change);
    }
    Ok(report)
}

const MODULES_DIR: &str = "rootfs/usr/lib/modules/";
const SPDX_DIR: &str = "rootfs/usr/local/share/spdx/";

/// The files whose bytes a diff reads: kernel modules and SBOM documents.
fn keep(path: &str) -> bool {
    (path.starts_with(MODULES_DIR) && path.ends_with(".ko"))
        || (path.starts_with(SPDX_DIR) && path.ends_with(".spdx.json"))
}

fn file(e: &TreeEntry) -> File {
    let path = match e.path.strip_prefix("rootfs") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("/{}", rest.trim_start_matches('/')),
        _ => e.path.clone(),
    };
    let (kind, sha256, target) = match &e.kind {
        TreeKind::Dir => ("dir", None, None),
        TreeKind::File { sha256, .. } => ("file", Some(sha256.to_string()), None),
        TreeKind::Symlink { target } => ("symlink", None, Some(target.clone())),
    };
    File { path, kind, mode: format!("{:04o}", e.mode), size: e.size(), sha256, target }
}

/// The vermagic of every module a tree keeps, by path under `/usr/lib/modules/`.
fn vermagics(tree: &ImageTree) -> BTreeMap<String, String> {
    tree.kept()
        .filter(|(p, _)| p.starts_with(MODULES_DIR))
        .map(|(p, bytes)| {
            let vermagic = match talos_ext_kmod::modinfo(bytes) {
                Ok(info) => info.vermagic().unwrap_or("(none)").to_string(),
                Err(e) => format!("(unreadable: {e})"),
            };
            (p.trim_start_matches(MODULES_DIR).to_string(), vermagic)
        })
        .collect()
}

fn module_changes(old: &ImageTree, new: &ImageTree) -> Vec<ModuleChange> {
    changes(vermagics(old), vermagics(new))
        .into_iter()
        .map(|(path, old_vermagic, new_vermagic)| ModuleChange { path, old_vermagic, new_vermagic })
        .collect()
}

/// Every SBOM component a tree's documents list, by name (several versions joined with `, `).
fn components(tree: &ImageTree) -> BTreeMap<String, String> {
    let mut all: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, bytes) in tree.kept().filter(|(p, _)| p.starts_with(SPDX_DIR)) {
        match talos_ext_sbom::components(bytes) {
            Ok(list) => {
                for c in list {
                    all.entry(c.name).or_default().insert(c.version);
                }
            }
            Err(e) => {
                all.entry(format!("(unreadable /{})", path.trim_start_matches("rootfs/")))
                    .or_default()
                    .insert(e.to_string());
            }
        }
    }
    all.into_iter().map(|(n, v)| (n, v.into_iter().collect::<Vec<_>>().join(", "))).collect()
}

fn component_changes(old: &ImageTree, new: &ImageTree) -> Vec<ComponentChange> {
    changes(components(old), components(new))
        .into_iter()
        .map(|(name, old_version, new_version)| ComponentChange { name, old_version, new_version })
        .collect()
}

/// The keys whose values differ (or that only one side has), with both values.
fn changes(
    old: BTreeMap<String, String>,
    new: BTreeMap<String, String>,
) -> Vec<(String, Option<String>, Option<String>)> {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| (k.clone(), old.get(k).cloned(), new.get(k).cloned()))
        .collect()
}

fn short(digest: &str) -> &str {
    &digest[..digest.len().min(19)]
}

fn describe(f: &File) -> String {
    match f.kind {
        "file" => format!("file {} {} B `{}`", f.mode, f.size, short(f.sha256.as_deref().unwrap_or_default())),
        "symlink" => format!("symlink → `{}`", f.target.as_deref().unwrap_or_default()),
        kind => format!("{kind} {}", f.mode),
    }
}

/// The report as Markdown release notes.
pub fn markdown(r: &Report) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Extensions: `{}` → `{}`\n", r.old, r.new);
    if r.added.is_empty() && r.removed.is_empty() && r.changed.is_empty() {
        let _ = writeln!(md, "No changes ({} extensions unchanged).", r.unchanged.len());
        return md;
    }
    for (title, list) in [("Added", &r.added), ("Removed", &r.removed)] {
        if !list.is_empty() {
            let _ = writeln!(md, "## {title}\n");
            for l in list {
                let _ = writeln!(md, "- **{}** {} (`{}`)", l.name, l.version, short(&l.digest));
            }
            md.push('\n');
        }
    }
    if !r.changed.is_empty() {
        let _ = writeln!(md, "## Changed\n");
    }
    for c in &r.changed {
        let version = if c.old_version == c.new_version {
            c.new_version.clone()
        } else {
            format!("{} → {}", c.old_version, c.new_version)
        };
        let _ = writeln!(md, "### {}: {version}\n", c.name);
        let _ = writeln!(md, "Digest `{}` → `{}`\n", short(&c.old_digest), short(&c.new_digest));
        for a in &c.arches {
            let _ = writeln!(
                md,
                "#### {} ({}): {} added, {} removed, {} changed\n",
                a.arch,
                a.status,
                a.files_added.len(),
                a.files_removed.len(),
                a.files_changed.len()
            );
            if !(a.files_added.is_empty() && a.files_removed.is_empty() && a.files_changed.is_empty()) {
                let _ = writeln!(md, "| | path | old | new |\n|---|---|---|---|");
                for f in &a.files_added {
                    let _ = writeln!(md, "| + | `{}` | | {} |", f.path, describe(f));
                }
                for f in &a.files_removed {
                    let _ = writeln!(md, "| − | `{}` | {} | |", f.path, describe(f));
                }
                for f in &a.files_changed {
                    let _ = writeln!(md, "| ~ | `{}` | {} | {} |", f.new.path, describe(&f.old), describe(&f.new));
                }
                md.push('\n');
            }
            if !a.modules.is_empty() {
                let _ = writeln!(md, "Kernel modules (vermagic):\n");
                for m in &a.modules {
                    let _ = writeln!(
                        md,
                        "- `{}`: `{}` → `{}`",
                        m.path,
                        m.old_vermagic.as_deref().unwrap_or("(none)"),
                        m.new_vermagic.as_deref().unwrap_or("(none)")
                    );
                }
                md.push('\n');
            }
            if !a.components.is_empty() {
                let _ = writeln!(md, "SBOM components:\n");
                for s in &a.components {
                    let _ = writeln!(
                        md,
                        "- {}: {} → {}",
                        s.name,
                        s.old_version.as_deref().unwrap_or("(none)"),
                        s.new_version.as_deref().unwrap_or("(none)")
                    );
                }
                md.push('\n');
            }
        }
    }
    if !r.unchanged.is_empty() {
        let _ = writeln!(md, "Unchanged: {}", r.unchanged.join(", "));
    }
    md
}
