//! Test fixtures: real extension trees in temp dirs (built from a compact list of steps), tar
//! streams built with the `tar` crate, and a finding matcher.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use talos_ext_validate::{Options, Report, Rule, Tree, validate};
use tempfile::TempDir;

pub const TALOS: &str = "v1.14.0-beta.1";

pub const HELLO_SPEC: &str =
    "name: hello\ncontainer:\n  entrypoint: ./hello\ndepends:\n  - service: cri\nrestart: always\n";

pub fn manifest(name: &str, version: &str, compat: &str) -> String {
    format!(
        "version: v1alpha1\nmetadata:\n  name: {name}\n  version: {version}\n  author: Tests\n  description: A test extension\n  compatibility:\n    talos:\n      version: \"{compat}\"\n"
    )
}

/// One step of building a tree below the temp dir. Paths are relative to the tree root.
#[derive(Debug, Clone)]
pub enum Step {
    Dir(&'static str, u32),
    File(&'static str, u32),
    Text(&'static str, String),
    Symlink(&'static str, &'static str),
    Hardlink(&'static str, &'static str),
    Fifo(&'static str),
    Socket(&'static str),
    Remove(&'static str),
}

/// A valid extension: manifest, `/usr/local/bin/hello`, a service spec, and `0755` directories.
pub fn base_steps() -> Vec<Step> {
    vec![
        Step::Text("manifest.yaml", manifest("hello", "1.0.0", ">= v1.0.0")),
        Step::Dir("rootfs", 0o755),
        Step::Dir("rootfs/usr", 0o755),
        Step::Dir("rootfs/usr/local", 0o755),
        Step::Dir("rootfs/usr/local/bin", 0o755),
        Step::File("rootfs/usr/local/bin/hello", 0o755),
        Step::Dir("rootfs/usr/local/etc", 0o755),
        Step::Dir("rootfs/usr/local/etc/containers", 0o755),
        Step::Text("rootfs/usr/local/etc/containers/hello.yaml", HELLO_SPEC.to_string()),
    ]
}

/// A real directory tree; the temp dir lives as long as the value.
pub struct Fixture {
    pub dir: TempDir,
}

impl Fixture {
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn tree(&self) -> Tree {
        Tree::from_dir(self.root()).expect("fixture tree reads")
    }
}

/// Builds the base extension plus `extra` steps.
pub fn fixture(extra: &[Step]) -> Fixture {
    let mut steps = base_steps();
    steps.extend_from_slice(extra);
    build(&steps)
}

pub fn build(steps: &[Step]) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let fx = Fixture { dir };
    for step in steps {
        match step {
            Step::Dir(p, mode) => {
                let path = fx.path(p);
                fs::create_dir_all(&path).unwrap();
                fs::set_permissions(&path, fs::Permissions::from_mode(*mode)).unwrap();
            }
            Step::File(p, mode) => {
                let path = fx.path(p);
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(&path, b"x").unwrap();
                fs::set_permissions(&path, fs::Permissions::from_mode(*mode)).unwrap();
            }
            Step::Text(p, text) => {
                let path = fx.path(p);
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(&path, text).unwrap();
            }
            Step::Symlink(p, target) => symlink(target, fx.path(p)).unwrap(),
            Step::Hardlink(p, target) => fs::hard_link(fx.path(target), fx.path(p)).unwrap(),
            Step::Fifo(p) => {
                talos_ext_process::Command::new("mkfifo").arg(fx.path(p)).run().unwrap_or_else(|e| panic!("{e}"));
            }
            Step::Socket(p) => drop(UnixListener::bind(fx.path(p)).expect("socket binds")),
            Step::Remove(p) => {
                let path = fx.path(p);
                if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) }.unwrap();
            }
        }
    }
    fx
}

pub fn opts(strict: bool) -> Options {
    Options { strict, pkg_name: Some("hello".to_string()), talos_version: TALOS.to_string(), kernel: None }
}

pub fn run(tree: &Tree, strict: bool) -> Report {
    validate(tree, &opts(strict))
}

/// The findings as `(rule, path)` pairs, sorted.
pub fn pairs(report: &Report) -> Vec<(Rule, String)> {
    let mut v: Vec<(Rule, String)> = report.findings.iter().map(|f| (f.rule, f.path.clone())).collect();
    v.sort();
    v
}

/// Asserts the exact set of `(rule, path)` findings.
#[track_caller]
pub fn expect(report: &Report, want: &[(Rule, &str)]) {
    let mut want: Vec<(Rule, String)> = want.iter().map(|(r, p)| (*r, p.to_string())).collect();
    want.sort();
    assert_eq!(pairs(report), want, "report:\n{report}");
}

/// Asserts the findings in non-strict and strict mode.
#[track_caller]
pub fn expect_both(tree: &Tree, lax: &[(Rule, &str)], strict: &[(Rule, &str)]) {
    expect(&run(tree, false), lax);
    expect(&run(tree, true), strict);
}

/// A tar entry for [`tar_stream`].
pub enum TarItem {
    Dir(&'static str, u32),
    File(&'static str, u32, Vec<u8>),
    Symlink(&'static str, &'static str),
    Hardlink(&'static str, &'static str),
    Char(&'static str),
    Block(&'static str),
    Fifo(&'static str),
}

/// The base extension as tar items (directories with explicit entries, `./` prefixes as some
/// tools write them).
pub fn base_tar_items() -> Vec<TarItem> {
    vec![
        TarItem::File("./manifest.yaml", 0o644, manifest("hello", "1.0.0", ">= v1.0.0").into_bytes()),
        TarItem::Dir("./rootfs/", 0o755),
        TarItem::Dir("./rootfs/usr/", 0o755),
        TarItem::Dir("./rootfs/usr/local/", 0o755),
        TarItem::Dir("./rootfs/usr/local/bin/", 0o755),
        TarItem::File("./rootfs/usr/local/bin/hello", 0o755, b"x".to_vec()),
        TarItem::File("./rootfs/usr/local/etc/containers/hello.yaml", 0o644, HELLO_SPEC.as_bytes().to_vec()),
    ]
}

pub fn tar_stream(items: &[TarItem]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for item in items {
        let mut header = tar::Header::new_gnu();
        let (path, kind, mode, data, link): (&str, tar::EntryType, u32, &[u8], Option<&str>) = match item {
            TarItem::Dir(p, m) => (p, tar::EntryType::Directory, *m, &[], None),
            TarItem::File(p, m, d) => (p, tar::EntryType::Regular, *m, d, None),
            TarItem::Symlink(p, t) => (p, tar::EntryType::Symlink, 0o777, &[], Some(t)),
            TarItem::Hardlink(p, t) => (p, tar::EntryType::Link, 0o644, &[], Some(t)),
            TarItem::Char(p) => (p, tar::EntryType::Char, 0o644, &[], None),
            TarItem::Block(p) => (p, tar::EntryType::Block, 0o644, &[], None),
            TarItem::Fifo(p) => (p, tar::EntryType::Fifo, 0o644, &[], None),
        };
        header.set_entry_type(kind);
        header.set_path(path).unwrap();
        header.set_mode(mode);
        header.set_size(data.len() as u64);
        if let Some(link) = link {
            header.set_link_name(link).unwrap();
        }
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    builder.into_inner().unwrap()
}

pub fn tar_tree(items: &[TarItem]) -> Tree {
    Tree::from_tar(tar_stream(items).as_slice()).expect("tar tree reads")
}
