//! Workspace rules checked by `cargo test`, so they never depend on review: module docs on
//! every Rust file, one recipe shape for every extension crate, and the dependency directions.

use std::fs;
use std::path::{Path, PathBuf};

use xtask::catalog::Catalog;

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
    let root = xtask::workspace_root();
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
    let root = xtask::workspace_root();
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
        // Nothing else at the top: the build script watches exactly its inputs
        // (`talos_ext_build::RECIPE_INPUTS`), so an input elsewhere would go unwatched.
        let known = ["src", "tests"];
        for entry in fs::read_dir(&e.dir).into_iter().flatten().filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !talos_ext_build::RECIPE_INPUTS.contains(&name.as_str()) && !known.contains(&name.as_str()) {
                problems.push(format!(
                    "{}: `{name}` is neither a recipe input ({}) nor src/ or tests/",
                    e.dir.display(),
                    talos_ext_build::RECIPE_INPUTS.join(", ")
                ));
            }
        }
        let manifest: toml::Table = read_toml(&e.dir.join("Cargo.toml"));
        for section in ["dependencies", "build-dependencies", "dev-dependencies"] {
            for dep in manifest.get(section).and_then(|t| t.as_table()).into_iter().flat_map(|t| t.keys()) {
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

fn read_toml(path: &Path) -> toml::Table {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.parse().unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// The front (`xtask/`) is a workspace of its own, so it repeats what the main workspace sets
/// for its members: they must not drift apart (a different profile would also stop the two from
/// sharing compiled crates in the one target directory).
#[test]
fn front_manifest_matches_the_workspace() {
    let root = xtask::workspace_root();
    let ws = read_toml(&root.join("Cargo.toml"));
    let front = read_toml(&root.join("xtask/Cargo.toml"));
    let get = |t: &toml::Table, path: &str| -> Option<toml::Value> {
        path.split('.').try_fold(toml::Value::Table(t.clone()), |v, k| v.get(k).cloned())
    };
    let mut problems = Vec::new();
    for key in ["edition", "rust-version", "license", "repository", "publish", "version"] {
        if get(&ws, &format!("workspace.package.{key}")) != get(&front, &format!("package.{key}")) {
            problems.push(format!("package.{key} differs from [workspace.package]"));
        }
    }
    let deps = get(&front, "dependencies").and_then(|d| d.as_table().cloned()).unwrap_or_default();
    // Settings for one workspace crate (`[profile.dev.package.<crate>]`) are repeated in the front
    // only for the crates it builds: cargo warns about a name that matches no package.
    let mut ws_profile = get(&ws, "profile");
    for (_, profile) in ws_profile.iter_mut().filter_map(|p| p.as_table_mut()).flat_map(|t| t.iter_mut()) {
        if let Some(packages) = profile.get_mut("package").and_then(|p| p.as_table_mut()) {
            packages.retain(|name, _| name == "*" || deps.contains_key(name));
        }
    }
    for (want, got, ws_key, front_key) in [
        (ws_profile, get(&front, "profile"), "profile", "profile"),
        (get(&ws, "workspace.lints"), get(&front, "lints"), "workspace.lints", "lints"),
    ] {
        if want != got {
            problems.push(format!("[{front_key}] differs from the workspace's [{ws_key}]"));
        }
    }
    for (name, dep) in &deps {
        let Some(want) = get(&ws, &format!("workspace.dependencies.{name}")) else {
            problems.push(format!("{name}: not a workspace dependency"));
            continue;
        };
        // Versions and features as the workspace has them; paths relative to xtask/.
        let strip_path = |v: &toml::Value| {
            let mut t = v.as_table().cloned().unwrap_or_else(|| {
                let mut t = toml::Table::new();
                t.insert("version".into(), v.clone());
                t
            });
            let path = t.remove("path").and_then(|p| p.as_str().map(str::to_string));
            (t, path)
        };
        let ((want, want_path), (got, got_path)) = (strip_path(&want), strip_path(dep));
        if want != got || want_path.map(|p| format!("../{p}")) != got_path {
            problems.push(format!(
                "{name}: `{dep}` is not the workspace's `{}`",
                get(&ws, &format!("workspace.dependencies.{name}")).unwrap()
            ));
        }
    }
    assert!(problems.is_empty(), "xtask/Cargo.toml:\n{}", problems.join("\n"));
}

/// `cargo xtask` runs the front: cargo checks every crate it links before any command runs, so
/// what needs the heavy crates lives in xtask-engine (see `xtask/src/engine.rs`).
#[test]
fn xtask_stays_small() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["tree", "--offline", "--manifest-path", "xtask/Cargo.toml", "-e", "normal,build", "--prefix", "none"])
        .current_dir(xtask::workspace_root())
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

/// An error's message quotes its cause, or the cause is its `source()`, never both: edges print
/// errors with their chain (`{e:#}`), which would say the cause twice. thiserror makes a field
/// named `source`, and any `#[from]` or `#[source]` field, the source.
#[test]
fn error_messages_do_not_repeat_their_source() {
    let root = xtask::workspace_root();
    let mut files = Vec::new();
    for dir in ["xtask", "shared", "extensions"] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut problems = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(attr) = line.trim_start().strip_prefix("#[error(\"") else { continue };
            let message = attr.split('"').next().unwrap_or_default();
            let quoted: Vec<&str> = message.split('{').skip(1).filter_map(|p| p.split('}').next()).collect();
            // The item the attribute is on: up to its closing brace or parenthesis.
            let item: Vec<&str> =
                lines[i + 1..].iter().take_while(|l| !l.trim_start().starts_with("#[error(")).copied().collect();
            let item = item
                .iter()
                .position(|l| {
                    l.trim_end().ends_with("},") || l.trim_end().ends_with(");") || l.trim_end().ends_with("),")
                })
                .map_or(&item[..], |n| &item[..=n])
                .join("\n");
            let repeats = quoted.contains(&"source")
                || (quoted.contains(&"0") && (item.contains("#[from]") || item.contains("#[source]")));
            if repeats {
                problems.push(format!(
                    "{}:{}: {}",
                    file.strip_prefix(&root).unwrap_or(file).display(),
                    i + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "messages that quote their own source:\n{}", problems.join("\n"));
}

/// Every recipe test that builds other bytes than its pin is listed in
/// `extensions/test-overrides.toml` (staging refuses unlisted overrides), and every entry there
/// names a recipe and source that exist and a test that still overrides it.
#[test]
fn listed_test_overrides_are_real_and_used() {
    let root = xtask::workspace_root();
    let catalog = Catalog::load(&root).expect("the catalog loads");
    let path = root.join("extensions/test-overrides.toml");
    let list: toml::Table = read_toml(&path);
    let entries = list.get("override").and_then(|v| v.as_array()).cloned().unwrap_or_default();
    assert!(!entries.is_empty(), "{}: no entries", path.display());
    let mut tests = Vec::new();
    rust_files(&root.join("extensions"), &mut tests);
    let override_tests: Vec<String> = tests
        .iter()
        .filter(|f| f.components().any(|c| c.as_os_str() == "tests"))
        .map(|f| fs::read_to_string(f).unwrap_or_default())
        .filter(|text| text.contains("SourceOverride"))
        .collect();
    let mut problems = Vec::new();
    for entry in &entries {
        let field = |name: &str| entry.get(name).and_then(|v| v.as_str()).map(str::to_string);
        let recipe = field("recipe").unwrap_or_default();
        let Some(e) = catalog.entries.iter().find(|e| e.meta.name == recipe) else {
            problems.push(format!("`{recipe}`: no such recipe"));
            continue;
        };
        match field("source") {
            Some(source) if !e.meta.sources.iter().any(|s| s.name == source) => {
                problems.push(format!("`{recipe}`: no source `{source}`"))
            }
            None if e.meta.sources.iter().map(|s| &s.name).collect::<std::collections::BTreeSet<_>>().len() != 1 => {
                problems.push(format!("`{recipe}`: has several sources; name the overridden one"))
            }
            _ => {}
        }
        if !override_tests.iter().any(|text| text.contains(&format!("\"{recipe}\""))) {
            problems.push(format!("`{recipe}`: no test overrides it any more; remove the entry"));
        }
    }
    assert!(problems.is_empty(), "{}:\n{}", path.display(), problems.join("\n"));
}
