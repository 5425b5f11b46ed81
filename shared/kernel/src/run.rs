//! Running the preparation programs (`apt-get`, `dpkg -x`, `make`) with their output in a log
//! file, so a failure shows the last lines and where the whole log is.

use std::fs::{self, File};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::KernelError;

/// How many log lines a failure shows.
const TAIL: usize = 40;

/// Runs `cmd` with stdout and stderr appended to `log`; `hint` says how to install the program.
pub(crate) fn run_logged(toolchain: &str, cmd: &mut Command, log: &Path, hint: &str) -> Result<(), KernelError> {
    if let Some(dir) = log.parent() {
        fs::create_dir_all(dir).map_err(KernelError::io("create directory", dir))?;
    }
    let file = File::options().create(true).append(true).open(log).map_err(KernelError::io("open log", log))?;
    let err = file.try_clone().map_err(KernelError::io("open log", log))?;
    let command = format!("{cmd:?}").replace('"', "");
    let status = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(err))
        .env("LC_ALL", "C")
        .status()
        .map_err(|source| KernelError::Spawn {
            toolchain: toolchain.to_string(),
            command: command.clone(),
            hint: hint.to_string(),
            cause: source,
        })?;
    if status.success() {
        return Ok(());
    }
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail: String = lines[lines.len().saturating_sub(TAIL)..].iter().map(|l| format!("{l}\n")).collect();
    Err(KernelError::Command {
        toolchain: toolchain.to_string(),
        command,
        status: status.to_string(),
        log: log.to_path_buf(),
        tail,
    })
}

/// Runs `cmd` and returns its stdout when it succeeds, `None` when it ran and failed.
pub(crate) fn output(toolchain: &str, cmd: &mut Command, hint: &str) -> Result<Option<String>, KernelError> {
    let command = format!("{cmd:?}").replace('"', "");
    let out = cmd.stdin(Stdio::null()).env("LC_ALL", "C").output().map_err(|source| KernelError::Spawn {
        toolchain: toolchain.to_string(),
        command,
        hint: hint.to_string(),
        cause: source,
    })?;
    Ok(out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned()))
}
