//! Shared fixtures: a per-run scratch directory, the committed cosign-signed image, and a helper
//! that runs a command and fails the test with its stderr.

use std::path::{Path, PathBuf};

use talos_ext_model::{Digest, Repository};
use talos_ext_process::{Command, Output};

/// A fresh, empty scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("talos-ext-sign").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// A file of `tests/data/cosign-signed/` (written by real cosign; see its README.md).
pub fn cosign_signed(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cosign-signed").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn repo() -> Repository {
    Repository::parse("ghcr.io/example/hello-world-service").unwrap()
}

pub fn digest(byte: u8) -> Digest {
    Digest::parse(&format!("sha256:{}", format!("{byte:02x}").repeat(32))).unwrap()
}

/// Runs `cmd`; panics with its command line and the last lines of its stderr when it fails.
#[track_caller]
pub fn run(cmd: Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("{e}"))
}
