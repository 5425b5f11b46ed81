//! Benchmark of [`validate_dir`] against plain walks of the same tree.
//!
//! Generates (in a temp dir, deterministically) a valid extension tree of `--entries` entries
//! (default 100 000): a manifest, a service spec, and mostly small regular files in nested
//! directories under `rootfs/usr/local/share/bench/`, with a relative symlink every 997 files.
//! Then times, `--runs` times each (default 7), after one warm-up pass:
//!
//! - `walkdir`: a sorted `walkdir` walk that only counts entries (no `stat`);
//! - `walkdir+lstat`: the same walk with `symlink_metadata` per entry (what `find -printf '%m %s'`
//!   does);
//! - `Tree::from_dir` (the read alone) and `validate` on the read tree (the rules alone, strict);
//! - `validate_dir` in Talos-only mode and in strict mode.
//!
//! It prints the median wall time of each, and the median time the thread spent on a CPU (which
//! stays meaningful on a loaded machine), and checks that both validations report no finding. It
//! measures; it asserts nothing about speed.
//!
//! `cargo run --release -p talos-ext-validate --example bench_validate -- [--entries 100000] [--runs 7]`

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, symlink};
use std::path::Path;
use std::time::{Duration, Instant};

use talos_ext_validate::{Options, Tree, validate, validate_dir};

const MANIFEST: &str = "version: v1alpha1\nmetadata:\n  name: bench\n  version: 1.0.0\n  author: Bench\n  description: A generated tree\n  compatibility:\n    talos:\n      version: \">= v1.0.0\"\n";
const SPEC: &str = "name: bench\ncontainer:\n  entrypoint: ./bench\ndepends:\n  - service: cri\nrestart: always\n";
const FILES_PER_DIR: usize = 50;
const DIRS_PER_DIR: usize = 20;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut entries = 100_000usize;
    let mut runs = 7usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--entries" => entries = args.next().ok_or("--entries needs a value")?.parse()?,
            "--runs" => runs = args.next().ok_or("--runs needs a value")?.parse()?,
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    let tmp = tempfile::tempdir()?;
    let root = tmp.path();
    let made = generate(root, entries)?;
    println!("tree: {made} entries under {}", root.display());

    let strict =
        Options { strict: true, pkg_name: Some("bench".into()), talos_version: "v1.14.0".into(), kernel: None };
    let lax = Options { strict: false, ..strict.clone() };
    for opts in [&lax, &strict] {
        let report = validate_dir(root, opts)?;
        if !report.is_ok() {
            return Err(format!("the generated tree should be valid (strict: {}):\n{report}", opts.strict).into());
        }
    }

    let walk = median(runs, || {
        let n = walkdir::WalkDir::new(root).sort_by_file_name().into_iter().filter_map(Result::ok).count();
        assert!(n >= made);
    });
    let walk_stat = median(runs, || {
        let mut n = 0;
        for e in walkdir::WalkDir::new(root).sort_by_file_name().into_iter().filter_map(Result::ok) {
            let meta = fs::symlink_metadata(e.path()).expect("lstat");
            n += usize::from(meta.len() < u64::MAX);
        }
        assert!(n >= made);
    });
    let read = median(runs, || assert!(Tree::from_dir(root).expect("reads").entries().len() >= made));
    let tree = Tree::from_dir(root)?;
    let rules = median(runs, || assert!(validate(&tree, &strict).is_ok()));
    let talos = median(runs, || assert!(validate_dir(root, &lax).expect("validates").is_ok()));
    let strict = median(runs, || assert!(validate_dir(root, &strict).expect("validates").is_ok()));
    println!("median of {runs} runs (wall time, and time on a CPU, which a loaded machine does not inflate):");
    for (name, (wall, cpu)) in [
        ("walkdir", walk),
        ("walkdir+lstat", walk_stat),
        ("Tree::from_dir", read),
        ("validate (strict, read tree)", rules),
        ("validate_dir (talos-only)", talos),
        ("validate_dir (strict)", strict),
    ] {
        println!("  {name:<30} {:8.1} ms wall {:8.1} ms cpu", wall.as_secs_f64() * 1e3, cpu.as_secs_f64() * 1e3);
    }
    Ok(())
}

/// Writes the tree; returns how many entries it has (top-level entries included).
fn generate(root: &Path, entries: usize) -> std::io::Result<usize> {
    let mut made = 0;
    let mut dir = fs::DirBuilder::new();
    dir.mode(0o755);
    let write = |path: &Path, text: &[u8]| -> std::io::Result<()> {
        fs::OpenOptions::new().write(true).create_new(true).mode(0o644).open(path)?.write_all(text)
    };
    write(&root.join("manifest.yaml"), MANIFEST.as_bytes())?;
    made += 1;
    for d in ["rootfs", "rootfs/usr", "rootfs/usr/local", "rootfs/usr/local/etc", "rootfs/usr/local/etc/containers"] {
        dir.create(root.join(d))?;
        made += 1;
    }
    write(&root.join("rootfs/usr/local/etc/containers/bench.yaml"), SPEC.as_bytes())?;
    made += 1;
    let base = root.join("rootfs/usr/local/share/bench");
    dir.recursive(true).create(&base)?;
    dir.recursive(false);
    made += 2;

    // Directories `aNN/bNN/cNN`, each holding FILES_PER_DIR files, until `entries` is reached.
    let mut file_no = 0usize;
    'outer: for a in 0..DIRS_PER_DIR {
        for b in 0..DIRS_PER_DIR {
            for c in 0..DIRS_PER_DIR {
                let mut path = base.clone();
                for (level, n) in [a, b, c].into_iter().enumerate() {
                    path.push(format!("{}{n:02}", ["a", "b", "c"][level]));
                    if !path.exists() {
                        if made >= entries {
                            break 'outer;
                        }
                        dir.create(&path)?;
                        made += 1;
                    }
                }
                for f in 0..FILES_PER_DIR {
                    if made >= entries {
                        break 'outer;
                    }
                    file_no += 1;
                    let name = path.join(format!("file-{f:03}.dat"));
                    if file_no.is_multiple_of(997) && f > 0 {
                        symlink(format!("file-{:03}.dat", f - 1), &name)?;
                    } else {
                        write(&name, format!("entry {file_no}\n").as_bytes())?;
                    }
                    made += 1;
                }
            }
        }
    }
    Ok(made)
}

/// The median wall time and the median on-CPU time of `runs` calls, after one warm-up call.
fn median(runs: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    f();
    let (mut wall, mut cpu): (Vec<Duration>, Vec<Duration>) = (0..runs.max(1))
        .map(|_| {
            let (t, c) = (Instant::now(), on_cpu());
            f();
            (t.elapsed(), on_cpu().saturating_sub(c))
        })
        .unzip();
    wall.sort();
    cpu.sort();
    (wall[wall.len() / 2], cpu[cpu.len() / 2])
}

/// This thread's time on a CPU so far (user + system, without time spent waiting for one): the
/// first field of `/proc/thread-self/schedstat`, in nanoseconds. Zero where it cannot be read.
fn on_cpu() -> Duration {
    let text = fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    Duration::from_nanos(text.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0))
}
