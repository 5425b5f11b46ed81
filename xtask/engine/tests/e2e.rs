//! End to end through the user's commands: `cargo xtask build` of the example extension for
//! both arches, the layout it writes (one descriptor per platform, an aarch64 program in the
//! arm64 layer), `cargo xtask validate` on it, no-op rebuilds and bad input.
//!
//! Commands run as a user runs them: `cargo xtask ...` from the workspace root, without the
//! variables cargo sets for this test process. The nested cargo shares the test's target
//! directory: cargo releases its lock before it runs test binaries.

use std::io::Read;
use std::path::PathBuf;

use talos_ext_build::elf::ElfInfo;
use talos_ext_image::Layout;
use talos_ext_model::Arch;
use talos_ext_process::{Command, Output};

fn root() -> PathBuf {
    xtask::workspace_root()
}

fn xtask(args: &[&str]) -> Output {
    xtask_with_env(args, &[])
}

/// `cargo xtask <args>` with these variables added to the user's environment.
fn xtask_with_env(args: &[&str], env: &[(&str, &std::path::Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO")).arg("xtask").args(args).dir(root()).inherit_env();
    for name in xtask::cargo_run_vars() {
        cmd = cmd.env_remove(name.to_str().expect("cargo's variables have UTF-8 names"));
    }
    for (name, value) in env {
        cmd = cmd.env(name, value);
    }
    let out = cmd.output_unchecked().expect("running cargo xtask");
    eprintln!("xtask {args:?}\n--- stdout\n{}--- stderr\n{}", text(&out.stdout), text(&out.stderr));
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The file at `path` inside the arch's layer.
fn file_in_layer(layout: &Layout, arch: Arch, path: &str) -> Vec<u8> {
    let mut tar = tar::Archive::new(layout.layer_reader(arch).unwrap());
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_str() == Some(path) {
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            return data;
        }
    }
    panic!("{path} is not in the {arch} layer");
}

#[test]
fn build_both_arches_validate_and_rebuild() {
    let out = tempfile::tempdir().unwrap();
    let out_arg = out.path().to_str().unwrap();
    let first = xtask(&["build", "hello-world-service", "--arch", "all", "--out", out_arg]);
    assert!(first.status.success());
    let summary = text(&first.stdout);
    let row = summary.lines().find(|l| l.starts_with("hello-world-service")).expect("a summary row");
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols[1], "v1.0.0");
    assert_eq!(cols[2], "amd64,arm64");
    let digest = cols.last().unwrap().to_string();
    assert!(digest.starts_with("sha256:") && digest.len() == 71, "{row}");

    let dir = out.path().join("oci/hello-world-service");
    let layout = Layout::open(&dir).unwrap();
    layout.verify().unwrap();
    assert_eq!(format!("sha256:{}", layout.index_digest()), digest);
    assert_eq!(layout.platforms(), vec![Arch::Amd64, Arch::Arm64]);
    assert_eq!(layout.index().manifests.len(), 2, "one descriptor per platform, directly in index.json");

    let bin = "rootfs/usr/local/lib/containers/hello-world/hello-world";
    for arch in [Arch::Amd64, Arch::Arm64] {
        let elf = ElfInfo::parse(&file_in_layer(&layout, arch, bin)).unwrap();
        assert_eq!(elf.machine, arch.elf_machine(), "{arch}");
        elf.check_talos_userland(arch.elf_machine()).unwrap();
    }
    let manifest = text(&file_in_layer(&layout, Arch::Arm64, "manifest.yaml"));
    assert!(manifest.contains("name: hello-world-service"), "{manifest}");

    for mode in [&[][..], &["--talos-only"][..]] {
        let mut args = vec!["validate", dir.to_str().unwrap()];
        args.extend_from_slice(mode);
        assert!(xtask(&args).status.success(), "validate {mode:?}");
    }

    // Nothing changed: same digest, nothing re-packed.
    let index_mtime = std::fs::metadata(dir.join("index.json")).unwrap().modified().unwrap();
    let again = xtask(&["build", "hello-world-service", "--arch", "all", "--out", out_arg]);
    assert!(again.status.success());
    assert!(text(&again.stdout).contains(&digest));
    assert_eq!(std::fs::metadata(dir.join("index.json")).unwrap().modified().unwrap(), index_mtime);

    // Editing what is not a recipe input (its tests, its library code) does not restage: the
    // build stays a no-op. (Touched, not changed: the files keep their contents.)
    let crate_dir = root().join("extensions/examples/hello-world-service");
    let touch = |rel: &str| filetime::set_file_mtime(crate_dir.join(rel), filetime::FileTime::now()).unwrap();
    touch("tests/staged.rs");
    touch("src/lib.rs");
    let untouched = xtask(&["build", "hello-world-service", "--arch", "all", "--out", out_arg]);
    assert!(untouched.status.success() && text(&untouched.stdout).contains(&digest));
    assert_eq!(std::fs::metadata(dir.join("index.json")).unwrap().modified().unwrap(), index_mtime, "restaged");
    // An input of the recipe (its service spec) restages: same bytes, so the same digest.
    touch("files/hello-world.yaml");
    let restaged = xtask(&["build", "hello-world-service", "--arch", "all", "--out", out_arg]);
    assert!(restaged.status.success() && text(&restaged.stdout).contains(&digest));
    assert_ne!(std::fs::metadata(dir.join("index.json")).unwrap().modified().unwrap(), index_mtime, "not restaged");

    // zstd layers: a different image, still valid.
    let zstd = xtask(&["build", "hello-world-service", "--arch", "arm64", "--compression", "zstd", "--out", out_arg]);
    assert!(zstd.status.success());
    let layout = Layout::open(&dir).unwrap();
    assert_eq!(layout.platforms(), vec![Arch::Arm64]);
    assert!(layout.manifest(Arch::Arm64).unwrap().layers[0].media_type.ends_with("+zstd"));
    assert!(xtask(&["validate", dir.to_str().unwrap()]).status.success());
}

#[test]
fn validate_reports_every_finding_and_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let ext = tmp.path();
    std::fs::create_dir_all(ext.join("rootfs/usr/localx")).unwrap();
    std::fs::create_dir_all(ext.join("rootfs/etc")).unwrap();
    std::fs::write(ext.join("rootfs/etc/passwd"), "x").unwrap();
    std::fs::write(ext.join("rootfs/usr/localx/f"), "x").unwrap();
    std::fs::write(ext.join("manifest.yaml"), "version: v1alpha2\nmetadata:\n  name: x\n  version: latest\n").unwrap();
    let out = xtask(&["validate", ext.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out.stdout);
    for needle in ["manifest-version", "version-format", "/etc/passwd", "path-not-allowed", "/usr/localx/f"] {
        assert!(report.contains(needle), "missing {needle} in:\n{report}");
    }
    // Talos' own rules let the look-alike prefix through; strict mode does not.
    let talos = text(&xtask(&["validate", "--talos-only", ext.to_str().unwrap()]).stdout);
    assert!(!talos.contains("allowlist-boundary"), "{talos}");
    assert!(report.contains("allowlist-boundary"), "{report}");
}

#[test]
fn unknown_extension_is_a_clear_error() {
    let out = xtask(&["build", "hello-wrld"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("no extension named `hello-wrld`"), "{err}");
}

#[test]
fn list_shows_the_catalog() {
    let out = xtask(&["list"]);
    assert!(out.status.success());
    let table = text(&out.stdout);
    let row = table.lines().find(|l| l.starts_with("hello-world-service ")).expect("hello-world-service is listed");
    for col in ["examples", "core", "v1.0.0", "amd64,arm64", "c-build"] {
        assert!(row.split_whitespace().any(|c| c == col), "{col} in {row}");
    }
}

/// `--source` through the user's command: the build warns, the image carries the overridden
/// annotation (which `publish` refuses without `--allow-overridden`), and it validates. The
/// source is a directory shaped like Intel's microcode release, with a generated valid update.
#[test]
fn source_override_marks_the_image() {
    use talos_ext_build::microcode::{self, Signature};
    let tmp = tempfile::tempdir().unwrap();
    let release = tmp.path().join("release");
    std::fs::create_dir_all(release.join("intel-ucode")).unwrap();
    let data: Vec<u8> = (0..976u32).map(|i| i as u8).collect();
    let update = microcode::encode(Signature { signature: 0x000806f8, processor_flags: 0x87 }, 0x2b000603, &data, &[]);
    std::fs::write(release.join("intel-ucode/06-8f-08"), &update).unwrap();
    std::fs::write(release.join("license"), "license\n").unwrap();
    let out = tmp.path().join("out");
    let source = format!("--source=intel-ucode={}", release.display());
    let built = xtask(&["build", "intel-ucode", "--arch", "all", &source, "--out", out.to_str().unwrap()]);
    assert!(built.status.success());
    assert!(text(&built.stderr).contains("warning: intel-ucode comes from"), "the override is announced");

    let dir = out.join("oci/intel-ucode");
    let layout = Layout::open(&dir).unwrap();
    assert_eq!(layout.platforms(), vec![Arch::Amd64, Arch::Arm64]);
    for arch in [Arch::Amd64, Arch::Arm64] {
        assert_eq!(file_in_layer(&layout, arch, "rootfs/usr/lib/firmware/intel-ucode/06-8f-08"), update);
        let manifest = layout.manifest(arch).unwrap();
        assert_eq!(
            manifest.annotations.get(talos_ext_publish::ANNOTATION_OVERRIDDEN).map(String::as_str),
            Some("intel-ucode"),
            "{arch}: {:?}",
            manifest.annotations
        );
    }
    assert!(xtask(&["validate", dir.to_str().unwrap()]).status.success());
}

/// `--toolchain` reaches the build scripts: hello-module (Debian's toolchain by default) asked
/// for the Talos one, offline and with an empty cache, fails naming the Talos kernel source.
#[test]
fn toolchain_option_reaches_the_build_scripts() {
    // The catalog's toolchain, as pinned (a pin bump changes it; the test follows).
    let pin = talos_ext_model::Pin::load(&root()).unwrap();
    let talos = pin.toolchains.default.clone().expect("a default toolchain in the pin");
    let cache = tempfile::tempdir().unwrap();
    let out = xtask_with_env(
        &["build", "hello-module", "--arch", "amd64", "--offline", "--toolchain", &talos],
        &[("TALOS_EXT_CACHE", cache.path())],
    );
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains(&format!("toolchain `{talos}` (amd64) needs kernel source")), "{err}");
}

/// A small valid extension tree (what `cargo xtask bench validate` generates, in little).
fn valid_tree() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let ext = tmp.path();
    std::fs::create_dir_all(ext.join("rootfs/usr/local/lib/demo")).unwrap();
    std::fs::write(ext.join("rootfs/usr/local/lib/demo/data"), "x").unwrap();
    std::fs::write(
        ext.join("manifest.yaml"),
        "version: v1alpha1\nmetadata:\n  name: demo\n  version: 1.0.0\n  author: tests\n  description: demo\n  \
         compatibility:\n    talos:\n      version: \">= v1.0.0\"\n",
    )
    .unwrap();
    tmp
}

/// The engine runs without a nested `cargo build` while nothing it is built from changed (the
/// front says so with `--verbose`), and `--quiet` leaves only what a command is for.
#[test]
fn engine_commands_skip_cargo_when_the_engine_is_fresh() {
    let tree = valid_tree();
    let dir = tree.path().to_str().unwrap();
    // The first run may build the engine (or find that another test just did).
    assert!(xtask(&["validate", dir]).status.success());
    let again = xtask(&["--verbose", "validate", dir]);
    assert!(again.status.success());
    let err = text(&again.stderr);
    assert!(err.contains("xtask-engine is up to date"), "{err}");
    assert!(!err.contains("Finished"), "cargo was not asked: {err}");

    let quiet = xtask(&["validate", dir, "--quiet"]);
    assert!(quiet.status.success());
    assert_eq!(text(&quiet.stderr), "", "nothing but results with --quiet");
    let list = xtask(&["list", "-q"]);
    assert!(list.status.success());
    assert!(text(&list.stdout).contains("hello-world-service"));
    assert_eq!(text(&list.stderr), "");
}

/// An extension asked for arches it does not support names its arches as users type them.
#[test]
fn unsupported_arches_are_named_as_typed() {
    let catalog = xtask::catalog::Catalog::load(&root()).unwrap();
    let Some(one_arch) = catalog.extensions().find(|e| e.meta.arches.len() == 1) else {
        eprintln!("no single-arch extension in the catalog: nothing to check");
        return;
    };
    let supported = one_arch.meta.arches[0];
    let other = Arch::ALL.into_iter().find(|a| *a != supported).unwrap();
    let out = xtask(&["build", &one_arch.meta.name, "--arch", other.as_str()]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    let want = format!("{} supports only {supported}, none of the requested arches ({other})", one_arch.meta.name);
    assert!(err.contains(&want), "{err}");
    assert!(!err.contains("Amd64") && !err.contains("Arm64"), "{err}");
}

/// `build --verbose` runs cargo with `-vv` (build-script output shown as it runs) and
/// `TALOS_EXT_VERBOSE` (the runner streams each step's log): cargo reports the example as fresh
/// or shows the commands it runs for it, which only `-v` does. `--arch all`, as the other tests
/// build the example, so as not to restage it under them.
#[test]
fn build_verbose_shows_what_cargo_and_build_scripts_do() {
    let out = tempfile::tempdir().unwrap();
    let out_arg = out.path().to_str().unwrap();
    let built = xtask(&["build", "hello-world-service", "--arch", "all", "--verbose", "--out", out_arg]);
    assert!(built.status.success());
    let err = text(&built.stderr);
    assert!(
        err.contains("Fresh hello-world-service") || (err.contains("Running `") && err.contains("hello-world-service")),
        "cargo -vv output in:\n{err}"
    );
    let quiet = xtask(&["build", "hello-world-service", "--arch", "all", "--quiet", "--out", out_arg]);
    assert!(quiet.status.success());
    assert_eq!(text(&quiet.stderr), "", "a quiet build says nothing on stderr");
    assert!(text(&quiet.stdout).contains("hello-world-service"), "the summary is the result");
}

/// The committed README catalog section and `docs/deps.{dot,svg}` are what the recipes'
/// metadata says (`--check`, as CI runs it), and the listings agree with them.
#[test]
fn generated_catalog_and_graph_are_current() {
    for command in ["catalog", "graph"] {
        let out = xtask(&[command, "--check"]);
        assert!(
            out.status.success(),
            "the committed output of `cargo xtask {command}` is stale: run it and commit the result\n{}",
            text(&out.stderr)
        );
    }
    let catalog = xtask::catalog::Catalog::load(&root()).unwrap();
    // `list --format markdown --internal` is the README's section.
    let md = xtask(&["list", "--format", "markdown", "--internal"]);
    assert!(md.status.success());
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(readme.contains(&text(&md.stdout)), "README.md's catalog section differs from list --format markdown");
    // `list --json --internal`: one object per entry, in catalog order.
    let json = xtask(&["list", "--json", "--internal"]);
    assert!(json.status.success());
    let names: Vec<String> = text(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["name"].as_str().unwrap().to_string())
        .collect();
    let want: Vec<String> = catalog.entries.iter().map(|e| e.meta.name.clone()).collect();
    assert_eq!(names, want);
    // `graph --format dot` is the committed DOT text.
    let dot = xtask(&["graph", "--format", "dot"]);
    assert!(dot.status.success());
    assert_eq!(text(&dot.stdout), std::fs::read_to_string(root().join(xtask::graph::DOT_PATH)).unwrap());
}
