//! Workspace rules checked by `cargo test`, so they never depend on review: module docs on
//! every Rust file, one recipe shape for every extension crate, and the dependency directions.

use std::fs;
use std::path::{Path, PathBuf};

use crate::catalog::Catalog;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() && name != "target" && !name.starts_with('.') {
            rust_files(&path, out);
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_opens_with_a_module_doc() {
    let root = crate::workspace_root();
    let mut files = Vec::new();
    for dir in ["xtask", "shared", "extensions"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 10, "found only {} files", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = fs::read_to_string(f).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|f| f.strip_prefix(&root).unwrap_or(f).display().to_string())
        .collect();
    assert!(missing.is_empty(), "files without a `//!` module doc:\n{}", missing.join("\n"));
}

#[test]
fn extension_crates_have_the_recipe_shape() {
    let root = crate::workspace_root();
    let catalog = Catalog::load(&root).expect("the catalog loads");
    assert!(!catalog.entries.is_empty());
    let mut problems = Vec::new();
    for e in &catalog.entries {
        let dir_name = e.dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if dir_name != e.meta.name {
            problems.push(format!("{}: directory name must equal the package name", e.dir.display()));
        }
        for file in ["build.rs", "src/lib.rs", "tests"] {
            if !e.dir.join(file).exists() {
                problems.push(format!("{}: missing {file}", e.dir.display()));
            }
        }
        let manifest = fs::read_to_string(e.dir.join("Cargo.toml")).unwrap_or_default();
        let doc: toml_edit_free::Doc = toml_edit_free::parse(&manifest);
        for section in ["dependencies", "build-dependencies", "dev-dependencies"] {
            for dep in doc.keys(section) {
                if dep.starts_with("talos-ext-") && dep != "talos-ext-build" {
                    problems.push(format!(
                        "{}: [{section}] {dep}: recipes depend only on talos-ext-build (it re-exports the rest)",
                        e.dir.display()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Just enough TOML reading for dependency names, without another dependency.
mod toml_edit_free {
    pub struct Doc(Vec<(String, String)>);

    pub fn parse(text: &str) -> Doc {
        let mut section = String::new();
        let mut keys = Vec::new();
        for line in text.lines().map(str::trim) {
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.to_string();
            } else if let Some((key, _)) = line.split_once('=') {
                let key = key.trim();
                let key = key.split('.').next().unwrap_or(key).to_string();
                keys.push((section.clone(), key));
            }
        }
        Doc(keys)
    }

    impl Doc {
        pub fn keys<'a>(&'a self, section: &'a str) -> impl Iterator<Item = &'a str> {
            self.0.iter().filter(move |(s, _)| s == section).map(|(_, k)| k.as_str())
        }
    }
}

/// `cargo xtask` is `cargo run -p xtask`: cargo checks every crate xtask links before any
/// command runs, so what needs the heavy crates lives in xtask-engine (see `engine.rs`).
#[test]
fn xtask_stays_small() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["tree", "--offline", "-p", "xtask", "-e", "normal,build", "--prefix", "none", "--no-dedupe"])
        .current_dir(crate::workspace_root())
        .output()
        .expect("running cargo tree");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut packages: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    packages.sort();
    packages.dedup();
    for heavy in [
        "talos-ext-build",
        "talos-ext-image",
        "talos-ext-kernel",
        "talos-ext-registry",
        "talos-ext-validate",
        "xtask-engine",
        "ureq",
        "cc",
    ] {
        assert!(!packages.iter().any(|p| p == heavy), "xtask depends on {heavy}: move that code to xtask-engine");
    }
    assert!(packages.len() <= 70, "xtask links {} crates (at most 70): {}", packages.len(), packages.join(" "));
}
