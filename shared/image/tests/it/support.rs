//! Test support: a generated staged extension tree (with hardlinks, symlinks, long names, odd
//! modes and multi-chunk files) that can be created in different orders with different mtimes,
//! the expected `tar -tv` listing of its layer, and a helper to run real commands.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use talos_ext_image::{Compression, ImageMeta, PackOptions};
use talos_ext_process::Command;

pub const EPOCH: u64 = 1_700_000_000;
pub const EPOCH_TAR: &str = "2023-11-14 22:13:20";

/// A long directory name, so some paths exceed the 100-byte ustar name field.
pub fn long_dir() -> String {
    format!("rootfs/usr/local/share/{}", "d".repeat(120))
}

pub enum Node {
    Dir(u32),
    File(u32, Vec<u8>),
    Hardlink(&'static str),
    Symlink(String),
}

/// The tree, by path relative to the staged dir (no `rootfs/` itself; parents are implied).
pub fn tree(arch_tag: &str) -> Vec<(String, Node)> {
    let big = pseudo_text(2 * 1024 * 1024 + 4321, 7);
    vec![
        (
            "manifest.yaml".into(),
            Node::File(0o644, format!("version: v1alpha1\nmetadata:\n  name: test-{arch_tag}\n").into_bytes()),
        ),
        ("rootfs".into(), Node::Dir(0o755)),
        ("rootfs/usr".into(), Node::Dir(0o755)),
        ("rootfs/usr/lib".into(), Node::Dir(0o755)),
        ("rootfs/usr/lib/firmware".into(), Node::Dir(0o755)),
        ("rootfs/usr/lib/firmware/big.bin".into(), Node::File(0o644, big)),
        ("rootfs/usr/lib/firmware/big-hardlink.bin".into(), Node::Hardlink("rootfs/usr/lib/firmware/big.bin")),
        ("rootfs/usr/lib/firmware/big.link".into(), Node::Symlink("big.bin".into())),
        ("rootfs/usr/lib/firmware-extra".into(), Node::Dir(0o755)),
        ("rootfs/usr/lib/firmware-extra/x.bin".into(), Node::File(0o600, b"x".to_vec())),
        ("rootfs/usr/lib/firmware-extra/empty".into(), Node::File(0o644, Vec::new())),
        ("rootfs/usr/local".into(), Node::Dir(0o755)),
        ("rootfs/usr/local/bin".into(), Node::Dir(0o755)),
        ("rootfs/usr/local/bin/hello".into(), Node::File(0o755, format!("#!/bin/sh\necho {arch_tag}\n").into_bytes())),
        ("rootfs/usr/local/share".into(), Node::Dir(0o750)),
        ("rootfs/usr/local/share/empty-dir".into(), Node::Dir(0o700)),
        (long_dir(), Node::Dir(0o755)),
        (format!("{}/{}", long_dir(), "f".repeat(90)), Node::File(0o644, b"long\n".to_vec())),
        (format!("{}/long.link", long_dir()), Node::Symlink(format!("../{}/{}", "d".repeat(120), "f".repeat(90)))),
        ("rootfs/usr/local/share/abs.link".into(), Node::Symlink("/usr/local/bin/hello".into())),
    ]
}

/// Deterministic text-like data: words from a small vocabulary plus numbered lines.
pub fn pseudo_text(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: &[&str] = &["kernel", "module", "talos", "extension", "firmware", "0x7f", "ELF", "init", "\n"];
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(WORDS[(x % WORDS.len() as u64) as usize].as_bytes());
        out.push(if x & 0x100 == 0 { b' ' } else { (x >> 32) as u8 });
    }
    out.truncate(len);
    out
}

/// Creates the tree under `staged` (which must not exist). `reverse` creates entries in reverse
/// order (parents first, still); `mtime_offset` shifts every mtime.
pub fn stage(staged: &Path, nodes: &[(String, Node)], reverse: bool, mtime_offset: u64) {
    fs::create_dir_all(staged).unwrap();
    let mut order: Vec<&(String, Node)> = nodes.iter().collect();
    if reverse {
        order.reverse();
    }
    // Create all directories first (so children have parents), in the chosen order.
    for (path, node) in &order {
        if let Node::Dir(_) = node {
            fs::create_dir_all(staged.join(path)).unwrap();
        }
    }
    for (path, node) in &order {
        let p = staged.join(path);
        match node {
            Node::Dir(_) => {}
            Node::File(mode, data) => {
                fs::write(&p, data).unwrap();
                fs::set_permissions(&p, fs::Permissions::from_mode(*mode)).unwrap();
            }
            Node::Symlink(target) => symlink(target, &p).unwrap(),
            Node::Hardlink(_) => {}
        }
    }
    for (path, node) in &order {
        if let Node::Hardlink(target) = node {
            fs::hard_link(staged.join(target), staged.join(path)).unwrap();
        }
    }
    let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000 + mtime_offset);
    for (path, node) in &order {
        let p = staged.join(path);
        if !matches!(node, Node::Symlink(_)) {
            File::open(&p).unwrap().set_modified(mtime).unwrap();
        }
        if let Node::Dir(mode) = node {
            fs::set_permissions(&p, fs::Permissions::from_mode(*mode)).unwrap();
        }
    }
}

/// The `tar -tv --numeric-owner --full-time` lines (whitespace collapsed) the layer must list.
pub fn expected_listing(nodes: &[(String, Node)]) -> Vec<String> {
    let sizes: BTreeMap<&str, usize> = nodes
        .iter()
        .filter_map(|(p, n)| if let Node::File(_, d) = n { Some((p.as_str(), d.len())) } else { None })
        .collect();
    let modes: BTreeMap<&str, u32> = nodes
        .iter()
        .filter_map(|(p, n)| if let Node::File(m, _) = n { Some((p.as_str(), *m)) } else { None })
        .collect();
    let mut sorted: Vec<&(String, Node)> = nodes.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    sorted
        .iter()
        .map(|(path, node)| match node {
            Node::Dir(mode) => format!("d{} 0/0 0 {EPOCH_TAR} {path}/", perms(*mode)),
            Node::File(mode, data) => format!("-{} 0/0 {} {EPOCH_TAR} {path}", perms(*mode), data.len()),
            Node::Hardlink(target) => format!("-{} 0/0 {} {EPOCH_TAR} {path}", perms(modes[target]), sizes[target]),
            Node::Symlink(target) => format!("lrwxrwxrwx 0/0 0 {EPOCH_TAR} {path} -> {target}"),
        })
        .collect()
}

fn perms(mode: u32) -> String {
    let mut s = String::new();
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

pub fn meta(version: &str) -> ImageMeta {
    ImageMeta {
        title: "test-ext".into(),
        version: version.into(),
        source: "https://git.example.org/talos-ext/extensions".into(),
        revision: "0123456789abcdef0123456789abcdef01234567".into(),
        description: "A generated test extension".into(),
        source_date_epoch: EPOCH,
        annotations: BTreeMap::from([("org.example.extra".into(), "yes".into())]),
    }
}

pub fn gzip_opts(threads: usize) -> PackOptions {
    PackOptions { compression: Compression::GZIP, threads: std::num::NonZeroUsize::new(threads) }
}

/// Runs a shell pipeline and returns stdout; panics with stderr on failure.
pub fn sh(script: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(script).env("TZ", "UTC").env("LC_ALL", "C").output();
    String::from_utf8(out.unwrap_or_else(|e| panic!("{e}")).stdout).unwrap()
}

/// `tar -tv` lines with whitespace collapsed.
pub fn normalise_listing(out: &str) -> Vec<String> {
    out.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect()
}

/// Every path under `dir`, relative, sorted (to check nothing was left behind).
pub fn ls(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into()).collect();
    v.sort();
    v
}
