//! The registry as a build cache (`cargo xtask build --cache-from/--cache-to`) and `cargo xtask
//! verify`, through the user's commands, with Debian's real `docker-registry` (`TestRegistry`).
//!
//! A "clean clone" is a snapshot of this working tree (every file git tracks or would track,
//! uncommitted edits included) committed into a fresh git repository at
//! `target/test-verify/src/`, with its own cargo target directory `target/test-verify/target/`.
//! The compiled Rust crates there are kept between runs to spare a full compile of the
//! workspace's tools (twice: a compile costs more than 20 minutes on a loaded 2-core machine);
//! everything of the recipes is removed before each run (their stages in that target directory,
//! `_out/`, `.cache/`), so no cached stage can stand in for a build. The same directory is
//! `verify`'s `--work-dir` (`src/` is the clone it fetches into and checks out, `target/` its
//! target directory): `verify` `cargo clean`s the recipes' stages itself, so the rebuild runs
//! every recipe from scratch while the tools are compiled once.
//!
//! Those two tests are tier full (the generated pipeline's `shared` job runs them): on a fresh
//! machine the clean clone's first compile alone takes more than 20 minutes of the default tier's
//! 45. The default tier checks the cache path in this workspace instead
//! (`a_build_pulls_from_the_cache_after_its_stages_are_removed`).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use talos_ext_image::spec::{ANNOTATION_CREATED, ANNOTATION_DESCRIPTION, ANNOTATION_REVISION, ANNOTATION_SOURCE};
use talos_ext_image::{ArchImage, Compression, ImageMeta, Layout, PackOptions, write_layout};
use talos_ext_model::{Arch, parse_rfc3339_utc};
use talos_ext_process::{Command, Output};
use talos_ext_publish::{ANNOTATION_INPUT_HASH, IndexMeta, RegistryPrefix, publish_extension, publish_index};
use talos_ext_registry::testing::TestRegistry;
use talos_ext_registry::{Client, NoReporter};

const EXT: &str = "hello-world-service";
/// A file of the example's recipe, and where it lands in the image's layer.
const RECIPE_FILE: &str = "extensions/examples/hello-world-service/files/hello-world.yaml";
const LAYER_FILE: &str = "rootfs/usr/local/etc/containers/hello-world.yaml";

fn root() -> PathBuf {
    xtask::workspace_root()
}

/// The work directory of `verify` and the snapshot (see the module docs).
fn work() -> PathBuf {
    root().join("target").join("test-verify")
}

/// `cargo xtask <args>` in the workspace at `dir`, as a user runs it (the snapshot with its own
/// target directory).
fn xtask_in(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO")).arg("xtask").args(args).dir(dir).inherit_env();
    for name in xtask::cargo_run_vars() {
        cmd = cmd.env_remove(name.to_str().expect("cargo's variables have UTF-8 names"));
    }
    cmd = match dir.starts_with(work()) {
        true => cmd.env("CARGO_TARGET_DIR", work().join("target")),
        false => cmd.env_remove("CARGO_TARGET_DIR"),
    };
    let started = std::time::Instant::now();
    let out = cmd.output_unchecked().expect("running cargo xtask");
    eprintln!(
        "xtask {args:?} in {} ({:.0?})\n--- stdout\n{}--- stderr\n{}",
        dir.display(),
        started.elapsed(),
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=test", "-c", "user.email=test@example.org", "-c", "commit.gpgsign=false"])
        .args(args)
        .dir(dir)
        .inherit_env()
        .env("GIT_AUTHOR_DATE", "2026-01-02T03:04:05Z")
        .env("GIT_COMMITTER_DATE", "2026-01-02T03:04:05Z")
        .output()
        .unwrap_or_else(|e| panic!("git {args:?}: {e}"));
    text(&out.stdout)
}

/// The snapshot workspace (see the module docs), made once per test process; the guard keeps
/// tests from editing it at the same time.
fn snapshot() -> (MutexGuard<'static, ()>, &'static Path) {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = DIR.get_or_init(|| {
        let root = root();
        let dir = work().join("src");
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let files = git(&root, &["ls-files", "-z", "--cached", "--others", "--exclude-standard"]);
        for rel in files.split('\0').filter(|f| !f.is_empty()) {
            let from = root.join(rel);
            let Ok(meta) = fs::symlink_metadata(&from) else { continue }; // deleted, not yet staged
            let to = dir.join(rel);
            fs::create_dir_all(to.parent().unwrap()).unwrap();
            if meta.file_type().is_symlink() {
                std::os::unix::fs::symlink(fs::read_link(&from).unwrap(), &to).unwrap();
            } else {
                fs::copy(&from, &to).unwrap();
                fs::set_permissions(&to, meta.permissions()).unwrap();
                // The source's mtime: cargo's fingerprints see unchanged files as unchanged.
                filetime::set_file_mtime(&to, filetime::FileTime::from_last_modification_time(&meta)).unwrap();
            }
        }
        git(&dir, &["init", "--quiet"]);
        git(&dir, &["add", "--all"]);
        git(&dir, &["commit", "--quiet", "--message", "snapshot of the working tree"]);
        dir
    });
    // No stage of the recipe from an earlier run.
    remove_recipe_runs(&work().join("target"));
    for d in ["_out", ".cache"] {
        let _ = fs::remove_dir_all(dir.join(d));
    }
    (guard, dir)
}

/// The recipe's build-script directories in `workspace`'s target directory (cargo makes one for
/// compiling the script and one for running it: `OUT_DIR`).
fn recipe_runs(target: &Path) -> Vec<String> {
    let build = target.join("debug/build");
    let mut out: Vec<String> = fs::read_dir(&build)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.join("out/talos-ext/staged.json").is_file())
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&format!("{EXT}-")))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn layout_facts(dir: &Path) -> (String, String) {
    let layout = Layout::open(dir).unwrap();
    let hash = layout.index().annotations.get(ANNOTATION_INPUT_HASH).cloned().expect("an input hash annotation");
    (format!("sha256:{}", layout.index_digest()), hash)
}

#[test]
#[ignore = "tier full: compiles the workspace's tools again in a clean clone (20 minutes or more on 2 cores)"]
fn tier_full_a_clean_clone_pulls_from_the_cache_and_a_changed_input_builds_again() {
    let registry = TestRegistry::start().unwrap();
    let cache = format!("{}/cache", registry.host());
    let tmp = tempfile::tempdir().unwrap();

    let keys = tmp.path().join("keys");
    fs::create_dir_all(&keys).unwrap();
    let (private, public, other) = (keys.join("cosign.key"), keys.join("cosign.pub"), keys.join("other.pub"));
    talos_ext_sign::SigningKey::generate().write_pair(&private, &public, None).unwrap();
    talos_ext_sign::SigningKey::generate().write_pair(&keys.join("other.key"), &other, None).unwrap();

    // Built here and pushed to the cache, signed.
    let out = tmp.path().join("out");
    let built =
        xtask_in(&root(), &["build", EXT, "--out", s(&out), "--cache-to", &cache, "--cache-sign-key", s(&private)]);
    assert!(built.status.success());
    assert!(text(&built.stderr).contains(&format!("cache: pushed {EXT} as ")), "{}", text(&built.stderr));
    let (pushed_digest, hash) = layout_facts(&out.join("oci").join(EXT));
    let tag = format!("cache-{}", hash.strip_prefix("sha256:").unwrap());
    let head = Client::new(registry.client_config()).head_manifest(&registry.reference(&format!("cache/{EXT}:{tag}")));
    assert!(head.unwrap().is_some(), "the cache tag {tag} exists");

    // The clean clone pulls it: no recipe runs.
    let (_guard, clone) = snapshot();
    assert!(recipe_runs(&work().join("target")).is_empty());
    let hit = xtask_in(clone, &["build", EXT, "--cache-from", &cache, "--cache-key", s(&public)]);
    assert!(hit.status.success());
    assert!(text(&hit.stderr).contains(&format!("cache hit: {EXT}: ")), "{}", text(&hit.stderr));
    assert!(!text(&hit.stderr).contains("cache miss"));
    assert!(
        recipe_runs(&work().join("target")).is_empty(),
        "no build script of {EXT} ran: {:?}",
        recipe_runs(&work().join("target"))
    );
    let pulled = clone.join("_out/oci").join(EXT);
    assert_eq!(layout_facts(&pulled), (pushed_digest.clone(), hash.clone()), "the pulled image is the pushed one");
    assert!(text(&hit.stdout).contains(&pushed_digest), "{}", text(&hit.stdout));

    // A changed input of the recipe: a miss, and the recipe builds.
    let file = clone.join(RECIPE_FILE);
    let original = fs::read_to_string(&file).unwrap();
    fs::write(&file, format!("{original}# changed\n")).unwrap();
    let miss = xtask_in(clone, &["build", EXT, "--cache-from", &cache]);
    fs::write(&file, &original).unwrap();
    assert!(miss.status.success());
    assert!(text(&miss.stderr).contains(&format!("cache miss: {EXT}")), "{}", text(&miss.stderr));
    assert_eq!(recipe_runs(&work().join("target")).len(), 1, "the recipe ran once");
    let (digest, changed_hash) = layout_facts(&pulled);
    assert_ne!(changed_hash, hash);
    assert_ne!(digest, pushed_digest);

    // A cache entry whose signature does not verify with the key given is not used.
    let untrusted = xtask_in(clone, &["build", EXT, "--cache-from", &cache, "--cache-key", s(&other)]);
    assert!(untrusted.status.success());
    let stderr = text(&untrusted.stderr);
    assert!(stderr.contains("warning: cache: not using") && stderr.contains("does not verify"), "{stderr}");
    assert!(!stderr.contains("cache hit"), "{stderr}");
}

/// The default tier's cache check, in this workspace (its target directory, no clean clone): an
/// image built with `--cache-to` is pulled by a later `--cache-from` build after the recipe's
/// stages are removed, and no recipe runs; the clean-clone test above (tier full) adds a changed
/// input and an untrusted signature.
#[test]
fn a_build_pulls_from_the_cache_after_its_stages_are_removed() {
    let registry = TestRegistry::start().unwrap();
    let cache = format!("{}/cache", registry.host());
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    fs::create_dir_all(&keys).unwrap();
    let (private, public) = (keys.join("cosign.key"), keys.join("cosign.pub"));
    talos_ext_sign::SigningKey::generate().write_pair(&private, &public, None).unwrap();
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"));
    let _guard = workspace_stages();

    let out = tmp.path().join("out");
    let built =
        xtask_in(&root(), &["build", EXT, "--out", s(&out), "--cache-to", &cache, "--cache-sign-key", s(&private)]);
    assert!(built.status.success());
    assert!(text(&built.stderr).contains(&format!("cache: pushed {EXT} as ")), "{}", text(&built.stderr));
    let (pushed_digest, hash) = layout_facts(&out.join("oci").join(EXT));

    remove_recipe_runs(&target);
    let again = tmp.path().join("again");
    let hit = xtask_in(&root(), &["build", EXT, "--out", s(&again), "--cache-from", &cache, "--cache-key", s(&public)]);
    assert!(hit.status.success());
    assert!(text(&hit.stderr).contains(&format!("cache hit: {EXT}: ")), "{}", text(&hit.stderr));
    assert!(recipe_runs(&target).is_empty(), "no build script of {EXT} ran: {:?}", recipe_runs(&target));
    assert_eq!(layout_facts(&again.join("oci").join(EXT)), (pushed_digest, hash), "the pulled image is the pushed one");
}

/// Serialises the tests that remove the recipe's stages in this workspace's target directory.
fn workspace_stages() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes the recipe's build-script directories in `target` (its stages).
fn remove_recipe_runs(target: &Path) {
    if let Ok(entries) = fs::read_dir(target.join("debug/build")) {
        for entry in entries {
            let path = entry.unwrap().path();
            if path.file_name().unwrap().to_string_lossy().starts_with(&format!("{EXT}-")) {
                fs::remove_dir_all(&path).unwrap();
            }
        }
    }
}

/// The layout at `published`, with one byte of `LAYER_FILE` changed in the amd64 image, written
/// to `dest` with the same metadata.
fn tampered(published: &Path, work: &Path, dest: &Path) {
    let layout = Layout::open(published).unwrap();
    let a = &layout.index().annotations;
    let mut images = Vec::new();
    for arch in layout.platforms() {
        let dir = work.join(arch.as_str());
        fs::create_dir_all(&dir).unwrap();
        let mut tar = tar::Archive::new(layout.layer_reader(arch).unwrap());
        tar.set_preserve_permissions(true);
        tar.unpack(&dir).unwrap();
        if arch == Arch::Amd64 {
            let file = dir.join(LAYER_FILE);
            let mut bytes = fs::read(&file).unwrap();
            bytes[0] ^= 0x20;
            let mode = fs::metadata(&file).unwrap().permissions().mode();
            fs::write(&file, bytes).unwrap();
            fs::set_permissions(&file, fs::Permissions::from_mode(mode)).unwrap();
        }
        images.push((arch, dir));
    }
    let meta = ImageMeta {
        title: EXT.into(),
        version: a["org.opencontainers.image.version"].clone(),
        source: a[ANNOTATION_SOURCE].clone(),
        revision: a[ANNOTATION_REVISION].clone(),
        description: a[ANNOTATION_DESCRIPTION].clone(),
        source_date_epoch: parse_rfc3339_utc(&a[ANNOTATION_CREATED]).unwrap(),
        annotations: [(ANNOTATION_INPUT_HASH.to_string(), a[ANNOTATION_INPUT_HASH].clone())].into(),
    };
    let images: Vec<ArchImage<'_>> = images.iter().map(|(arch, dir)| ArchImage { arch: *arch, dir }).collect();
    write_layout(dest, &images, &meta, &PackOptions { compression: Compression::GZIP, threads: None }).unwrap();
}

#[test]
#[ignore = "tier full: compiles the workspace's tools again in a clean clone (20 minutes or more on 2 cores)"]
fn tier_full_verify_rebuilds_equal_and_names_a_changed_file() {
    let registry = TestRegistry::start().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (_guard, clone) = snapshot();
    let work = work();
    let tag = "v1.14.0-test";

    let good = format!("{}/good", registry.host());
    let published = xtask_in(clone, &["publish", EXT, "--registry", &good, "--tag", tag]);
    assert!(published.status.success());
    let started = std::time::Instant::now();
    let ok = xtask_in(clone, &["verify", EXT, "--registry", &good, "--tag", tag, "--work-dir", s(&work)]);
    eprintln!("verify {EXT}: {:.0?}", started.elapsed());
    assert!(ok.status.success());
    let table = text(&ok.stdout);
    assert!(table.contains("RESULT") && table.lines().any(|l| l.starts_with(EXT) && l.ends_with("equal")), "{table}");

    // The same image with one changed byte, published under another prefix.
    let bad = format!("{}/bad", registry.host());
    let client = Client::new(registry.client_config());
    let dest = tmp.path().join("tampered");
    let good_layout = tmp.path().join("published");
    let index = talos_ext_publish::read_index(&client, &good.parse().unwrap(), tag, None).unwrap();
    let line: talos_ext_registry::Reference = index.files.lines[0].parse().unwrap();
    client.pull_layout(&line, &good_layout, &NoReporter).unwrap();
    tampered(&good_layout, &tmp.path().join("trees"), &dest);
    let prefix: RegistryPrefix = bad.parse().unwrap();
    let pushed = publish_extension(&client, &dest, &prefix, false, &NoReporter).unwrap();
    let layout = Layout::open(&dest).unwrap();
    let meta = IndexMeta {
        talos_tag: tag.into(),
        source: "https://git.example.org/talos-ext/extensions".into(),
        revision: layout.index().annotations[ANNOTATION_REVISION].clone(),
        source_date_epoch: 1_700_000_000,
    };
    publish_index(&client, &prefix, &[pushed.entry], &meta, &tmp.path().join("index"), &NoReporter).unwrap();
    let differs = xtask_in(clone, &["verify", EXT, "--registry", &bad, "--tag", tag, "--work-dir", s(&work)]);
    assert!(!differs.status.success());
    let report = text(&differs.stdout);
    assert!(report.contains(&format!("amd64: 1 file(s) differ; first: {LAYER_FILE}")), "{report}");
    assert!(!report.contains("arm64:"), "the arm64 image is the same: {report}");
    assert!(
        report.lines().any(|l| l.starts_with(EXT) && l.contains(&format!("DIFFERS: amd64 {LAYER_FILE}"))),
        "{report}"
    );
    assert!(text(&differs.stderr).contains("1 of 1 extension(s) did not rebuild"), "{}", text(&differs.stderr));
}
