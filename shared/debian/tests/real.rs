//! talos-ext-debian against Debian's real archive (the one the machine's apt is configured
//! with): a small upstream tarball from the source archive, a small `.deb` downloaded and
//! extracted, failed lookups that say what is there, and a private state that a hostile global
//! apt configuration cannot change.
//!
//! The indexes and files are kept in the workspace cache (`<cache>/debian`, as the kernel
//! toolchain and the recipe tests keep theirs), except in the configuration test, which starts
//! from an empty state so that `apt-get update` really runs.

use std::path::{Path, PathBuf};
use std::time::Instant;

use talos_ext_debian::{DebianError, PackageSpec, Repo, extract_debs};
use talos_ext_process::Command;

/// `<cache>/debian` of the workspace.
fn cache_root() -> PathBuf {
    talos_ext_debian::workspace_cache(Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap())
}

fn sha256_of(path: &Path) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn a_small_upstream_tarball_from_the_source_archive() {
    let root = cache_root();
    let repo = Repo::current_sources(&root);
    let started = Instant::now();
    let package = repo.source("json-c", "0.18+ds-1").unwrap_or_else(|e| panic!("{e}"));
    eprintln!("json-c=0.18+ds-1 looked up in {:.1?} ({})", started.elapsed(), repo.describe());
    let started = Instant::now();
    let path = repo.fetch_upstream_tarball("json-c", "0.18+ds-1", &root.join("pool")).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{}: {} bytes in {:.1?}", path.display(), std::fs::metadata(&path).unwrap().len(), started.elapsed());
    let tarball = package.upstream_tarball().unwrap();
    assert_eq!(path.file_name().unwrap().to_string_lossy(), tarball.name);
    assert_eq!(tarball.name, "json-c_0.18+ds.orig.tar.xz");
    assert_eq!(sha256_of(&path), tarball.sha256.as_str(), "the file is the one the signed index names");
    let leftovers: Vec<_> = std::fs::read_dir(root.join("pool"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".fetch-"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[test]
fn a_small_deb_for_arm64_downloaded_verified_and_extracted() {
    let root = cache_root();
    let repo = Repo::current_binaries(&root);
    let started = Instant::now();
    let (package, deb) = repo
        .fetch_binary(&PackageSpec::parse("hello:arm64").unwrap(), &root.join("pool"))
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{}: {} bytes, looked up and got in {:.1?}", deb.display(), package.file.size, started.elapsed());
    assert_eq!((package.name.as_str(), package.arch.as_str()), ("hello", "arm64"));
    assert_eq!(package.suite, "trixie", "the newest version is trixie's: {package:?}");
    assert_eq!(sha256_of(&deb), package.file.sha256.as_str());

    let tmp = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let summaries =
        extract_debs(std::slice::from_ref(&deb), &tmp.path().join("tree")).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("extracted {} entries in {:.1?}", summaries[0].entries, started.elapsed());
    let bin = std::fs::read(tmp.path().join("tree/usr/bin/hello")).unwrap();
    // An ELF for aarch64 (e_machine 183 at offset 18, little-endian).
    assert_eq!((&bin[..4], u16::from_le_bytes([bin[18], bin[19]])), (&b"\x7fELF"[..], 183));
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(tmp.path().join("tree/usr/bin/hello")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
    assert!(tmp.path().join("tree/usr/share/doc/hello/copyright").is_file());
}

#[test]
fn a_missing_version_names_what_was_looked_for_and_what_is_there() {
    let root = cache_root();
    let binaries = Repo::current_binaries(&root);
    let err = binaries.binary(&PackageSpec::parse("hello:arm64=0.0-0").unwrap()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DebianError::NotFound(_)), "{msg}");
    for needle in [
        "binary package `hello=0.0-0` for arm64",
        "trixie, bookworm",
        "non-free-firmware",
        "versions there: 2.10-",
        "hint:",
    ] {
        assert!(msg.contains(needle), "`{needle}` missing from: {msg}");
    }
    assert!(msg.contains("(trixie/main, arm64)") && msg.contains("(bookworm/main, amd64)"), "{msg}");

    let sources = Repo::current_sources(&root);
    let msg = sources.source("json-c", "0.0-0").unwrap_err().to_string();
    for needle in ["source package `json-c=0.0-0`", "sid, forky, trixie", "0.18+ds-1 (", "hint:"] {
        assert!(msg.contains(needle), "`{needle}` missing from: {msg}");
    }
    let msg = sources.source("no-such-package-xyz", "1.0-1").unwrap_err().to_string();
    assert!(msg.contains("no version of it is listed there") && msg.contains("hint: check the name"), "{msg}");
}

#[test]
fn the_indexes_read_are_the_ones_apt_lists() {
    let root = cache_root();
    for repo in [Repo::current_sources(&root), Repo::current_binaries(&root)] {
        repo.ensure_updated().unwrap_or_else(|e| panic!("{e}"));
        let listed = Command::new("apt-get")
            .args(["indextargets", "--format", "$(FILENAME)"])
            .env("APT_CONFIG", repo.dir().join("apt.conf"))
            .read()
            .unwrap();
        let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let mut listed: Vec<PathBuf> = listed.lines().map(|l| canonical(Path::new(l))).collect();
        let mut ours: Vec<PathBuf> = repo.index_paths().iter().map(|p| canonical(p)).collect();
        listed.sort();
        ours.sort();
        assert_eq!(ours, listed, "{}", repo.describe());
    }
}

/// Set in the child run of [`run_by_parent_global_config`]: the state's root.
const CHILD_ROOT: &str = "TALOS_EXT_DEBIAN_TEST_ROOT";

#[test]
fn a_global_apt_config_that_checks_valid_until_changes_nothing() {
    // A machine whose global configuration checks Valid-Until (apt's default; a fresh Debian),
    // keeps its lists compressed and has other architectures and sources: a configuration file
    // that replaces this machine's /etc/apt/apt.conf.d with its own settings.
    let tmp = tempfile::tempdir().unwrap();
    let parts = tmp.path().join("apt.conf.d");
    std::fs::create_dir_all(&parts).unwrap();
    let hostile = tmp.path().join("hostile.conf");
    std::fs::write(
        &hostile,
        format!(
            "Dir::Etc::Parts \"{}\";\nAcquire::Check-Valid-Until \"true\";\nAcquire::GzipIndexes \"true\";\n\
             APT::Architectures {{ \"i386\"; }};\nDir::Etc::SourceParts \"/nonexistent\";\n",
            parts.display()
        ),
    )
    .unwrap();
    // The file is a configuration apt takes...
    let dump = Command::new("apt-config").arg("dump").env("APT_CONFIG", &hostile).read().unwrap();
    assert!(dump.contains("Acquire::Check-Valid-Until \"true\";"), "{dump}");
    // ...and this test binary runs again with it in its environment.
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(&exe)
        .args(["--exact", "run_by_parent_global_config", "--ignored", "--nocapture"])
        .env("APT_CONFIG", &hostile)
        .env(CHILD_ROOT, tmp.path().join("root"))
        .output_unchecked()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
}

#[test]
#[ignore = "run by a_global_apt_config_that_checks_valid_until_changes_nothing, with APT_CONFIG set"]
fn run_by_parent_global_config() {
    let root = PathBuf::from(std::env::var_os(CHILD_ROOT).expect("run by the parent test"));
    assert!(std::env::var_os("APT_CONFIG").is_some(), "the hostile configuration is in the environment");
    // Only sid: the suite whose Release file a snapshot mirror lets expire first.
    let repo = Repo::sources(&root, &["sid"], &["main"]);
    let started = Instant::now();
    repo.update().unwrap_or_else(|e| panic!("{e}"));
    eprintln!("apt-get update of an empty private state ({}) took {:.1?}", repo.describe(), started.elapsed());
    let dump = repo.apt_config_dump().unwrap();
    assert!(dump.contains("Acquire::Check-Valid-Until \"false\";"), "{dump}");
    assert!(!dump.contains("i386") && !dump.contains("/nonexistent"), "{dump}");
    let msg = repo.source("json-c", "0.0-0").unwrap_err().to_string();
    assert!(msg.contains("(sid/main)"), "the sid index was read: {msg}");
}
