//! Workspace rules checked by `cargo test`, so they never depend on review: module docs on
//! every Rust file, one recipe shape for every extension crate, the catalog's metadata rules
//! (`cargo xtask lint`), the dependency directions, and every external program started through
//! the runner (`talos_ext_process`).

use std::fs;
use std::path::{Path, PathBuf};

use talos_ext_process::Command;
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

/// `cargo xtask lint` over the whole catalog finds nothing: pins, placeholders, SBOM fields,
/// version formats, descriptions, arches, the metadata table's normal form, and comments that
/// point outside the repository.
#[test]
fn the_catalog_lints_clean() {
    let root = xtask::workspace_root();
    let findings = xtask_engine::lint::lint_workspace(&root).expect("lint runs");
    let lines: Vec<String> = findings.iter().map(|f| f.to_string()).collect();
    assert!(lines.is_empty(), "`cargo xtask lint` finds (`--fix` rewrites the table's form):\n{}", lines.join("\n"));
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
    // The user's environment: cargo finds its home, toolchain and registry cache through it.
    let tree = Command::new(cargo)
        .args(["tree", "--offline", "--manifest-path", "xtask/Cargo.toml", "-e", "normal,build", "--prefix", "none"])
        .dir(xtask::workspace_root())
        .inherit_env()
        .read()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut packages: Vec<String> =
        tree.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect();
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
/// `extensions/test-overrides.toml` (staging refuses unlisted overrides and re-pins), and every entry there
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
        .filter(|text| {
            text.contains("SourceOverride") || text.contains("Repin") || text.contains("override_with_debian_orig(")
        })
        .collect();
    let mut problems = Vec::new();
    for entry in &entries {
        let field = |name: &str| entry.get(name).and_then(|v| v.as_str()).map(str::to_string);
        let recipe = field("recipe").unwrap_or_default();
        // Not a recipe: the linux-firmware release of every firmware recipe, which their shared
        // tests (`firmware_recipe_tests!` with Debian packages) override with Debian's firmware.
        if recipe == talos_ext_build::model::handoff::FIRMWARE_SOURCE_OVERRIDE {
            if field("source").is_some() {
                problems.push(format!("`{recipe}`: the linux-firmware release has no named sources; drop `source`"));
            }
            let used = tests.iter().any(|f| {
                f.components().any(|c| c.as_os_str() == "tests")
                    && fs::read_to_string(f).is_ok_and(|text| {
                        text.contains("talos_ext_build::firmware_recipe_tests!(\"")
                            || text.contains("talos_ext_build::modules_and_firmware_recipe_tests!(\"")
                    })
            });
            if !used {
                problems.push(format!("`{recipe}`: no firmware recipe test overrides it any more; remove the entry"));
            }
            continue;
        }
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
        // A prebuilt recipe's shared stand-in tests re-pin its sources (`testing::Repin`), the
        // NVIDIA module crates' shared tests override the driver archive, and a recipe's own tests
        // may override (`stage_debian_override`) or re-pin its sources.
        let stand_ins = tests.iter().any(|f| {
            f.starts_with(&e.dir)
                && fs::read_to_string(f).is_ok_and(|text| {
                    text.contains("talos_ext_build::prebuilt_recipe_tests!")
                        || text.contains("talos_ext_build::nvidia_kernel_module_tests!")
                        || (text.contains("Repin::") || calls(&text, "stage_debian_override"))
                            && f.components().any(|c| c.as_os_str() == "tests")
                })
        });
        if !stand_ins && !override_tests.iter().any(|text| text.contains(&format!("\"{recipe}\""))) {
            problems.push(format!("`{recipe}`: no test overrides it any more; remove the entry"));
        }
    }
    assert!(problems.is_empty(), "{}:\n{}", path.display(), problems.join("\n"));
}

/// Files that may start a process without the runner (`shared/process/` is the runner itself),
/// each with the reason. An entry whose file no longer does is an error, so the list only shrinks.
const RAW_PROCESS_ALLOWED: &[(&str, &str)] = &[];

/// Every external program starts through `talos_ext_process::Command` (its clean environment,
/// umask, log and errors). `clippy.toml` bans the standard library's `Command::new` too, but
/// clippy is not part of `cargo test`; this also catches an import of the standard `Command`
/// (the way around a path-based search). Comment lines do not count.
#[test]
fn external_programs_run_through_the_runner() {
    let root = xtask::workspace_root();
    let mut files = Vec::new();
    for dir in ["xtask", "shared", "extensions"] {
        rust_files(&root.join(dir), &mut files);
    }
    // `std::process::...` or `process::...` (not `talos_ext_process::...`); spelled in two
    // halves, so this file does not match itself.
    let call = concat!("process::Command", "::new");
    let calls = |line: &str| {
        line.match_indices(call).any(|(i, _)| !line[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
    };
    let mut problems = Vec::new();
    let mut allowed_but_clean: Vec<&str> = RAW_PROCESS_ALLOWED.iter().map(|(path, _)| *path).collect();
    for file in &files {
        let rel = file.strip_prefix(&root).unwrap_or(file).to_string_lossy().into_owned();
        if rel.starts_with("shared/process/") {
            continue;
        }
        let text = fs::read_to_string(file).unwrap_or_default();
        let lines: Vec<(usize, &str)> =
            text.lines().enumerate().filter(|(_, l)| !l.trim_start().starts_with("//")).collect();
        let mut found: Vec<String> =
            lines.iter().filter(|(_, l)| calls(l)).map(|(i, l)| format!("{rel}:{}: `{}`", i + 1, l.trim())).collect();
        let code: String = lines.iter().map(|(_, l)| format!("{l}\n")).collect();
        found.extend(
            use_declarations(&code)
                .into_iter()
                .filter(|d| imports_std_command(d))
                .map(|d| format!("{rel}: `use {d};`")),
        );
        if found.is_empty() {
            continue;
        }
        if RAW_PROCESS_ALLOWED.iter().any(|(path, _)| *path == rel) {
            allowed_but_clean.retain(|path| *path != rel);
        } else {
            problems.extend(found);
        }
    }
    assert!(
        problems.is_empty(),
        "external programs started without the runner (use talos_ext_process::Command, or \
         talos_ext_build::step::Command in recipe crates; `std_command()` for a caller that handles \
         the pipes itself):\n{}",
        problems.join("\n")
    );
    assert!(
        allowed_but_clean.is_empty(),
        "allowed to bypass the runner but no longer do: remove them from RAW_PROCESS_ALLOWED:\n{}",
        allowed_but_clean.join("\n")
    );
}

/// The `use` declarations of `code`, whitespace dropped (`std::process::{Command,Stdio}`).
fn use_declarations(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let at_word_start = !rest[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        let after = &rest[i + "use ".len()..];
        let end = after.find(';').unwrap_or(after.len());
        if at_word_start {
            out.push(after[..end].split_whitespace().collect());
        }
        rest = &after[end..];
    }
    out
}

/// Whether a `use` declaration (whitespace dropped) brings the standard library's `Command` in,
/// alone, renamed or in a group.
fn imports_std_command(decl: &str) -> bool {
    let decl = decl.strip_prefix("::").unwrap_or(decl);
    let Some(rest) = decl.strip_prefix("std::") else { return false };
    let is_command = |item: &str| item == "Command" || item.starts_with("Commandas");
    rest.match_indices("process::").any(|(i, m)| {
        let after = &rest[i + m.len()..];
        match after.strip_prefix('{') {
            Some(group) => group.split([',', '}']).any(is_command),
            None => is_command(after.split([',', '}']).next().unwrap_or_default()),
        }
    })
}

#[test]
fn std_command_imports_are_recognised() {
    for decl in [
        "std::process::Command",
        "std::process::{Command,Stdio}",
        "std::process::CommandasStd",
        "std::{fs,process::{ExitCode,Command}}",
    ] {
        assert!(imports_std_command(decl), "{decl}");
    }
    for decl in [
        "std::process::{ExitCode,Stdio}",
        "std::os::unix::process::CommandExt",
        "talos_ext_process::Command",
        "std::process",
    ] {
        assert!(!imports_std_command(decl), "{decl}");
    }
    let code = "use std::io;\nuse std::process::{\n    Command,\n    Stdio,\n};\nlet excuse = 1;\n";
    assert_eq!(use_declarations(code), ["std::io", "std::process::{Command,Stdio,}"]);
}

/// A `#[test]` function as [`test_fns`] finds it.
#[derive(Debug)]
struct TestFn {
    name: String,
    /// The `#[ignore]` reason (`Some("")` for a bare `#[ignore]`).
    ignore: Option<String>,
    /// Its body (from `fn` to the closing brace).
    body: String,
}

/// The end of the item that opens at `start` (its closing brace, or the text's end), counting
/// braces outside string and character literals.
fn item_end(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut i, mut opened) = (0usize, start, false);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'\'' if i + 2 < bytes.len() && bytes[i + 2] == b'\'' => i += 2,
            b'{' => {
                depth += 1;
                opened = true;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                if opened && depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    text.len()
}

/// The name of the function a line declares (`fn name(`, `pub fn name<`...).
fn declared_fn(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let t = t.strip_prefix("pub(crate) ").or_else(|| t.strip_prefix("pub ")).unwrap_or(t);
    let rest = t.strip_prefix("fn ")?;
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    (end > 0).then(|| &rest[..end])
}

/// Every function of `text` (name, body) and which of them are tests (with their `#[ignore]`).
/// Comment lines are left out.
fn test_fns(text: &str) -> (Vec<(String, String)>, Vec<TestFn>) {
    let code: String = text.lines().filter(|l| !l.trim_start().starts_with("//")).map(|l| format!("{l}\n")).collect();
    let (mut fns, mut tests) = (Vec::new(), Vec::new());
    let (mut is_test, mut ignore) = (false, None);
    let mut offset = 0;
    for line in code.split_inclusive('\n') {
        let t = line.trim();
        if t == "#[test]" {
            is_test = true;
        } else if let Some(rest) = t.strip_prefix("#[ignore") {
            ignore = Some(rest.split('"').nth(1).unwrap_or_default().to_string());
        } else if let Some(name) = declared_fn(line) {
            let body = code[offset..item_end(&code, offset)].to_string();
            fns.push((name.to_string(), body.clone()));
            if is_test {
                tests.push(TestFn { name: name.to_string(), ignore: ignore.take(), body });
            }
            (is_test, ignore) = (false, None);
        } else if !t.starts_with("#[") && !t.is_empty() {
            (is_test, ignore) = (false, None);
        }
        offset += line.len();
    }
    (fns, tests)
}

/// Whether `text` calls `name` (`name(` not preceded by a letter, digit or `_`).
fn calls(text: &str, name: &str) -> bool {
    let needle = format!("{name}(");
    text.match_indices(&needle).any(|(i, _)| !text[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
}

/// The recipe test helpers that build real upstream code: staging a recipe from its pins
/// (`stage`), upstream sources and binaries from Debian or PyPI, the in-tree module build
/// against Debian's kernel. A recipe test that reaches one of them (directly or through the
/// functions of its file) is a real build and carries a tier prefix.
const REAL_BUILD_HELPERS: &[&str] = &[
    "stage",
    "debian_orig",
    "offline_debian_pins",
    "override_with_debian_orig",
    "stage_debian_pin",
    "stage_debian_override",
    "glibc_debian_override",
    "debian_deb",
    "pypi_sdist",
    "check_in_tree_recipe_with_debian",
    "absent_from_debian",
    "debian_firmware",
    "check_firmware_recipe_with_debian",
    "check_modules_and_firmware_recipe_with_debian",
];

/// Recipes without any real-build test, each with the reason: they belong to the smoke tier only.
/// An entry whose recipe gains a `tier_*` test is an error, so the list only shrinks.
const NO_REAL_BUILD_TEST: &[(&str, &str)] = &[
    (
        "gasket-driver",
        "its pinned upstream commit is not available offline and the Talos kernel it builds against \
         needs network to prepare; its tests check that staging fails fast naming both",
    ),
    ("crun", PREBUILT_VENDOR_BYTES),
    ("spin", PREBUILT_VENDOR_BYTES),
    ("wasmedge", PREBUILT_VENDOR_BYTES),
    ("cloudflared", PREBUILT_VENDOR_BYTES),
    ("youki", PREBUILT_VENDOR_BYTES),
    (
        "kata-containers",
        "Kata's release tarballs and its source tarball are on GitHub, not reachable offline; no \
         archive here carries them and the Go module proxy does not serve its runtime module; its \
         tests stage generated stand-ins of both (test-overrides.toml), the shim built with Go",
    ),
    (
        "kata-containers-snp",
        "it installs pieces of Kata's kata-static release tarball, which is on GitHub, not reachable \
         offline, and in no archive here; its tests stage the generated stand-in the kata-containers \
         tests use (test-overrides.toml)",
    ),
    (
        "harbor-credential-provider",
        "its pinned v0.0.1 source tarball is on GitHub, not reachable offline, in no archive here, and \
         the Go module proxy does not serve its module; its tests build a generated stand-in source \
         tree with the recipe's source-tree Go build (test-overrides.toml)",
    ),
];

/// Why a prebuilt recipe of vendor release binaries has no real-build test.
const PREBUILT_VENDOR_BYTES: &str = "upstream's release binaries (GitHub releases) are not reachable \
     offline and no archive here carries them; `prebuilt_recipe_tests!` stages generated stand-ins \
     under the test's own pin (test-overrides.toml), and intel-ucode is the prebuilt kind's real build";

/// Whether the test reaches a [`REAL_BUILD_HELPERS`] call through the functions of its file.
fn reaches_real_build(test: &TestFn, fns: &[(String, String)]) -> bool {
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = vec![test.body.clone()];
    while let Some(body) = todo.pop() {
        if REAL_BUILD_HELPERS.iter().any(|h| calls(&body, h)) {
            return true;
        }
        for (name, f) in fns {
            if calls(&body, name) && seen.insert(name.clone()) {
                todo.push(f.clone());
            }
        }
    }
    false
}

/// A `macro_rules!` of talos-ext-build's `testing` module that defines tests.
struct TestMacro {
    name: String,
    tests: Vec<TestFn>,
    /// The functions in it (name, body).
    fns: Vec<(String, String)>,
}

/// The test macros of talos-ext-build's `testing` module (and its `prebuilt`, `fabricmanager`
/// and `nvidia` parts).
fn macro_tests() -> Vec<TestMacro> {
    let mut out = Vec::new();
    for file in ["testing.rs", "testing_prebuilt.rs", "testing_fabricmanager.rs", "testing_nvidia.rs"] {
        let path = xtask::workspace_root().join("shared/build/src").join(file);
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        for (at, _) in text.match_indices("macro_rules! ") {
            let name: String =
                text[at + "macro_rules! ".len()..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let body = &text[at..item_end(&text, at)];
            let (fns, tests) = test_fns(body);
            out.push(TestMacro { name, tests, fns });
        }
    }
    assert!(!out.is_empty(), "shared/build/src/testing*.rs: no test macros found");
    out
}

/// Test tiers (README.md, "Test tiers"; `cargo xtask test`) are libtest name filters, so their
/// names must be exact: in every Rust file of the workspace, the prefixes `tier_kinds_`,
/// `tier_full_` and `run_by_parent_` start a test's name or are not in it; a `tier_full_` test is
/// exactly one `#[ignore = "tier full: <why>"]`; a `run_by_parent_` test exactly one
/// `#[ignore = "run by <parent>..."]`; no other test is ignored, and no `tier_kinds_` test.
#[test]
fn test_tier_names_are_exact() {
    use xtask::test::{CHILD_PREFIX, FULL_PREFIX, KINDS_PREFIX};
    let root = xtask::workspace_root();
    let mut files = Vec::new();
    for dir in ["xtask", "shared", "extensions"] {
        rust_files(&root.join(dir), &mut files);
    }
    let (mut problems, mut count) = (Vec::new(), 0);
    for file in &files {
        let rel = file.strip_prefix(&root).unwrap_or(file).display().to_string();
        let (_, tests) = test_fns(&fs::read_to_string(file).unwrap_or_default());
        for t in tests {
            count += 1;
            let name = &t.name;
            for prefix in [KINDS_PREFIX, FULL_PREFIX, CHILD_PREFIX] {
                if name.contains(prefix) && !name.starts_with(prefix) {
                    problems.push(format!("{rel}: {name}: `{prefix}` is a tier filter: only as the name's start"));
                }
            }
            let reason = t.ignore.as_deref();
            let full_reason = reason.is_some_and(|r| r.starts_with("tier full: "));
            let child_reason = reason.is_some_and(|r| r.starts_with("run by "));
            if name.starts_with(FULL_PREFIX) != full_reason {
                problems.push(format!(
                    "{rel}: {name}: `{FULL_PREFIX}*` tests, and only they, are #[ignore = \"tier full: <why>\"]"
                ));
            }
            if name.starts_with(CHILD_PREFIX) != child_reason {
                problems.push(format!(
                    "{rel}: {name}: `{CHILD_PREFIX}*` tests, and only they, are #[ignore = \"run by <parent>...\"]"
                ));
            }
            if reason.is_some() && !full_reason && !child_reason {
                problems.push(format!(
                    "{rel}: {name}: ignored without a tier: name it `{FULL_PREFIX}*` with #[ignore = \"tier full: \
                     <why>\"] (the full tier runs it), or `{CHILD_PREFIX}*` if a parent test runs it"
                ));
            }
        }
    }
    assert!(count > 100, "found only {count} tests");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every recipe belongs to a test tier: its tests that reach a real-build helper
/// ([`REAL_BUILD_HELPERS`], through the functions of their file or talos-ext-build's test macros)
/// are named `tier_kinds_*` (the default tier) or `tier_full_*`; every recipe crate has tests,
/// and at least one real-build test unless [`NO_REAL_BUILD_TEST`] says why not.
#[test]
fn every_recipe_belongs_to_a_test_tier() {
    use xtask::test::{FULL_PREFIX, KINDS_PREFIX};
    let root = xtask::workspace_root();
    let catalog = Catalog::load(&root).expect("the catalog loads");
    let macros = macro_tests();
    let mut problems = Vec::new();
    let mut exempt_but_built: Vec<&str> = Vec::new();
    let mut tiers: Vec<String> = Vec::new();
    for e in &catalog.entries {
        let name = &e.meta.name;
        let mut files = Vec::new();
        rust_files(&e.dir.join("tests"), &mut files);
        let (mut tests, mut real) = (0, 0);
        for file in &files {
            let rel = file.strip_prefix(&root).unwrap_or(file).display().to_string();
            let text = fs::read_to_string(file).unwrap_or_default();
            let (fns, own) = test_fns(&text);
            let mut found: Vec<(TestFn, &[(String, String)])> = own.into_iter().map(|t| (t, &fns[..])).collect();
            for m in macros.iter().filter(|m| text.contains(&format!("{}!", m.name))) {
                for t in &m.tests {
                    let t = TestFn { name: t.name.clone(), ignore: t.ignore.clone(), body: t.body.clone() };
                    found.push((t, &m.fns[..]));
                }
            }
            for (t, fns) in found {
                tests += 1;
                let tiered = t.name.starts_with(KINDS_PREFIX) || t.name.starts_with(FULL_PREFIX);
                if reaches_real_build(&t, fns) {
                    real += 1;
                    if !tiered {
                        problems.push(format!(
                            "{rel}: {}: builds real upstream code (reaches one of {}): name it \
                             `{KINDS_PREFIX}*` (default tier) or `{FULL_PREFIX}*` (ignored, full tier)",
                            t.name,
                            REAL_BUILD_HELPERS.join(", ")
                        ));
                    }
                } else if tiered {
                    problems.push(format!(
                        "{rel}: {}: has a tier prefix but reaches none of {}",
                        t.name,
                        REAL_BUILD_HELPERS.join(", ")
                    ));
                }
            }
        }
        let exempt = NO_REAL_BUILD_TEST.iter().any(|(n, _)| n == name);
        match (tests, real, exempt) {
            (0, _, _) => problems.push(format!("{}: {name} has no tests", e.dir.display())),
            (_, 0, false) => problems.push(format!(
                "{}: {name} has no real-build test: add one (`{KINDS_PREFIX}*`), or list it in \
                 NO_REAL_BUILD_TEST with the reason",
                e.dir.display()
            )),
            (_, 1.., true) => exempt_but_built.push(name),
            _ => tiers.push(format!("{name}: {real} of {tests}")),
        }
    }
    for (name, _) in NO_REAL_BUILD_TEST {
        if !catalog.entries.iter().any(|e| &e.meta.name == name) {
            problems.push(format!("NO_REAL_BUILD_TEST: `{name}` is not a recipe"));
        }
    }
    for name in exempt_but_built {
        problems.push(format!("NO_REAL_BUILD_TEST: `{name}` has a real-build test now: remove the entry"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!("real-build tests per recipe:\n  {}", tiers.join("\n  "));
}
