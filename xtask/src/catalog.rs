//! The catalog: every workspace package that declares `[package.metadata.talos-extension]`,
//! found with `cargo metadata`. There is no other list of extensions.

use std::path::PathBuf;

use anyhow::{Result, bail};
use cargo_metadata::PackageId;
use talos_ext_model::{ExtensionMeta, METADATA_KEY, Pin, sbom_lint};

/// One extension of the catalog.
#[derive(Debug, Clone)]
pub struct Entry {
    pub meta: ExtensionMeta,
    pub package_id: PackageId,
    /// The crate directory.
    pub dir: PathBuf,
    /// Internal libraries (catalog entries) this one depends on directly.
    pub uses: Vec<String>,
}

/// The workspace's extensions (sorted by name) and its Talos pin.
#[derive(Debug)]
pub struct Catalog {
    /// The workspace root, as cargo reports it.
    pub root: PathBuf,
    pub pin: Pin,
    pub entries: Vec<Entry>,
}

/// A workspace package that declares `[package.metadata.talos-extension]`, its table not yet
/// checked (what `cargo xtask lint` reads, so that it can report every problem of every recipe).
#[derive(Debug, Clone)]
pub struct Declared {
    /// The package name (the extension name).
    pub name: String,
    /// Its `Cargo.toml`.
    pub manifest: PathBuf,
    /// The metadata table, as cargo read it.
    pub table: serde_json::Value,
    pub package_id: PackageId,
    /// The names of the package's direct dependencies.
    pub dependencies: Vec<String>,
}

/// Every workspace package that declares extension metadata, sorted by name (from
/// `cargo metadata --no-deps`, like [`Catalog::load`]).
pub fn declared(root: &std::path::Path) -> Result<Vec<Declared>> {
    Ok(declared_in(&crate::metadata::workspace(root)?))
}

fn declared_in(metadata: &cargo_metadata::Metadata) -> Vec<Declared> {
    let mut out: Vec<Declared> = metadata
        .workspace_packages()
        .into_iter()
        .filter_map(|pkg| {
            let table = pkg.metadata.get(METADATA_KEY)?;
            Some(Declared {
                name: pkg.name.to_string(),
                manifest: pkg.manifest_path.as_std_path().to_path_buf(),
                table: table.clone(),
                package_id: pkg.id.clone(),
                dependencies: pkg.dependencies.iter().map(|d| d.name.clone()).collect(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

impl Catalog {
    /// Reads the catalog with `cargo metadata --no-deps` (offline, no resolution needed;
    /// remembered while the manifests do not change, see [`crate::metadata`]).
    pub fn load(root: &std::path::Path) -> Result<Catalog> {
        let metadata = crate::metadata::workspace(root)?;
        let pin = Pin::load(root)?;
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        for pkg in declared_in(&metadata) {
            let dir = pkg.manifest.parent().map(PathBuf::from).unwrap_or_default();
            let manifest = pkg.manifest.display();
            match ExtensionMeta::from_json(&pkg.name, &pkg.table) {
                Ok(meta) => {
                    let category_dir =
                        dir.parent().and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned());
                    if category_dir.as_deref() != Some(meta.category.as_str()) {
                        errors.push(format!(
                            "{manifest}: category `{}` does not match its directory extensions/{}/",
                            meta.category,
                            category_dir.unwrap_or_default()
                        ));
                    }
                    for problem in sbom_lint::lint(&sbom_lint::SbomFields::from_meta(&meta)) {
                        errors.push(format!("{manifest}: sbom metadata: {problem}"));
                    }
                    entries.push(Entry { meta, package_id: pkg.package_id, dir, uses: pkg.dependencies });
                }
                Err(e) => errors.push(format!("{manifest}: {e}")),
            }
        }
        if !errors.is_empty() {
            bail!("the catalog has invalid extension metadata:\n  {}", errors.join("\n  "));
        }
        entries.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
        let names: Vec<String> = entries.iter().map(|e| e.meta.name.clone()).collect();
        for e in &mut entries {
            e.uses.retain(|d| names.contains(d));
            e.uses.sort();
        }
        Ok(Catalog { root: metadata.workspace_root.clone().into_std_path_buf(), pin, entries })
    }

    /// The published extensions (not internal libraries).
    pub fn extensions(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| !e.meta.is_internal())
    }

    /// The internal library stages.
    pub fn libraries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.meta.is_internal())
    }

    /// An entry's crate directory relative to the workspace root, with `/` separators
    /// (`extensions/tools/nvme-cli`): the same in every checkout.
    pub fn relative_dir(&self, entry: &Entry) -> String {
        let rel = entry.dir.strip_prefix(&self.root).unwrap_or(&entry.dir);
        rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
    }

    /// Names of the entries that use `name` directly.
    pub fn used_by(&self, name: &str) -> Vec<&str> {
        self.entries.iter().filter(|e| e.uses.iter().any(|u| u == name)).map(|e| e.meta.name.as_str()).collect()
    }

    /// Looks extensions up by name; unknown names are an error that lists near matches.
    pub fn select(&self, names: &[String]) -> Result<Vec<&Entry>> {
        let mut out = Vec::new();
        for name in names {
            match self.entries.iter().find(|e| &e.meta.name == name) {
                Some(e) => out.push(e),
                None => {
                    let near: Vec<&str> = self
                        .entries
                        .iter()
                        .map(|e| e.meta.name.as_str())
                        .filter(|n| n.contains(name.as_str()) || name.contains(n))
                        .collect();
                    let hint = if near.is_empty() {
                        "see `cargo xtask list`".to_string()
                    } else {
                        format!("did you mean {}?", near.join(", "))
                    };
                    bail!("no extension named `{name}` in the catalog\nhint: {hint}");
                }
            }
        }
        Ok(out)
    }
}
