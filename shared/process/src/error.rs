//! [`ProcessError`]: a command that could not start, did not succeed, or whose log could not be
//! written. Every message names the command and says where to look.

use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;

use crate::TAIL_LINES;

/// A command that could not run or did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The command ran and failed.
    #[error(transparent)]
    Failed(Box<Failed>),
    /// The command could not be started (not installed, not executable, bad directory).
    #[error(transparent)]
    Spawn(Box<SpawnFailed>),
    /// Preparing the command's log (or reading it back) failed.
    #[error("`{name}`: {action} {}: {cause}", .path.display())]
    Io { name: String, action: &'static str, path: PathBuf, cause: io::Error },
}

impl ProcessError {
    /// The failed command's details, when it ran and failed.
    pub fn failed(&self) -> Option<&Failed> {
        match self {
            ProcessError::Failed(f) => Some(f),
            _ => None,
        }
    }
}

/// A command that ran and failed: what [`ProcessError::Failed`] shows.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{name}` failed ({status})\n  command: {command}\n  in: {}{}\n--- last {TAIL_LINES} lines{} ---\n{tail}--- end ---",
    .dir.display(),
    .log.as_ref().map(|l| format!("\n  log: {}", l.display())).unwrap_or_default(),
    .log.as_ref().map(|l| format!(" of {}", l.display())).unwrap_or_else(|| " of its output".into())
)]
pub struct Failed {
    /// The command's name (a build step's `<build>-<phase>`, or the program).
    pub name: String,
    /// The full command line, shell-quoted.
    pub command: String,
    pub dir: PathBuf,
    pub status: ExitStatus,
    /// The command's log, with the whole output, when it had one.
    pub log: Option<PathBuf>,
    /// The last [`TAIL_LINES`] lines of its output (stderr for captured output).
    pub tail: String,
}

/// A command that could not be started: what [`ProcessError::Spawn`] shows.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{name}` could not start: {cause}\n  command: {command}\n  in: {}\n  PATH: {path}{}",
    .dir.display(),
    .hint.as_ref().map(|h| format!("\nhint: {h}")).unwrap_or_default()
)]
pub struct SpawnFailed {
    pub name: String,
    pub command: String,
    pub dir: PathBuf,
    /// `PATH` of the command.
    pub path: String,
    /// How to install the program, when the caller said.
    pub hint: Option<String>,
    pub cause: io::Error,
}
