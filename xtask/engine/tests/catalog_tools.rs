//! The catalog tools through the user's commands (`cargo xtask conflicts`), on generated
//! extension layouts and the real catalog's cheap recipes.
//!
//! Generated layouts are packed with `talos_ext_image::write_layout` exactly as `build` packs;
//! hostile ones are written blob by blob, with tar headers the `tar` crate would refuse. Kernel
//! modules are real ELF objects compiled by gcc with a `.modinfo` section (what `vermagic=` is
//! read from). Commands run as `cargo xtask ...` from the workspace root, without the variables
//! cargo sets for this test process.

use std::path::{Path, PathBuf};

use talos_ext_image::{ArchImage, Compression, PackOptions, write_layout};
use talos_ext_model::Arch;
use talos_ext_process::{Command, Output};

fn root() -> PathBuf {
    xtask::workspace_root()
}

/// `cargo xtask <args>`, as a user runs it.
fn xtask(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO")).arg("xtask").args(args).dir(root()).inherit_env();
    for name in xtask::cargo_run_vars() {
        cmd = cmd.env_remove(name.to_str().expect("cargo's variables have UTF-8 names"));
    }
    let out = cmd.output_unchecked().expect("running cargo xtask");
    eprintln!("xtask {args:?}\n--- stdout\n{}--- stderr\n{}", text(&out.stdout), text(&out.stderr));
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary path")
}

/// A file of a generated extension: path under `rootfs/`, mode, contents.
type Files<'a> = &'a [(&'a str, u32, &'a [u8])];

/// Writes the staged tree of extension `name` (`manifest.yaml` + `rootfs/` with `files`, and
/// `links`: path, target) into `dir`.
fn stage(dir: &Path, name: &str, version: &str, files: Files<'_>, links: &[(&str, &str)]) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir.join("rootfs")).unwrap();
    std::fs::write(
        dir.join("manifest.yaml"),
        format!(
            "version: v1alpha1\nmetadata:\n  name: {name}\n  version: {version}\n  author: tests\n  description: {name} for tests\n  compatibility:\n    talos:\n      version: \">= v1.0.0\"\n"
        ),
    )
    .unwrap();
    for (path, mode, bytes) in files {
        let full = dir.join("rootfs").join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, bytes).unwrap();
        std::fs::set_permissions(&full, std::fs::Permissions::from_mode(*mode)).unwrap();
    }
    for (path, target) in links {
        let full = dir.join("rootfs").join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, &full).unwrap();
    }
}

/// Stages `name` for both arches under `work/<name>-<version>-tree/<arch>` and packs the layout
/// `out/<name>/`.
fn layout(work: &Path, out: &Path, name: &str, version: &str, files: Files<'_>) -> PathBuf {
    let tree = work.join(format!("{name}-{version}-tree"));
    for arch in Arch::ALL {
        stage(&tree.join(arch.as_str()), name, version, files, &[]);
    }
    pack(out, name, version, &tree)
}

fn pack(out: &Path, name: &str, version: &str, tree: &Path) -> PathBuf {
    let dirs: Vec<(Arch, PathBuf)> = Arch::ALL.iter().map(|a| (*a, tree.join(a.as_str()))).collect();
    let images: Vec<ArchImage<'_>> = dirs.iter().map(|(arch, dir)| ArchImage { arch: *arch, dir }).collect();
    let meta = talos_ext_registry::testing::image_meta(name, version, &format!("{name} for tests"));
    let dest = out.join(name);
    write_layout(&dest, &images, &meta, &PackOptions { compression: Compression::GZIP, threads: None }).unwrap();
    dest
}

// ---------------------------------------------------------------------------------------------
// conflicts

#[test]
fn conflicts_planted_identical_allowed_and_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let (work, out) = (tmp.path().join("work"), tmp.path().join("out"));
    let modules = "usr/lib/modules/6.18.45-talos";
    let order_a = format!("{modules}/modules.order");
    let a = layout(
        &work,
        &out,
        "alpha",
        "v1.0.0",
        &[
            ("usr/local/bin/tool", 0o755, b"alpha's tool\n"),
            ("usr/local/share/common/README", 0o644, b"same everywhere\n"),
            (&order_a, 0o644, b"kernel/a.ko\n"),
        ],
    );
    let b = layout(
        &work,
        &out,
        "beta",
        "v1.0.0",
        &[
            ("usr/local/bin/tool", 0o644, b"beta's tool, longer\n"),
            ("usr/local/share/common/README", 0o644, b"same everywhere\n"),
            (&order_a, 0o644, b"kernel/b.ko\n"),
        ],
    );
    let empty = tmp.path().join("no-allow.toml");
    let run = |allow: &Path, arch: &str| {
        xtask(&["conflicts", "--layout", s(&a), "--layout", s(&b), "--arch", arch, "--allow", s(allow)])
    };

    // The planted conflict fails, naming the path, both extensions and how they differ; the
    // identical README and the module index are not reported.
    let planted = run(&empty, "all");
    assert_eq!(planted.status.code(), Some(1));
    let table = text(&planted.stdout);
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with('/')).collect();
    assert_eq!(rows.len(), 2, "one row per arch:\n{table}");
    for (row, arch) in rows.iter().zip(["amd64", "arm64"]) {
        assert!(row.starts_with("/usr/local/bin/tool "), "{row}");
        assert!(row.contains(arch) && row.contains("alpha, beta"), "{row}");
        assert!(row.contains("alpha: file 0755 13 B sha256:") && row.contains("beta: file 0644 20 B sha256:"), "{row}");
    }
    assert!(!table.contains("README") && !table.contains("modules.order"), "{table}");
    assert!(text(&planted.stderr).contains("2 overlap(s) on documented shared paths"), "the index files, per arch");

    // Allowed: passes, and says so.
    let allow = tmp.path().join("allow.toml");
    std::fs::write(
        &allow,
        "[[allow]]\nextensions = [\"alpha\", \"beta\"]\npath = \"usr/local/bin/*\"\nreason = \"beta replaces alpha's tool on purpose\"\n",
    )
    .unwrap();
    let allowed = run(&allow, "amd64");
    assert!(allowed.status.success());
    assert!(text(&allowed.stderr).contains("1 allowed by"), "{}", text(&allowed.stderr));

    // A stale entry (its extensions were checked, it matched nothing) fails on its own.
    let stale = tmp.path().join("stale.toml");
    let extra =
        "[[allow]]\nextensions = [\"alpha\", \"beta\"]\npath = \"usr/local/lib/gone\"\nreason = \"was shared once\"\n";
    std::fs::write(&stale, format!("{}{extra}", std::fs::read_to_string(&allow).unwrap())).unwrap();
    let out = run(&stale, "amd64");
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out.stdout);
    assert!(
        report.contains("stale allow-list entry") && report.contains("`usr/local/lib/gone` for alpha, beta"),
        "{report}"
    );
    assert!(!report.contains("/usr/local/bin/tool"), "the allowed overlap is not reported: {report}");

    // An entry without a reason is refused, naming the file and the entry.
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "[[allow]]\nextensions = [\"alpha\", \"beta\"]\npath = \"usr/x\"\nreason = \" \"\n").unwrap();
    let out = run(&bad, "amd64");
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("bad.toml") && err.contains("entry 1 (usr/x)") && err.contains("`reason` is empty"), "{err}");
}

/// The real catalog, for the recipes that stage offline here: the examples, the in-tree module
/// extensions with Debian's kernel (the Talos one needs network), and intel-ucode from a
/// generated release. The reviewed result: no conflicts, and no stale allow-list entry.
#[test]
fn conflicts_over_the_cheap_catalog_recipes() {
    use talos_ext_build::microcode::{self, Signature};
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let out_arg = s(&out);
    assert!(
        xtask(&["build", "hello-world-service", "hello-module", "--arch", "all", "--out", out_arg]).status.success()
    );
    let pin = talos_ext_model::Pin::load(&root()).unwrap();
    let debian = pin.toolchains.examples.clone().expect("an examples toolchain in the pin");
    let kmods = ["mei", "uinput", "btrfs"];
    let mut args = vec!["build"];
    args.extend(kmods);
    args.extend(["--arch", "all", "--toolchain", &debian, "--out", out_arg]);
    assert!(xtask(&args).status.success());
    let release = tmp.path().join("ucode");
    std::fs::create_dir_all(release.join("intel-ucode")).unwrap();
    let data: Vec<u8> = (0..976u32).map(|i| i as u8).collect();
    let update = microcode::encode(Signature { signature: 0x000806f8, processor_flags: 0x87 }, 0x2b000603, &data, &[]);
    std::fs::write(release.join("intel-ucode/06-8f-08"), &update).unwrap();
    std::fs::write(release.join("license"), "license\n").unwrap();
    let source = format!("--source=intel-ucode={}", release.display());
    assert!(xtask(&["build", "intel-ucode", "--arch", "all", &source, "--out", out_arg]).status.success());

    let checked = ["hello-world-service", "hello-module", "mei", "uinput", "btrfs", "intel-ucode"];
    let mut args = vec!["conflicts"];
    args.extend(checked);
    args.extend(["--no-build", "--out", out_arg]);
    let result = xtask(&args);
    let err = text(&result.stderr);
    assert!(result.status.success(), "{}{err}", text(&result.stdout));
    assert!(err.contains("checked 6 extension(s) for amd64,arm64"), "{err}");
}
