//! `cargo xtask lint`: the catalog's metadata rules over every recipe, each finding naming the
//! file, the field and what is wrong.
//!
//! The model ([`ExtensionMeta`]) already refuses metadata a build cannot use; lint adds what a
//! catalog maintainer wants on top: pins well-formed and the same URL pinned alike everywhere,
//! placeholders left by `cargo xtask new` (all-zero sums and versions, `TODO`, example URLs,
//! scaffold markers in the recipe's Rust files), the SBOM fields ([`sbom_lint`]), the version
//! format a kind calls for and the versions a purl or CPE declares, the description, arches and
//! modules, the table's normal form ([`normal_form`]), and comments that point at paths outside
//! the repository (the team's notes are not part of it).
//!
//! The recipes come from `cargo metadata` ([`xtask::catalog::declared`]); their files are read
//! as text for the normal form and the comments.

pub mod normal_form;
mod rules;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use xshell::Shell;
use xtask::catalog::Declared;
use xtask::flags::{LintCmd, Verbosity};

pub use rules::{SCAFFOLD_MARKER, formats_for};

/// The metadata table's path in `Cargo.toml`, which every metadata field is named under.
pub const TABLE: &str = "package.metadata.talos-extension";

/// One problem of one recipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file, relative to the workspace root.
    pub file: PathBuf,
    /// The field (`package.metadata.talos-extension.sources[0].sha256`) or the place
    /// (`line 12`) in the file.
    pub field: String,
    /// What is wrong, and what to do about it.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file.display(), self.field, self.message)
    }
}

/// Lints the recipes of the workspace at `root` (every package with extension metadata).
pub fn lint_workspace(root: &Path) -> Result<Vec<Finding>> {
    lint(root, &xtask::catalog::declared(root)?)
}

/// Lints `recipes` (findings in recipe order, then the catalog-wide ones).
pub fn lint(root: &Path, recipes: &[Declared]) -> Result<Vec<Finding>> {
    rules::lint(root, recipes)
}

/// Rewrites the metadata table of each recipe that is not in the normal form (temp file and
/// rename); returns the manifests it rewrote.
pub fn fix(recipes: &[Declared]) -> Result<Vec<PathBuf>> {
    let mut fixed = Vec::new();
    for recipe in recipes {
        let path = &recipe.manifest;
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let Some(normal) = normal_form::normalise_text(&text).with_context(|| format!("parsing {}", path.display()))?
        else {
            continue;
        };
        if normal != text {
            let tmp = path.with_extension("toml.lint-fix");
            std::fs::write(&tmp, &normal).with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
            fixed.push(path.clone());
        }
    }
    Ok(fixed)
}

/// `cargo xtask lint [--fix]`.
pub fn run(sh: &Shell, cmd: LintCmd, verbosity: Verbosity) -> Result<ExitCode> {
    let root = sh.current_dir();
    let recipes = xtask::catalog::declared(&root)?;
    if cmd.fix {
        for path in fix(&recipes)? {
            let rel = path.strip_prefix(&root).unwrap_or(&path);
            eprintln!("lint: rewrote the [{TABLE}] table of {} into the normal form", rel.display());
        }
    }
    let findings = lint(&root, &recipes)?;
    for finding in &findings {
        println!("{finding}");
    }
    if findings.is_empty() {
        if !verbosity.is_quiet() {
            eprintln!("lint: {} recipes, no findings", recipes.len());
        }
        Ok(ExitCode::SUCCESS)
    } else {
        let mut files: Vec<&Path> = findings.iter().map(|f| f.file.as_path()).collect();
        files.sort();
        files.dedup();
        eprintln!("lint: {} findings in {} files ({} recipes)", findings.len(), files.len(), recipes.len());
        Ok(ExitCode::FAILURE)
    }
}
