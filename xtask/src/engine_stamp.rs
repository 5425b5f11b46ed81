//! When the engine binary is up to date without asking cargo.
//!
//! Every engine command would otherwise start with a nested `cargo build -p xtask-engine`: a
//! no-op when nothing changed, but one that resolves and fingerprints the main workspace (a
//! fifth of a second or more, most of the front's overhead on a command like `validate`). So
//! after each successful build the front records, in `<target>/xtask/engine.json`, the identity
//! (mtime, ctime, size, inode) of everything that build depended on, and runs the engine without
//! cargo while all of it is unchanged:
//!
//! - the executable itself (a `cargo build` or `cargo test` that rebuilt it changes it);
//! - every source file cargo lists in the executable's dep-info (`<exe>.d`: the `.rs` files of
//!   the engine and of every workspace crate it links, and the files they include), and, for
//!   each crate those files belong to, its `Cargo.toml` and `build.rs` (present or not);
//! - the workspace's `Cargo.toml` and `Cargo.lock`, `rust-toolchain(.toml)`, the `.cargo/config`
//!   files cargo reads (the workspace's, its parents', `$CARGO_HOME`'s);
//! - the `cargo` and `rustc` binaries in use (`CARGO`, which `cargo run` sets; without it nothing
//!   is remembered), and the environment variables that configure cargo, rustc and C compilers
//!   (`CARGO*`, `RUSTC*`, `RUSTFLAGS`, `CC`, `CFLAGS`, `PATH`, ...).
//!
//! Correctness comes first: anything different, missing or unreadable means cargo runs (and
//! decides). The ctime changes with every write, whatever a tool does to the mtime. A stamp is
//! recorded only when every input is older than the build's start (by a second, for coarse file
//! system clocks), so an edit made while cargo was reading cannot hide behind it. Writing the
//! stamp is best effort and atomic; it never fails a command.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Changes whenever what a stamp holds changes meaning.
const FORMAT: u32 = 1;

/// Where the stamp of the workspace at `root` is kept.
pub fn stamp_path(root: &Path) -> PathBuf {
    crate::state_dir(root).join("engine.json")
}

/// A file's identity: (mtime, mtime ns, ctime, ctime ns, size, inode), or `None` when it does
/// not exist (a `build.rs` or config file that appears is a change too).
type Identity = Option<(i64, i64, i64, i64, u64, u64)>;

fn identity(path: &Path) -> Identity {
    fs::metadata(path).ok().map(|m| (m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec(), m.size(), m.ino()))
}

/// Whether both the mtime and the ctime of `id` are before `t`.
fn older_than(id: &Identity, t: SystemTime) -> bool {
    let before = |secs: i64, nanos: i64| {
        let time = u64::try_from(secs).ok().map(|s| UNIX_EPOCH + Duration::new(s, nanos.clamp(0, 999_999_999) as u32));
        time.is_some_and(|time| time < t)
    };
    id.is_none_or(|(m, mn, c, cn, _, _)| before(m, mn) && before(c, cn))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Input {
    path: PathBuf,
    identity: Identity,
}

impl Input {
    fn read(path: PathBuf) -> Input {
        let identity = identity(&path);
        Input { path, identity }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Stamp {
    format: u32,
    executable: Input,
    env: Vec<(String, String)>,
    inputs: Vec<Input>,
}

/// What [`check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    /// Nothing the engine is built from changed: this executable is current.
    Fresh(PathBuf),
    /// cargo must look: why (for `--verbose`).
    Stale(String),
}

/// The variables of `env` (the nested cargo's environment) that can change what cargo builds,
/// sorted: cargo's and rustc's configuration, C compiler settings for build scripts, `PATH`.
pub fn build_env(env: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    const PREFIXES: [&str; 15] = [
        "CARGO",
        "RUSTC",
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTUP_",
        "CC",
        "CXX",
        "CFLAGS",
        "CXXFLAGS",
        "CPPFLAGS",
        "LDFLAGS",
        "AR",
        "TARGET_",
        "HOST_",
        "PKG_CONFIG",
    ];
    // What cargo sets for the crates it builds, runs or tests (`CARGO_BIN_EXE_<bin>` for
    // integration tests, ...): set around xtask, but no configuration of a build.
    const CRATE_VARS: [&str; 9] = [
        "CARGO_BIN_EXE_",
        "CARGO_PKG_",
        "CARGO_CFG_",
        "CARGO_FEATURE_",
        "CARGO_MANIFEST_",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
    ];
    let mut out: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k == "PATH" || PREFIXES.iter().any(|p| k.starts_with(p)))
        .filter(|(k, _)| !CRATE_VARS.iter().any(|p| k.starts_with(p)))
        .collect();
    out.sort();
    out
}

/// The current process' [`build_env`], less the variables `cargo run` set for xtask (the nested
/// cargo never sees those).
pub fn current_build_env() -> Vec<(String, String)> {
    let dropped = crate::cargo_run_vars();
    build_env(
        std::env::vars_os()
            .filter(|(k, _)| !dropped.contains(k))
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
    )
}

/// Whether the engine recorded for the workspace at `root` is current for a build with `env`
/// (see [`build_env`]).
pub fn check(root: &Path, env: &[(String, String)]) -> Freshness {
    let path = stamp_path(root);
    let stamp: Stamp = match fs::read(&path) {
        Err(_) => return Freshness::Stale("no record of an earlier build".into()),
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(stamp) => stamp,
            Err(_) => return Freshness::Stale(format!("{} is unreadable", path.display())),
        },
    };
    if stamp.format != FORMAT {
        return Freshness::Stale(format!("{} is from another version of xtask", path.display()));
    }
    if stamp.env != env {
        let mut changed: Vec<&str> = stamp
            .env
            .iter()
            .filter(|v| !env.contains(v))
            .chain(env.iter().filter(|v| !stamp.env.contains(v)))
            .map(|(k, _)| k.as_str())
            .collect();
        changed.dedup();
        return Freshness::Stale(format!("the build environment changed ({})", changed.join(", ")));
    }
    // A target directory copied from (or shared with) another checkout holds that checkout's
    // record: its inputs are that workspace's files, unchanged, but not this one's.
    let manifest = root.join("Cargo.toml");
    if !stamp.inputs.iter().any(|i| i.path == manifest) {
        return Freshness::Stale(format!("{} was recorded for another workspace", path.display()));
    }
    for input in std::iter::once(&stamp.executable).chain(&stamp.inputs) {
        if identity(&input.path) != input.identity {
            return Freshness::Stale(format!("{} changed", input.path.display()));
        }
    }
    Freshness::Fresh(stamp.executable.path)
}

/// Records `executable`, just built by a cargo started at `started` with `env`, as current for
/// the workspace at `root`. Returns whether it did: not when cargo's dep-info cannot be read,
/// `CARGO` is not set, or an input changed after `started` (less a second); the next command
/// then asks cargo again.
pub fn record(root: &Path, executable: &Path, env: &[(String, String)], started: SystemTime) -> bool {
    let Some(inputs) = inputs(root, executable, env) else { return false };
    let limit = started.checked_sub(Duration::from_secs(1)).unwrap_or(UNIX_EPOCH);
    if !inputs.iter().all(|i| older_than(&i.identity, limit)) {
        return false;
    }
    let stamp = Stamp { format: FORMAT, executable: Input::read(executable.to_path_buf()), env: env.to_vec(), inputs };
    if stamp.executable.identity.is_none() {
        return false;
    }
    let path = stamp_path(root);
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = path.parent().is_some_and(|d| fs::create_dir_all(d).is_ok())
        && serde_json::to_vec(&stamp).is_ok_and(|bytes| fs::write(&tmp, bytes).is_ok());
    if !written || fs::rename(&tmp, &path).is_err() {
        let _ = fs::remove_file(&tmp);
        return false;
    }
    true
}

/// Everything the build of `executable` read (see the module docs), or `None` when cargo's
/// dep-info is missing or lists nothing, or `CARGO` does not name the cargo in use.
fn inputs(root: &Path, executable: &Path, env: &[(String, String)]) -> Option<Vec<Input>> {
    let mut dep_info = executable.as_os_str().to_owned();
    dep_info.push(".d");
    let sources = dep_info_paths(&fs::read_to_string(PathBuf::from(dep_info)).ok()?, root);
    if sources.is_empty() {
        return None;
    }
    let mut paths: BTreeSet<PathBuf> = BTreeSet::new();
    let mut packages = BTreeSet::new();
    for source in &sources {
        let mut dir = source.parent();
        while let Some(d) = dir {
            if packages.contains(d) || d.join("Cargo.toml").is_file() {
                packages.insert(d.to_path_buf());
                break;
            }
            dir = d.parent();
        }
    }
    for package in &packages {
        paths.insert(package.join("Cargo.toml"));
        paths.insert(package.join("build.rs"));
    }
    paths.extend(sources);
    for name in ["Cargo.toml", "Cargo.lock", "rust-toolchain", "rust-toolchain.toml"] {
        paths.insert(root.join(name));
    }
    let var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| PathBuf::from(v));
    let cargo_home = var("CARGO_HOME").or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    for dir in root.ancestors().map(|d| d.join(".cargo")).chain(cargo_home) {
        paths.insert(dir.join("config"));
        paths.insert(dir.join("config.toml"));
    }
    // The toolchain: the cargo that builds (`CARGO`, set by `cargo run`; without it, which
    // toolchain builds is not known, so nothing is remembered) and its rustc.
    let cargo = var("CARGO").filter(|p| p.is_absolute())?;
    paths.insert(cargo.with_file_name("rustc"));
    paths.insert(cargo);
    if let Some(rustc) = var("RUSTC").filter(|p| p.is_absolute()) {
        paths.insert(rustc);
    }
    paths.remove(executable);
    Some(paths.into_iter().map(Input::read).collect())
}

/// The prerequisites of a Makefile-style dep-info file as cargo writes it (`target: a b\ c`),
/// relative ones taken from `root`.
pub fn dep_info_paths(text: &str, root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((_, deps)) = line.split_once(": ") else { continue };
        let mut current = String::new();
        let mut chars = deps.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&' ') => {
                    current.push(' ');
                    chars.next();
                }
                ' ' => {
                    if !current.is_empty() {
                        out.push(root.join(std::mem::take(&mut current)));
                    }
                }
                c => current.push(c),
            }
        }
        if !current.is_empty() {
            out.push(root.join(current));
        }
    }
    out
}
