//! The catalog tools through the user's commands (`cargo xtask conflicts | export | diff`), on
//! generated extension layouts, the real catalog's cheap recipes, and Debian's real
//! `docker-registry` (`TestRegistry`).
//!
//! Generated layouts are packed with `talos_ext_image::write_layout` exactly as `build` packs;
//! hostile ones are written blob by blob, with tar headers the `tar` crate would refuse. Kernel
//! modules are real ELF objects compiled by gcc with a `.modinfo` section (what `vermagic=` is
//! read from). Commands run as `cargo xtask ...` from the workspace root, without the variables
//! cargo sets for this test process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use talos_ext_image::spec::{
    Descriptor, ImageIndex, ImageManifest, MEDIA_TYPE_CONFIG, MEDIA_TYPE_INDEX, MEDIA_TYPE_LAYER_GZIP,
    MEDIA_TYPE_MANIFEST, Platform,
};
use talos_ext_image::{ArchImage, Compression, ImageTree, Layout, PackOptions, write_layout};
use talos_ext_model::Arch;
use talos_ext_process::{Command, Output};
use talos_ext_publish::{IndexEntry, IndexMeta, RegistryPrefix, publish_extension, publish_index};
use talos_ext_registry::testing::TestRegistry;
use talos_ext_registry::{Client, NoReporter, PushOptions};

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

/// What is in a directory, recursively (for "nothing left behind").
fn listing(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| e.unwrap().path().strip_prefix(dir).unwrap().display().to_string())
        .collect();
    out.sort();
    out
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

/// Two extensions shipping kernel modules of one name at different paths (NVIDIA's open and
/// proprietary `nvidia.ko`): no path overlaps, but only one module of the name can load, so
/// conflicts fails naming module, release and both paths, unless the allow-list explains it.
#[test]
fn conflicts_finds_same_named_modules_at_different_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let (work, out) = (tmp.path().join("work"), tmp.path().join("out"));
    let talos = "usr/lib/modules/6.18.45-talos";
    let open = layout(
        &work,
        &out,
        "open-modules",
        "v1.0.0",
        &[
            (&format!("{talos}/kernel/drivers/video/nvidia.ko"), 0o644, b"open nvidia"),
            (&format!("{talos}/kernel/drivers/video/nvidia-uvm.ko"), 0o644, b"open uvm"),
            (&format!("{talos}/kernel/drivers/video/only-here.ko"), 0o644, b"one of a kind"),
        ],
    );
    let nonfree = layout(
        &work,
        &out,
        "nonfree-modules",
        "v1.0.0",
        &[
            (&format!("{talos}/extras/nvidia.ko.xz"), 0o644, b"proprietary nvidia"),
            (&format!("{talos}/extras/nvidia_uvm.ko"), 0o644, b"proprietary uvm"),
            ("usr/lib/modules/6.12.0/extras/only-here.ko", 0o644, b"another kernel's"),
        ],
    );
    let run = |allow: &Path| {
        xtask(&["conflicts", "--layout", s(&open), "--layout", s(&nonfree), "--arch", "all", "--allow", s(allow)])
    };
    let empty = tmp.path().join("no-allow.toml");
    let clash = run(&empty);
    assert_eq!(clash.status.code(), Some(1));
    let report = text(&clash.stdout);
    assert!(report.contains("kernel module(s) shipped by more than one extension at different paths"), "{report}");
    let rows: Vec<&str> = report.lines().filter(|l| l.starts_with("nvidia")).collect();
    assert_eq!(rows.len(), 4, "nvidia and nvidia_uvm, per arch:\n{report}");
    let row = rows.iter().find(|r| r.starts_with("nvidia (6.18.45-talos)") && r.contains("arm64")).expect(&report);
    assert!(row.contains("nonfree-modules, open-modules"), "{row}");
    assert!(
        row.contains(&format!("open-modules: /{talos}/kernel/drivers/video/nvidia.ko"))
            && row.contains(&format!("nonfree-modules: /{talos}/extras/nvidia.ko.xz")),
        "{row}"
    );
    assert!(rows.iter().any(|r| r.starts_with("nvidia_uvm (6.18.45-talos)")), "- and _ name one module: {report}");
    assert!(!report.contains("only-here"), "another kernel release's module is no clash: {report}");

    let allow = tmp.path().join("allow.toml");
    std::fs::write(
        &allow,
        "[[allow]]\nextensions = [\"open-modules\", \"nonfree-modules\"]\npath = \"usr/lib/modules/*/**\"\n\
         reason = \"alternatives: a node installs one of the two\"\n",
    )
    .unwrap();
    let allowed = run(&allow);
    assert!(allowed.status.success(), "{}", text(&allowed.stdout));
    assert!(text(&allowed.stderr).contains("4 allowed by"), "{}", text(&allowed.stderr));
}

/// The real catalog, for the recipes that stage offline here: the examples, the in-tree module
/// extensions whose modules Debian's kernel has and that need no other source, with it (the Talos
/// one needs network; Debian lacks thunderbolt's arm64 modules and some of chelsio's and
/// dvb-cx23885's), and intel-ucode from a generated release. The reviewed result: no conflicts, and no stale allow-list entry.
#[test]
fn tier_kinds_conflicts_over_the_cheap_catalog_recipes() {
    use talos_ext_build::microcode::{self, Signature};
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let out_arg = s(&out);
    assert!(
        xtask(&["build", "hello-world-service", "hello-module", "--arch", "all", "--out", out_arg]).status.success()
    );
    let pin = talos_ext_model::Pin::load(&root()).unwrap();
    let debian = pin.toolchains.examples.clone().expect("an examples toolchain in the pin");
    let kmods = ["mei", "uinput", "btrfs", "vc4"];
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

    let checked = ["hello-world-service", "hello-module", "mei", "uinput", "btrfs", "vc4", "intel-ucode"];
    let mut args = vec!["conflicts"];
    args.extend(checked);
    args.extend(["--no-build", "--out", out_arg]);
    let result = xtask(&args);
    let err = text(&result.stderr);
    assert!(result.status.success(), "{}{err}", text(&result.stdout));
    assert!(err.contains("checked 7 extension(s) for amd64,arm64"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// export

/// A staged tree with what export must keep: modes of files and directories, absolute and
/// relative links.
fn varied_tree(dir: &Path, name: &str) {
    use std::os::unix::fs::PermissionsExt;
    stage(
        dir,
        name,
        "v1.0.0",
        &[
            ("usr/local/bin/tool", 0o755, b"#!/bin/sh\necho tool\n"),
            ("usr/local/etc/secret.conf", 0o600, b"secret\n"),
            ("usr/local/lib/demo/data.bin", 0o644, &[0u8, 1, 2, 3, 255]),
        ],
        &[("usr/local/bin/alias", "/usr/local/bin/tool"), ("usr/local/lib/demo/rel", "data.bin")],
    );
    std::fs::set_permissions(dir.join("rootfs/usr/local/etc"), std::fs::Permissions::from_mode(0o750)).unwrap();
}

fn assert_same_tree(staged: &Path, exported: &Path) {
    let want = ImageTree::from_dir(staged, &|_| false).unwrap();
    let got = ImageTree::from_dir(exported, &|_| false).unwrap();
    assert!(!want.is_empty());
    let diff = talos_ext_image::diff_trees(&want, &got);
    assert!(diff.is_empty(), "{diff:#?}");
    // Directories too (`diff_trees` counts only changed ones).
    let dirs = |t: &ImageTree| t.entries().map(|e| (e.path.clone(), e.mode)).collect::<Vec<_>>();
    assert_eq!(dirs(&want), dirs(&got));
}

#[test]
fn export_round_trips_a_packed_layout_and_a_pushed_image() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    for arch in Arch::ALL {
        varied_tree(&tree.join(arch.as_str()), "demo");
    }
    let layout_dir = pack(&tmp.path().join("oci"), "demo", "v1.0.0", &tree);

    let dest = tmp.path().join("exported");
    let out = xtask(&["export", "--layout", s(&layout_dir), "--arch", "arm64", "--dest", s(&dest)]);
    assert!(out.status.success());
    assert_same_tree(&tree.join("arm64"), &dest);

    // A non-empty destination is refused, and kept, unless --force.
    let again = xtask(&["export", "--layout", s(&layout_dir), "--dest", s(&dest)]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("is not empty") && text(&again.stderr).contains("--force"));
    assert_same_tree(&tree.join("arm64"), &dest);
    assert!(xtask(&["export", "--layout", s(&layout_dir), "--dest", s(&dest), "--force"]).status.success());
    assert_same_tree(&tree.join("amd64"), &dest);
    let top: Vec<String> = listing(tmp.path()).into_iter().filter(|p| !p.contains('/')).collect();
    assert_eq!(top, ["exported", "oci", "tree"], "nothing else left beside the destination");

    // From the real registry, after a push.
    let registry = TestRegistry::start().unwrap();
    let client = Client::new(registry.client_config());
    let target = registry.reference("talos/demo:v1.0.0");
    client.push_layout(&layout_dir, &target, &PushOptions::default(), &NoReporter).unwrap();
    let pulled = tmp.path().join("pulled");
    let out = xtask(&["export", "--from", &target.to_string(), "--arch", "arm64", "--dest", s(&pulled)]);
    assert!(out.status.success());
    assert_same_tree(&tree.join("arm64"), &pulled);
    let missing = xtask(&[
        "export",
        "--from",
        &registry.reference("talos/demo:v9").to_string(),
        "--dest",
        s(&tmp.path().join("x")),
    ]);
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("not found"), "{}", text(&missing.stderr));
    assert!(!tmp.path().join("x").exists());
}

/// The example, built by `cargo xtask build` and exported by name: the tree is the layer's.
#[test]
fn export_of_a_built_extension_is_its_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let dest = tmp.path().join("hello");
    let exported = xtask(&["export", "hello-world-service", "--arch", "arm64", "--out", s(&out), "--dest", s(&dest)]);
    assert!(exported.status.success());
    let layout = Layout::open(&out.join("oci/hello-world-service")).unwrap();
    let layer = layout.tree(Arch::Arm64, &|_| false).unwrap();
    let got = ImageTree::from_dir(&dest, &|_| false).unwrap();
    let entries = |t: &ImageTree| t.entries().cloned().collect::<Vec<_>>();
    assert_eq!(entries(&layer), entries(&got));
    assert!(got.get("rootfs/usr/local/lib/containers/hello-world/hello-world").is_some());
}

/// A layout whose single-arch layer is exactly `tar` (gzip-compressed), written blob by blob.
fn raw_layout(dir: &Path, tar: &[u8]) -> PathBuf {
    use talos_ext_model::Digest;
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let digest = Digest::of(bytes);
        std::fs::write(blobs.join(digest.hex().as_str()), bytes).unwrap();
        (digest.to_string(), bytes.len() as u64)
    };
    let (layer_digest, layer_size) = put(&gzip(tar));
    let config = br#"{"created":"2023-11-14T22:13:20Z","architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#;
    let (config_digest, config_size) = put(config);
    let desc = |media_type: &str, digest: String, size: u64| Descriptor {
        media_type: media_type.into(),
        digest,
        size,
        platform: None,
        annotations: BTreeMap::new(),
    };
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_MANIFEST.into()),
        config: desc(MEDIA_TYPE_CONFIG, config_digest, config_size),
        layers: vec![desc(MEDIA_TYPE_LAYER_GZIP, layer_digest, layer_size)],
        annotations: BTreeMap::from([("org.opencontainers.image.title".to_string(), "evil".to_string())]),
    };
    let (manifest_digest, manifest_size) = put(&serde_json::to_vec(&manifest).unwrap());
    let mut top = desc(MEDIA_TYPE_MANIFEST, manifest_digest, manifest_size);
    top.platform = Some(Platform { architecture: "amd64".into(), os: "linux".into() });
    let index = ImageIndex {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_INDEX.into()),
        manifests: vec![top],
        annotations: BTreeMap::new(),
    };
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    dir.to_path_buf()
}

/// `bytes` compressed by the real `gzip`.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    let tmp = tempfile::tempdir().unwrap();
    let plain = tmp.path().join("layer.tar");
    std::fs::write(&plain, bytes).unwrap();
    Command::new("gzip").args(["-n", "-k"]).arg(&plain).run().unwrap();
    std::fs::read(tmp.path().join("layer.tar.gz")).unwrap()
}

/// A tar entry: name, type, link target.
type RawEntry<'a> = (&'a str, tar::EntryType, &'a str);

/// A tar whose entries are written header field by header field.
fn hostile_tar(entries: &[RawEntry<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, kind, link) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(*kind);
        header.set_mode(if *kind == tar::EntryType::Directory { 0o755 } else { 0o644 });
        let data: &[u8] = if *kind == tar::EntryType::Regular { b"pwned\n" } else { b"" };
        header.set_size(data.len() as u64);
        if !link.is_empty() {
            header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    builder.into_inner().unwrap()
}

#[test]
fn export_refuses_hostile_layers_and_leaves_nothing_behind() {
    use tar::EntryType::{Directory, Regular, Symlink};
    let base = [("manifest.yaml", Regular, ""), ("rootfs/", Directory, "")];
    let cases: [(&str, Vec<RawEntry<'_>>, &str); 4] = [
        ("dotdot", vec![("../x", Regular, "")], "refused entry `../x`"),
        ("absolute", vec![("/tmp/x", Regular, "")], "refused entry `/tmp/x`"),
        ("escape", vec![("rootfs/up", Symlink, "../../../x")], "symlink target `../../../x` escapes the destination"),
        (
            "through",
            vec![("rootfs/l", Symlink, "/usr"), ("rootfs/l/x", Regular, "")],
            "nothing is written through symlinks",
        ),
    ];
    for (name, extra, want) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let entries: Vec<_> = base.iter().cloned().chain(extra).collect();
        let layout_dir = raw_layout(&tmp.path().join("layout"), &hostile_tar(&entries));
        let parent = tmp.path().join("dest-parent");
        std::fs::create_dir(&parent).unwrap();
        let out = xtask(&["export", "--layout", s(&layout_dir), "--dest", s(&parent.join("out"))]);
        assert!(!out.status.success(), "{name}");
        let err = text(&out.stderr);
        assert!(err.contains(want), "{name}: {err}");
        assert!(listing(&parent).is_empty(), "{name}: left behind {:?}", listing(&parent));
        assert!(!tmp.path().join("x").exists() && !Path::new("/tmp/x").exists(), "{name}");
    }

    // A blob that does not match its digest is refused before anything is unpacked.
    let tmp = tempfile::tempdir().unwrap();
    let layout_dir = raw_layout(&tmp.path().join("layout"), &hostile_tar(&base));
    let layout = Layout::open(&layout_dir).unwrap();
    let layer = layout.blob_path(&layout.manifest(Arch::Amd64).unwrap().layers[0]).unwrap();
    let mut bytes = std::fs::read(&layer).unwrap();
    bytes[20] ^= 0xff;
    std::fs::write(&layer, bytes).unwrap();
    let out = xtask(&["export", "--layout", s(&layout_dir), "--dest", s(&tmp.path().join("out"))]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("does not match its descriptor"), "{}", text(&out.stderr));
    assert!(!tmp.path().join("out").exists());
}

// ---------------------------------------------------------------------------------------------
// diff

/// A real ELF object with a `.modinfo` section, as a module carries it (compiled by gcc).
fn module(dir: &Path, name: &str, vermagic: &str) -> Vec<u8> {
    let source = dir.join(format!("{name}.c"));
    std::fs::write(
        &source,
        format!(
            "__attribute__((section(\".modinfo\"), used)) static const char info[] = \"name={name}\\0vermagic={vermagic}\\0license=GPL\";\n"
        ),
    )
    .unwrap();
    let object = dir.join(format!("{name}.ko"));
    Command::new("gcc").arg("-c").arg(&source).arg("-o").arg(&object).run().unwrap();
    std::fs::read(object).unwrap()
}

fn spdx(name: &str, version: &str) -> Vec<u8> {
    format!(
        r#"{{"spdxVersion":"SPDX-2.3","name":"{name}","packages":[{{"name":"{name}","versionInfo":"{version}"}},{{"name":"libfoo","versionInfo":"1.0"}}]}}"#
    )
    .into_bytes()
}

/// Two releases of three generated extensions: `gamma` gets a file added, a file changed, a
/// module rebuilt for another kernel and a component bump (version v1 → v2); `delta` is the
/// same in both; `omega` is removed.
struct Releases {
    _tmp: tempfile::TempDir,
    old: PathBuf,
    new: PathBuf,
}

fn releases() -> Releases {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let (old, new) = (tmp.path().join("old"), tmp.path().join("new"));
    let ko_old = module(&work, "old", "6.18.44-talos SMP mod_unload");
    let ko_new = module(&work, "new", "6.18.45-talos SMP mod_unload");
    let ko = "usr/lib/modules/6.18.45-talos/extras/gamma.ko";
    let sbom = "usr/local/share/spdx/gamma.spdx.json";
    layout(
        &work,
        &old,
        "gamma",
        "v1",
        &[("usr/local/bin/gamma", 0o755, b"v1\n"), (ko, 0o644, &ko_old), (sbom, 0o644, &spdx("gamma", "1.0"))],
    );
    layout(
        &work,
        &new,
        "gamma",
        "v2",
        &[
            ("usr/local/bin/gamma", 0o755, b"version 2\n"),
            ("usr/local/share/gamma/NEWS", 0o644, b"new\n"),
            (ko, 0o644, &ko_new),
            (sbom, 0o644, &spdx("gamma", "2.0")),
        ],
    );
    for dir in [&old, &new] {
        layout(&work, dir, "delta", "v1", &[("usr/local/bin/delta", 0o755, b"delta\n")]);
    }
    layout(&work, &old, "omega", "v1", &[("usr/local/bin/omega", 0o755, b"omega\n")]);
    Releases { _tmp: tmp, old, new }
}

/// Asserts every kind of delta in a `diff --json` of the two releases.
fn check_json(out: &Output) {
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["added"], serde_json::json!([]));
    assert_eq!(report["removed"][0]["name"], "omega");
    assert_eq!(report["unchanged"], serde_json::json!(["delta"]));
    let changed = report["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 1);
    let gamma = &changed[0];
    assert_eq!(
        (gamma["name"].as_str(), gamma["old_version"].as_str(), gamma["new_version"].as_str()),
        (Some("gamma"), Some("v1"), Some("v2"))
    );
    assert_ne!(gamma["old_digest"], gamma["new_digest"]);
    let arches = gamma["arches"].as_array().unwrap();
    assert_eq!(arches.len(), 2);
    for a in arches {
        assert_eq!(a["status"], "changed");
        let paths = |key: &str| -> Vec<String> {
            a[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["path"].as_str().or(f["new"]["path"].as_str()).unwrap().to_string())
                .collect()
        };
        assert_eq!(paths("files_added"), ["/usr/local/share/gamma/NEWS"]);
        assert!(paths("files_removed").is_empty());
        let changed = paths("files_changed");
        assert!(changed.contains(&"manifest.yaml".to_string()), "{changed:?}");
        assert!(changed.contains(&"/usr/local/bin/gamma".to_string()), "{changed:?}");
        let bin =
            a["files_changed"].as_array().unwrap().iter().find(|c| c["new"]["path"] == "/usr/local/bin/gamma").unwrap();
        assert_eq!((bin["old"]["size"].as_u64(), bin["new"]["size"].as_u64()), (Some(3), Some(10)));
        assert_eq!(bin["new"]["mode"], "0755");
        assert_eq!(
            a["modules"],
            serde_json::json!([{"path": "6.18.45-talos/extras/gamma.ko", "old_vermagic": "6.18.44-talos SMP mod_unload", "new_vermagic": "6.18.45-talos SMP mod_unload"}])
        );
        assert_eq!(a["components"], serde_json::json!([{"name": "gamma", "old_version": "1.0", "new_version": "2.0"}]));
    }
}

#[test]
fn diff_of_two_layout_directories() {
    let r = releases();
    check_json(&xtask(&["diff", s(&r.old), s(&r.new), "--json"]));
    let md = xtask(&["diff", s(&r.old), s(&r.new)]);
    assert!(md.status.success());
    let md = text(&md.stdout);
    for needle in [
        "## Removed\n\n- **omega** v1",
        "### gamma: v1 → v2",
        "| + | `/usr/local/share/gamma/NEWS` |",
        "| ~ | `/usr/local/bin/gamma` | file 0755 3 B",
        "`6.18.45-talos/extras/gamma.ko`: `6.18.44-talos SMP mod_unload` → `6.18.45-talos SMP mod_unload`",
        "- gamma: 1.0 → 2.0",
        "Unchanged: delta",
    ] {
        assert!(md.contains(needle), "missing {needle:?} in:\n{md}");
    }
    // One layout against another, and a release against itself.
    let same = xtask(&["diff", s(&r.old.join("delta")), s(&r.new.join("delta"))]);
    assert!(text(&same.stdout).contains("No changes (1 extensions unchanged)"), "{}", text(&same.stdout));
    let bad = xtask(&["diff", s(&r.old), "not a reference"]);
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("`not a reference` is neither a directory nor an image reference"));
}

/// Publishes the extension layouts in `dir` and the index image `extensions:<tag>` listing them.
fn publish_release(client: &Client, prefix: &RegistryPrefix, dir: &Path, tag: &str) {
    let mut entries: Vec<IndexEntry> = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    for layout in names {
        entries.push(publish_extension(client, &layout, prefix, false, &NoReporter).unwrap().entry);
    }
    let meta = IndexMeta {
        talos_tag: tag.into(),
        source: "https://git.example.org/talos-ext/extensions".into(),
        revision: "0123456789abcdef".into(),
        source_date_epoch: 1_700_000_000,
    };
    let index_dir = tempfile::tempdir().unwrap();
    publish_index(client, prefix, &entries, &meta, &index_dir.path().join("index"), &NoReporter).unwrap();
}

#[test]
fn diff_of_two_published_catalogs() {
    let r = releases();
    let registry = TestRegistry::start().unwrap();
    let client = Client::new(registry.client_config());
    let prefix: RegistryPrefix = format!("{}/talos", registry.host()).parse().unwrap();
    publish_release(&client, &prefix, &r.old, "v1.13.0");
    publish_release(&client, &prefix, &r.new, "v1.14.0");
    let (old, new) = (prefix.index_reference("v1.13.0").unwrap(), prefix.index_reference("v1.14.0").unwrap());
    let out = xtask(&["diff", &old.to_string(), &new.to_string(), "--json"]);
    check_json(&out);
    // The unchanged extension was compared by digest, never pulled.
    let err = text(&out.stderr);
    assert!(err.contains("pulling") && !err.contains("/talos/delta"), "{err}");
    // A registry image against a local layout.
    let single = prefix.reference("gamma", "v1").unwrap();
    let md = xtask(&["diff", &single.to_string(), s(&r.new.join("gamma"))]);
    assert!(md.status.success());
    assert!(text(&md.stdout).contains("### gamma: v1 → v2"), "{}", text(&md.stdout));
}

/// A kept test stage `name` under `<cache>/test-stages/` holding `bytes` bytes, last used
/// `days_ago` days ago; the returned lock holds it while it lives.
fn test_stage(cache: &Path, name: &str, bytes: usize, days_ago: u64) -> talos_ext_fs::kept::KeptDir {
    let kept = talos_ext_fs::kept::KeptDir::lock(&cache.join("test-stages"), name).unwrap();
    std::fs::create_dir_all(kept.path().join("work")).unwrap();
    std::fs::write(kept.path().join("work/object.o"), vec![1u8; bytes]).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    std::fs::write(cache.join(format!("test-stages/{name}.used")), format!("{}\n", now - days_ago * 86_400)).unwrap();
    kept
}

#[test]
fn cache_shows_its_areas_and_prune_removes_only_idle_test_stages() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    std::fs::create_dir_all(cache.join("sources-v1/sha256")).unwrap();
    std::fs::write(cache.join("sources-v1/sha256/abc"), vec![0u8; 300_000]).unwrap();
    drop(test_stage(&cache, "libfoo-0123456789abcdef", 2_000_000, 3));
    drop(test_stage(&cache, "ext-bar-amd64-0123456789abcdef", 1_000_000, 0));
    let held = test_stage(&cache, "ext-held-arm64-0123456789abcdef", 10_000, 9);

    let out = xtask(&["cache", "--cache", s(&cache)]);
    assert!(out.status.success());
    let shown = text(&out.stdout);
    assert!(shown.lines().any(|l| l.contains("sources-v1") && l.contains("pinned upstream sources")), "{shown}");
    assert!(shown.lines().any(|l| l.contains("test-stages") && l.contains("MiB")), "{shown}");

    let stages = cache.join("test-stages");
    let exists = |name: &str| stages.join(name).join("work/object.o").is_file();
    let out = xtask(&["cache", "prune", "--cache", s(&cache), "--unused-for", "1", "--dry-run"]);
    assert!(out.status.success());
    let said = text(&out.stdout);
    assert!(said.lines().any(|l| l.contains("would remove") && l.contains("libfoo-")), "{said}");
    assert!(said.contains("would remove 1 stage, "), "{said}");
    assert!(exists("libfoo-0123456789abcdef"), "a dry run removes nothing");

    let out = xtask(&["cache", "prune", "--cache", s(&cache), "--unused-for", "1"]);
    assert!(out.status.success());
    let said = text(&out.stdout);
    assert!(said.contains("removed 1 stage, 1.9"), "{said}");
    assert!(said.contains("1 in use by a running test") && said.contains("1 used within 1 day, kept"), "{said}");
    assert!(!stages.join("libfoo-0123456789abcdef").exists());
    assert!(exists("ext-bar-amd64-0123456789abcdef") && exists("ext-held-arm64-0123456789abcdef"));

    // Without a period every idle stage goes; the held one stays, and nothing else in the cache.
    let out = xtask(&["cache", "prune", "--cache", s(&cache)]);
    assert!(out.status.success());
    assert!(!stages.join("ext-bar-amd64-0123456789abcdef").exists());
    assert!(exists("ext-held-arm64-0123456789abcdef"), "a stage a test holds is never removed");
    assert!(cache.join("sources-v1/sha256/abc").is_file());
    drop(held);
    assert!(xtask(&["cache", "prune", "--cache", s(&cache)]).status.success());
    assert!(!stages.join("ext-held-arm64-0123456789abcdef").exists());
}
