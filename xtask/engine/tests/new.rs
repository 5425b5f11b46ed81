//! `cargo xtask new`: every kind scaffolded into a scratch copy of the workspace (its manifests,
//! lock file, `shared/` and `toolchain/`, one example recipe, the scaffolds), linted (only the
//! placeholders it leaves), and built and tested there with `cargo test -p <scaffold>`, as a
//! maintainer runs it before filling anything in. The bad inputs it refuses are checked on a
//! small workspace of their own.
//!
//! The scratch copy lives at `target/scaffold-test/ws/` (a stable path, so its shared crates
//! compile once, not per run; the copy keeps the files' mtimes, so cargo sees them unchanged)
//! and builds into this workspace's target directory, reusing the registry crates compiled for
//! the tests (a scratch target directory of its own cost 15 min wall on its first run on 2
//! cores); later runs rebuild only the scaffolds and test all kinds in 45 s. Since any subset
//! pays the same first compile, every kind is built and tested: `kmod-in-tree` stages Debian's
//! kernel modules through the workspace's cache, as the catalog's in-tree recipes' tests do.

use std::path::{Path, PathBuf};

use talos_ext_process::Command;
use xtask::flags::NewKind;
use xtask_engine::lint::{Finding, lint_workspace};
use xtask_engine::new::{Request, scaffold};

/// A reference catalog in the upstream format, small and made up (the sums are not those of
/// any real file: the tests that fetch run offline and only check the pins are named).
const REFERENCE: &str = r#"
[meta]
source_commit = "0000000"

[[extension]]
name = "demo-tool"
category = "tools"
tier = "extra"
label = "demo tool that prints its arguments"
version_format = "upstream"
version_value = "1.2.3"
kind = "c-build"
arches = ["amd64", "arm64"]
sources = [
  { url = "https://github.com/demo/demo-tool/releases/download/v1.2.3/demo-tool-1.2.3.tar.gz", destination = "demo-tool.tar.gz", sha256 = "1111111111111111111111111111111111111111111111111111111111111112", sha512 = "22222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222223" },
]
compatibility = ">= v1.9.0"
author = "Demo Author"
licenses = ["GPL-2.0", "MIT"]
cpes = ["cpe:2.3:a:demo:demo-tool:1.2.3:*:*:*:*:*:*:*"]

[[extension]]
name = "demo-go"
category = "tools"
tier = "contrib"
label = "demo agent in Go"
version_format = "upstream"
version_value = "v0.4.0"
kind = "go-build"
arches = ["amd64"]
sources = [
  { url = "https://github.com/demo/demo-go/archive/refs/tags/v0.4.0.tar.gz", destination = "demo-go.tar.gz", sha256 = "3333333333333333333333333333333333333333333333333333333333333334", sha512 = "44444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444444445" },
]
compatibility = ">= v1.10.0"
author = "Demo Author"
licenses = ["Apache-2.0"]

[[extension]]
name = "demo-uinput"
category = "drivers"
tier = "extra"
label = "user-space input module"
version_format = "talos"
version_value = ""
kind = "kmod-in-tree"
arches = ["amd64", "arm64"]
sources = []
modules = ["kernel/drivers/input/misc/uinput.ko"]
compatibility = ">= v1.4.5"
author = "Demo Author"

[[extension]]
name = "demo-firmware"
category = "firmware"
tier = "core"
label = "demo NIC firmware"
version_format = "firmware"
version_value = "20260810"
kind = "firmware"
arches = ["amd64", "arm64"]
sources = []
firmware_paths = ["/usr/lib/firmware/demo"]
compatibility = ">= v1.0.0"
author = "Demo Author"

[[extension]]
name = "demo-prebuilt"
category = "container-runtime"
tier = "extra"
label = "demo runtime, prebuilt"
version_format = "upstream"
version_value = "2.0"
kind = "tarball"
arches = ["amd64", "arm64"]
sources = [
  { url = "https://github.com/demo/rt/releases/download/2.0/rt-2.0-linux-amd64", destination = "rt", sha256 = "5555555555555555555555555555555555555555555555555555555555555556", sha512 = "66666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666667", arch = "amd64" },
  { url = "https://github.com/demo/rt/releases/download/2.0/rt-2.0-linux-arm64", destination = "rt", sha256 = "7777777777777777777777777777777777777777777777777777777777777778", sha512 = "88888888888888888888888888888888888888888888888888888888888888888888888888888888888888888888888888888888888888888888888888888889", arch = "arm64" },
]
compatibility = ">= v1.8.0"
author = "Demo Author"
licenses = ["Apache-2.0"]

[[extension]]
name = "demo-oot"
category = "drivers"
tier = "contrib"
label = "demo out-of-tree module"
version_format = "upstream-talos"
version_value = "4.1.0-2"
kind = "kmod-out-of-tree"
arches = ["amd64", "arm64"]
sources = []
kmod_pkgs_image = "demo-oot-pkg"
compatibility = ">= v1.2.0"
author = "Demo Author"

[[module_package]]
name = "demo-oot-pkg"
version = "4.1.0-2"
sources = [
  { url = "https://github.com/demo/oot/releases/download/v4.1.0-2/kernel-demo-4.1.0-2.tar.gz", sha256 = "9999999999999999999999999999999999999999999999999999999999999990", sha512 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab" },
]
"#;

/// One scaffold of the test: what to ask for, and the tests `cargo test` must report.
struct Case {
    path: &'static str,
    kind: NewKind,
    reference: Option<&'static str>,
    /// `(test name, "ok" | "ignored")`.
    tests: &'static [(&'static str, &'static str)],
}

const STAGED: &[(&str, &str)] =
    &[("offline_without_the_source_fails_naming_it", "ok"), ("tier_kinds_stages_every_arch", "ignored")];
const TARBALL: &[(&str, &str)] = &[
    ("offline_without_the_archive_fails_naming_it", "ok"),
    ("tier_kinds_stages_every_arch_from_a_stand_in_release", "ok"),
];

const CASES: &[Case] = &[
    Case {
        path: "storage/demo-noop",
        kind: NewKind::Noop,
        reference: None,
        tests: &[("tier_kinds_stages_an_empty_placeholder_for_every_arch", "ok")],
    },
    Case { path: "tools/demo-tool", kind: NewKind::Autotools, reference: Some("demo-tool"), tests: STAGED },
    Case {
        path: "tools/demo-go",
        kind: NewKind::GoBuild,
        reference: Some("demo-go"),
        tests: &[("the_wrapper_module_requires_the_pinned_module", "ok"), ("tier_kinds_stages_every_arch", "ignored")],
    },
    Case { path: "drivers/demo-oot", kind: NewKind::KmodOutOfTree, reference: Some("demo-oot"), tests: STAGED },
    Case { path: "internal/demo-lib", kind: NewKind::Library, reference: None, tests: STAGED },
    Case {
        path: "drivers/demo-uinput",
        kind: NewKind::KmodInTree,
        reference: Some("demo-uinput"),
        tests: &[
            ("tier_kinds_debian_toolchain_installs_the_listed_signed_modules", "ok"),
            ("talos_toolchain_fails_fast_naming_the_kernel_image", "ok"),
        ],
    },
    Case { path: "tools/demo-meson", kind: NewKind::Meson, reference: None, tests: STAGED },
    Case { path: "tools/demo-cmake", kind: NewKind::Cmake, reference: None, tests: STAGED },
    Case { path: "tools/demo-make", kind: NewKind::Make, reference: None, tests: STAGED },
    Case {
        path: "container-runtime/demo-prebuilt",
        kind: NewKind::Tarball,
        reference: Some("demo-prebuilt"),
        tests: TARBALL,
    },
    Case {
        path: "container-runtime/demo-shim",
        kind: NewKind::Prebuilt,
        reference: Some("demo-prebuilt"),
        tests: &[
            ("stand_in_payloads_install_run_and_are_in_the_sbom_not_the_vendor_bytes", "ok"),
            ("a_stand_in_for_the_wrong_arch_is_refused_naming_both_machines", "ok"),
        ],
    },
    Case {
        path: "firmware/demo-firmware",
        kind: NewKind::Firmware,
        reference: Some("demo-firmware"),
        tests: &[("needs_the_pinned_linux_firmware_release", "ok")],
    },
];

fn request(path: &str, kind: NewKind, reference: Option<(&Path, &str)>) -> Request {
    let (category, name) = path.split_once('/').unwrap();
    Request {
        category: category.into(),
        name: name.into(),
        kind,
        tier: None,
        modules: Vec::new(),
        reference: reference.map(|(file, entry)| (file.to_path_buf(), entry.to_string())),
    }
}

fn cp(from: &Path, to: &Path) {
    Command::new("cp").arg("-a").arg(from).arg(to).run().unwrap_or_else(|e| panic!("{e}"));
}

/// The scratch workspace (recreated; its target directory kept), under a lock held by the
/// returned file.
fn scratch(root: &Path) -> (std::fs::File, PathBuf, PathBuf) {
    let base = root.join("target/scaffold-test");
    std::fs::create_dir_all(&base).unwrap();
    let lock = talos_ext_fs::lock_file(&base.join("lock")).unwrap();
    let ws = base.join("ws");
    talos_ext_fs::remove_dir_if_exists(&ws).unwrap();
    std::fs::create_dir_all(ws.join("extensions")).unwrap();
    // One real recipe besides the scaffolds (cargo refuses a member glob that matches nothing).
    std::fs::create_dir_all(ws.join("extensions/examples")).unwrap();
    for dir in [
        "shared",
        "toolchain",
        "Cargo.lock",
        "rustfmt.toml",
        "extensions/test-overrides.toml",
        "extensions/examples/hello-world-service",
    ] {
        cp(&root.join(dir), &ws.join(dir));
    }
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let members = "members = [\"xtask/engine\", \"shared/*\", \"extensions/*/*\"]";
    assert!(manifest.contains(members), "the workspace's members changed: update this test");
    std::fs::write(ws.join("Cargo.toml"), manifest.replace(members, "members = [\"shared/*\", \"extensions/*/*\"]"))
        .unwrap();
    // This workspace's own target directory (nested cargo runs share it, see `e2e.rs`): the
    // registry crates compiled for the tests are reused, and only the scratch copy's own crates
    // compile (they sit at another path). The scratch workspace has no binaries of the same name
    // as this one's (no xtask), so nothing either uplifts is the other's.
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    (lock, ws, target)
}

/// `cargo <args>` in the scratch workspace, as a user runs it (without the variables cargo set
/// for this test), building into `target`, with the real workspace's source cache.
fn cargo(root: &Path, ws: &Path, target: &Path, args: &[&str]) -> talos_ext_process::Output {
    // No incremental caches: the scaffolds are rebuilt from scratch every run anyway, and the
    // shared crates only when they change (saves half a GB of the scratch target).
    let mut cmd = Command::new(env!("CARGO"))
        .args(args)
        .dir(ws)
        .inherit_env()
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_INCREMENTAL", "0");
    for name in xtask::cargo_run_vars() {
        cmd = cmd.env_remove(name.to_str().expect("cargo's variables have UTF-8 names"));
    }
    if std::env::var_os(talos_ext_fetch::ENV_CACHE).is_none() {
        cmd = cmd.env(talos_ext_fetch::ENV_CACHE, talos_ext_model::handoff::default_cache_dir(root));
    }
    let started = std::time::Instant::now();
    let out = cmd.output_unchecked().expect("running cargo");
    eprintln!(
        "cargo {args:?} ({:.0?})\n--- stdout\n{}--- stderr\n{}",
        started.elapsed(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Only placeholders: every finding on a scaffold is one of those `new` leaves on purpose.
fn assert_only_placeholders(findings: &[Finding]) {
    let other: Vec<String> =
        findings.iter().filter(|f| !f.message.contains("placeholder")).map(|f| f.to_string()).collect();
    assert!(other.is_empty(), "lint finds more than placeholders in the scaffolds:\n{}", other.join("\n"));
}

/// The shape tidy requires of a recipe crate: nothing at the top but the recipe inputs, `src/`
/// and `tests/`; every Rust file opens with a module doc.
fn assert_recipe_shape(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let allowed = talos_ext_build::RECIPE_INPUTS.contains(&name.as_str()) || name == "src" || name == "tests";
        assert!(allowed, "{}: `{name}`", dir.display());
    }
    for rel in ["build.rs", "src/lib.rs"] {
        let text = std::fs::read_to_string(dir.join(rel)).unwrap();
        assert!(text.starts_with("//!"), "{rel}: {text}");
    }
}

#[test]
fn every_kind_scaffolds_lints_builds_and_tests() {
    let root = xtask::workspace_root();
    let (_lock, ws, target) = scratch(&root);
    let reference = ws.join("reference.toml");
    std::fs::write(&reference, REFERENCE).unwrap();
    for case in CASES {
        let done = scaffold(&ws, &request(case.path, case.kind, case.reference.map(|r| (reference.as_path(), r))))
            .unwrap_or_else(|e| panic!("{}: {e:#}", case.path));
        assert_eq!(done.dir, ws.join("extensions").join(case.path));
        assert_recipe_shape(&done.dir);
    }
    std::fs::remove_file(&reference).unwrap();

    let findings = lint_workspace(&ws).unwrap();
    assert_only_placeholders(&findings);
    let on = |path: &str| -> Vec<String> {
        findings.iter().filter(|f| f.file.starts_with(format!("extensions/{path}"))).map(|f| f.to_string()).collect()
    };
    // Without a reference, every fact is a placeholder lint names; with one, the metadata is
    // complete and only the recipe's scaffold markers are left.
    let bare = on("tools/demo-make").join("\n");
    for field in ["author", "description", "version.upstream", "sources[0].url", "sources[0].sha256", "license", "purl"]
    {
        assert!(bare.contains(&format!("talos-extension.{field}: placeholder")), "{field}:\n{bare}");
    }
    let filled = on("tools/demo-tool");
    assert!(filled.iter().all(|f| f.contains(": line ")), "{filled:#?}");
    let manifest = std::fs::read_to_string(ws.join("extensions/tools/demo-tool/Cargo.toml")).unwrap();
    for fact in [
        "tier = \"extra\"",
        "author = \"Demo Author\"",
        "description = \"Demo tool that prints its arguments\"",
        "compatibility = \">= v1.9.0\"",
        "version = { format = \"upstream\", upstream = \"1.2.3\" }",
        "license = \"GPL-2.0-only AND MIT\"",
        "cpes = [\"cpe:2.3:a:demo:demo-tool:1.2.3:*:*:*:*:*:*:*\"]",
        "purl = \"pkg:github/demo/demo-tool@v1.2.3\"",
        "[[package.metadata.talos-extension.sources]]\nname = \"demo-tool\"\nurl = \"https://github.com/demo/demo-tool/",
    ] {
        assert!(manifest.contains(fact), "{fact}:\n{manifest}");
    }
    // An out-of-tree module extension's pins are its module package's.
    let oot = std::fs::read_to_string(ws.join("extensions/drivers/demo-oot/Cargo.toml")).unwrap();
    for fact in [
        "version = { format = \"upstream-talos\", upstream = \"4.1.0-2\" }",
        "purl = \"pkg:github/demo/oot@v4.1.0-2\"",
        "[[package.metadata.talos-extension.sources]]\nname = \"kernel-demo\"\nurl = \"https://github.com/demo/oot/releases/download/v4.1.0-2/kernel-demo-4.1.0-2.tar.gz\"\nsha256 = \"9999",
    ] {
        assert!(oot.contains(fact), "{fact}:\n{oot}");
    }
    let uinput = std::fs::read_to_string(ws.join("extensions/drivers/demo-uinput/Cargo.toml")).unwrap();
    assert!(uinput.contains("amd64 = [\"kernel/drivers/input/misc/uinput.ko\"]"), "{uinput}");
    let shim = std::fs::read_to_string(ws.join("extensions/container-runtime/demo-shim/Cargo.toml")).unwrap();
    let payload =
        "[[package.metadata.talos-extension.payloads]]\nsource = \"rt\"\ndest = \"usr/local/bin/rt\"\nmode = 0o755\n";
    assert!(shim.contains("kind = \"prebuilt\"") && shim.contains(payload), "{shim}");
    let listed = std::fs::read_to_string(ws.join("extensions/test-overrides.toml")).unwrap();
    assert!(listed.contains("recipe = \"demo-shim\"\nsource = \"rt\"\ntested = \"a STAND-IN"), "{listed}");
    assert!(listed.contains("recipe = \"demo-prebuilt\"\nsource = \"rt\"\ntested = \"a STAND-IN .tar.gz"), "{listed}");
    // A tarball scaffold's files are a placeholder lint names.
    let tarball = on("container-runtime/demo-prebuilt").join("\n");
    assert!(
        tarball.contains("build.rs: line ") && tarball.contains("scaffold: fill in the release's files"),
        "{tarball}"
    );
    let firmware = std::fs::read_to_string(ws.join("extensions/firmware/demo-firmware/build.rs")).unwrap();
    assert!(firmware.contains("talos_ext_build::default_build_script()"), "{firmware}");
    let firmware = std::fs::read_to_string(ws.join("extensions/firmware/demo-firmware/Cargo.toml")).unwrap();
    for fact in [
        "version = { format = \"firmware\", date = \"20260810\" }",
        "license = \"LicenseRef-linux-firmware\"",
        "purl = \"pkg:generic/linux-firmware@20260810\"\nfirmware = [\"demo\"]\n",
    ] {
        assert!(firmware.contains(fact), "{fact}:\n{firmware}");
    }

    let mut build = vec!["test", "--offline", "--no-run"];
    let names: Vec<&str> = CASES.iter().map(|c| c.path.split_once('/').unwrap().1).collect();
    for name in &names {
        build.extend(["-p", name]);
    }
    assert!(cargo(&root, &ws, &target, &build).status.success(), "the scaffolds do not build");
    for (case, name) in CASES.iter().zip(&names) {
        let out = cargo(&root, &ws, &target, &["test", "--offline", "-p", name]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "cargo test -p {name} failed");
        for (test, result) in case.tests {
            assert!(stdout.contains(&format!("test {test} ... {result}")), "{name}: `{test}` not {result}:\n{stdout}");
        }
    }
}

/// A workspace with one recipe, `drivers/taken`, for the errors.
fn small_workspace() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("toolchain")).unwrap();
    std::fs::copy(xtask::workspace_root().join("toolchain/pin.toml"), root.join("toolchain/pin.toml")).unwrap();
    std::fs::write(root.join("Cargo.toml"), "[workspace]\nresolver = \"3\"\nmembers = [\"extensions/*/*\"]\n").unwrap();
    let ext = root.join("extensions/drivers/taken");
    std::fs::create_dir_all(ext.join("src")).unwrap();
    std::fs::write(ext.join("src/lib.rs"), "//! taken\n").unwrap();
    std::fs::write(ext.join("Cargo.toml"), "[package]\nname = \"taken\"\nversion = \"0.1.0\"\nedition = \"2024\"\n")
        .unwrap();
    tmp
}

fn error(root: &Path, req: &Request) -> String {
    format!("{:#}", scaffold(root, req).expect_err("refused"))
}

#[test]
fn bad_requests_are_refused_and_leave_nothing() {
    let ws = small_workspace();
    let root = ws.path();
    let reference = root.join("reference.toml");
    std::fs::write(&reference, REFERENCE).unwrap();

    let e = error(root, &request("drivers/taken", NewKind::Noop, None));
    assert!(e.contains("extensions/drivers/taken already exists: refusing to overwrite it"), "{e}");
    let e = error(root, &request("storage/taken", NewKind::Noop, None));
    assert!(e.contains("already has a package named `taken`"), "{e}");
    for bad in ["Drivers/x", "drivers/X", "drivers/-x", "drivers/a--b", "drivers/a_b", "dri3vers/x"] {
        let e = error(root, &request(bad, NewKind::Noop, None));
        assert!(e.contains("use lowercase letters"), "{bad}: {e}");
    }
    let e = error(root, &request("tools/lib", NewKind::Library, None));
    assert!(e.contains("kind `library` goes with category `internal`"), "{e}");
    let e = error(root, &request("drivers/mods", NewKind::KmodInTree, None));
    assert!(e.contains("--module kernel/<path>.ko"), "{e}");
    let e = error(root, &request("tools/nothere", NewKind::Autotools, Some((&reference, "demo-tol"))));
    assert!(e.contains("has no [[extension]] or [[internal]] named `demo-tol`"), "{e}");
    assert!(e.contains("did you mean demo-tool"), "{e}");
    let e = error(root, &request("tools/nothere", NewKind::Autotools, Some((&root.join("missing.toml"), "x"))));
    assert!(e.contains("reading the reference") && e.contains("missing.toml"), "{e}");

    // Nothing was written: the recipe is as it was, no new directories (or temporary ones).
    let mut left: Vec<String> = walk(&root.join("extensions"));
    left.sort();
    assert_eq!(
        left,
        ["drivers", "drivers/taken", "drivers/taken/Cargo.toml", "drivers/taken/src", "drivers/taken/src/lib.rs"]
    );
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(dir).unwrap().display().to_string());
            if path.is_dir() {
                todo.push(path);
            }
        }
    }
    out
}

#[test]
fn unknown_kinds_are_refused_by_the_command_line() {
    use clap::Parser;
    let err = xtask::flags::Xtask::try_parse_from(["cargo xtask", "new", "tools/x", "--kind", "rust-build"])
        .expect_err("an unknown kind");
    let text = err.to_string();
    assert!(text.contains("invalid value 'rust-build' for '--kind <KIND>'"), "{text}");
    assert!(text.contains("autotools") && text.contains("go-build"), "{text}");
    let ok = xtask::flags::Xtask::try_parse_from(["cargo xtask", "new", "tools/x", "--kind", "prebuilt"]).unwrap();
    assert!(matches!(ok.command, xtask::flags::Command::New(ref n) if n.kind == NewKind::Prebuilt));
}
