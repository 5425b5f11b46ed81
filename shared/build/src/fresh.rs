//! Freshness of build steps: what makes a rerun of a build script redo only what changed.
//!
//! cargo reruns an extension's build script when one of its inputs changes (the crate's
//! `Cargo.toml`, `build.rs`, `native/`, `files/`, `patches/`, the pin and toolchain files, a
//! library stage it links; see `script`). Within that rerun, each driver keeps a stamp file,
//! `<work>/build/<name>.stamp`, recording a key per phase (`configure`, `make`, `install`, ...):
//!
//! - the **base key** of a run covers what every phase depends on: the driver and its name, the
//!   source tree (the pinned sha256 and patches of an unpacked source, or the contents of any
//!   other directory), the cross toolchain (its settings and the compiler's version) and the
//!   contents of the sysroot it builds against (the libraries and earlier installs);
//! - each **phase key** chains the previous key with the phase's command line, working directory,
//!   environment (without `MAKEFLAGS`, whose jobserver descriptors change every run, and the
//!   compiler launcher's `CCACHE_*`/`SCCACHE_*` settings) and any file
//!   the phase reads that the driver generated (a meson cross file, a cmake toolchain file).
//!
//! A phase whose key is recorded is skipped; the first phase whose key differs, and every phase
//! after it, runs (a rebuilt configure invalidates the make after it). A different base key
//! empties the build directory first. The stamp is rewritten before a phase runs (without that
//! phase) and after it succeeds, so a failed or interrupted phase is never recorded.
//!
//! What this does not track: a recipe that edits an unpacked source tree itself (beyond
//! `patches/`) must do so identically on every run, since the tree is keyed as unpacked.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::step::{Command, Ran};

/// Version of the key scheme: changing how keys are computed must change every key.
const SCHEME: &str = "talos-ext-build fresh v1";

/// One recorded phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Phase {
    name: String,
    key: String,
}

/// The stamp file's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    base: String,
    phases: Vec<Phase>,
}

/// The phases of one driver run (see the module docs).
#[derive(Debug)]
pub(crate) struct Phases {
    path: PathBuf,
    recorded: Record,
    done: Record,
    chain: String,
    stale: bool,
    ran: Vec<String>,
}

impl Phases {
    /// Reads the stamp at `path` for a run with `base` (a key from [`Key`]).
    pub(crate) fn load(path: &Path, base: String) -> Phases {
        let recorded: Record =
            fs::read(path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default();
        let stale = recorded.base != base;
        Phases {
            path: path.to_path_buf(),
            done: Record { base: base.clone(), phases: Vec::new() },
            recorded,
            chain: base,
            stale,
            ran: Vec::new(),
        }
    }

    /// Whether the recorded stamp was made from the same base (same sources, toolchain,
    /// sysroot): when not, the build directory must start empty.
    pub(crate) fn base_matches(&self) -> bool {
        self.recorded.base == self.done.base
    }

    /// Runs every phase from now on, whatever is recorded (their outputs are gone).
    pub(crate) fn invalidate(&mut self) {
        self.stale = true;
    }

    /// Runs `command` as phase `name` unless its key is recorded; `extra` is hashed into the key
    /// (contents of generated files the command reads). `before` runs only when the phase runs
    /// (e.g. emptying the install directory). Returns what the run left (its log), or `None`
    /// when the phase was fresh and did not run.
    pub(crate) fn run(
        &mut self,
        name: &str,
        command: &Command,
        extra: &[&[u8]],
        before: impl FnOnce() -> Result<()>,
    ) -> Result<Option<Ran>> {
        let mut key = Key::new(&self.chain);
        key.text("phase", name).command(command);
        for bytes in extra {
            key.bytes("extra", bytes);
        }
        let phase = Phase { name: name.to_string(), key: key.finish() };
        let index = self.done.phases.len();
        if !self.stale && self.recorded.phases.get(index) == Some(&phase) {
            self.chain = phase.key.clone();
            self.done.phases.push(phase);
            return Ok(None);
        }
        self.stale = true;
        self.save()?;
        before()?;
        let ran = command.run()?;
        self.chain = phase.key.clone();
        self.done.phases.push(phase);
        self.ran.push(name.to_string());
        self.save()?;
        Ok(Some(ran))
    }

    /// The phases that ran (were not fresh) in this run.
    pub(crate) fn ran(&self) -> &[String] {
        &self.ran
    }

    fn save(&self) -> Result<()> {
        let tmp = self.path.with_extension("stamp.tmp");
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        fs::write(&tmp, serde_json::to_vec_pretty(&self.done)?)
            .with_context(|| format!("writing {}", tmp.display()))?;
        fs::rename(&tmp, &self.path).with_context(|| format!("renaming {}", tmp.display()))
    }
}

/// A sha256 over labelled parts (each part is length-prefixed, so parts cannot run together).
#[derive(Debug, Clone)]
pub(crate) struct Key(Sha256);

impl Key {
    /// A key chained to `parent` (a previous key or the scheme itself).
    pub(crate) fn new(parent: &str) -> Key {
        let mut key = Key(Sha256::new());
        key.text("scheme", SCHEME).text("parent", parent);
        key
    }

    pub(crate) fn bytes(&mut self, label: &str, bytes: &[u8]) -> &mut Key {
        for part in [label.as_bytes(), bytes] {
            self.0.update((part.len() as u64).to_le_bytes());
            self.0.update(part);
        }
        self
    }

    pub(crate) fn text(&mut self, label: &str, text: &str) -> &mut Key {
        self.bytes(label, text.as_bytes())
    }

    /// A command: program, arguments, directory and environment (without `MAKEFLAGS`, and
    /// without the compiler launcher's own settings, `CCACHE_*`/`SCCACHE_*`, which never change
    /// what is built).
    pub(crate) fn command(&mut self, command: &Command) -> &mut Key {
        self.text("command", &command.command_line());
        self.text("dir", &command.get_dir().map(|d| d.display().to_string()).unwrap_or_default());
        let keyed = |name: &str| {
            name != "MAKEFLAGS"
                && !talos_ext_model::handoff::CC_WRAPPER_ENV_PREFIXES.iter().any(|p| name.starts_with(p))
        };
        for (name, value) in command.get_env().iter().filter(|(name, _)| keyed(name)) {
            self.bytes(name, value.as_encoded_bytes());
        }
        self
    }

    pub(crate) fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// A digest of a directory tree's contents: every entry's relative path, kind and mode, a file's
/// bytes, a symlink's target; in sorted order, without times or owners. A missing directory has
/// the digest of an empty one.
pub(crate) fn tree_digest(dir: &Path) -> Result<String> {
    tree_digest_except(dir, "")
}

/// [`tree_digest`] without the top-level entry named `skip`.
pub(crate) fn tree_digest_except(dir: &Path, skip: &str) -> Result<String> {
    let mut hasher = Sha256::new();
    if dir.is_dir() {
        digest_dir(dir, Path::new(""), skip, &mut hasher)?;
    }
    Ok(hex::encode(hasher.finalize()))
}

fn digest_dir(root: &Path, rel: &Path, skip: &str, hasher: &mut Sha256) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = root.join(rel);
    for entry in talos_ext_fs::sorted_entries(&dir)? {
        if rel.as_os_str().is_empty() && entry.file_name() == skip {
            continue;
        }
        let rel = rel.join(entry.file_name());
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).with_context(|| format!("reading {}", path.display()))?;
        let name = rel.as_os_str().as_encoded_bytes();
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name);
        hasher.update(meta.permissions().mode().to_le_bytes());
        if meta.is_dir() {
            hasher.update(b"d");
            digest_dir(root, &rel, skip, hasher)?;
        } else if meta.file_type().is_symlink() {
            let target = fs::read_link(&path).with_context(|| format!("reading link {}", path.display()))?;
            hasher.update(b"l");
            hasher.update(target.as_os_str().as_encoded_bytes());
            hasher.update(b"\0");
        } else {
            hasher.update(b"f");
            hasher.update(meta.len().to_le_bytes());
            let mut file = fs::File::open(&path).with_context(|| format!("reading {}", path.display()))?;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = file.read(&mut buf).with_context(|| format!("reading {}", path.display()))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_digest_sees_contents_modes_links_and_names_but_not_times() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("t");
        fs::create_dir_all(d.join("sub")).unwrap();
        fs::write(d.join("sub/a"), "1").unwrap();
        std::os::unix::fs::symlink("sub/a", d.join("l")).unwrap();
        let first = tree_digest(&d).unwrap();
        filetime::set_file_mtime(d.join("sub/a"), filetime::FileTime::from_unix_time(1, 0)).unwrap();
        assert_eq!(tree_digest(&d).unwrap(), first, "times do not count");
        fs::write(d.join("sub/a"), "2").unwrap();
        let changed = tree_digest(&d).unwrap();
        assert_ne!(changed, first);
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(d.join("sub/a"), fs::Permissions::from_mode(0o700)).unwrap();
        assert_ne!(tree_digest(&d).unwrap(), changed);
        assert_eq!(tree_digest(&tmp.path().join("missing")).unwrap(), tree_digest(&tmp.path().join("x")).unwrap());
    }

    #[test]
    fn phases_skip_what_is_recorded_and_rerun_from_the_first_change() {
        let tmp = tempfile::tempdir().unwrap();
        let stamp = tmp.path().join("b.stamp");
        let out = tmp.path().join("out");
        let cmd = |phase: &str, word: &str| {
            Command::new("sh").args(["-c", &format!("echo {phase}-{word} >> {}", out.display())])
        };
        let run = |words: [&str; 3], base: &str| {
            let mut phases = Phases::load(&stamp, base.to_string());
            for (phase, word) in ["configure", "make", "install"].into_iter().zip(words) {
                phases.run(phase, &cmd(phase, word), &[], || Ok(())).unwrap();
            }
            phases.ran().to_vec()
        };
        assert_eq!(run(["a", "a", "a"], "base"), ["configure", "make", "install"]);
        assert!(run(["a", "a", "a"], "base").is_empty(), "nothing changed, nothing runs");
        assert_eq!(run(["a", "b", "a"], "base"), ["make", "install"], "a changed make reruns what follows");
        assert_eq!(run(["a", "b", "a"], "other"), ["configure", "make", "install"], "a new base reruns all");
        let phases = Phases::load(&stamp, "other".into());
        assert!(phases.base_matches());
        assert!(!Phases::load(&stamp, "third".into()).base_matches());
    }

    #[test]
    fn a_failed_phase_is_not_recorded() {
        let tmp = tempfile::tempdir().unwrap();
        let stamp = tmp.path().join("b.stamp");
        let mut phases = Phases::load(&stamp, "base".into());
        phases.run("configure", &Command::new("true"), &[], || Ok(())).unwrap();
        assert!(phases.run("make", &Command::new("false"), &[], || Ok(())).is_err());
        let mut again = Phases::load(&stamp, "base".into());
        assert!(again.run("configure", &Command::new("true"), &[], || Ok(())).unwrap().is_none());
        assert!(
            again.run("make", &Command::new("true"), &[], || Ok(())).unwrap().is_some(),
            "the failed phase runs again"
        );
    }
}
