//! [`Command`]: one external program with its arguments, directory, environment, umask and log,
//! run through `duct`.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

pub use std::process::Output;

use crate::error::{Failed, ProcessError, SpawnFailed};
use crate::log::{create_numbered, file_tail, shell_quote, text_tail};
use crate::{Env, TAIL_LINES};

/// The umask of every child unless [`Command::umask`] says otherwise: files are created `0644`
/// and directories `0755`, whatever the caller's shell has.
pub const DEFAULT_UMASK: u32 = 0o022;

/// When set (to anything but empty or `0`), logged commands also stream their output to stderr
/// (`cargo xtask build --verbose` sets it for build scripts and asks cargo to show their output).
pub const ENV_VERBOSE: &str = "TALOS_EXT_VERBOSE";

/// Where a command's output goes when it is [`Command::run`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Log {
    /// Kept in memory only: a failure shows its last lines, success discards it.
    #[default]
    Capture,
    /// A new file `<dir>/NN-<name>.log`, numbered in the order commands ran.
    Dir(PathBuf),
    /// Appended to this file (several commands of one task in one log).
    File(PathBuf),
}

/// What a successful [`Command::run`] left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    /// The log with the command's whole output, when it had one.
    pub log: Option<PathBuf>,
}

/// One external program to run (see the crate docs for what every command gets).
#[derive(Debug, Clone)]
#[must_use = "a command does nothing until it is run"]
pub struct Command {
    name: String,
    program: OsString,
    args: Vec<OsString>,
    dir: Option<PathBuf>,
    env: Env,
    umask: u32,
    log: Log,
    hint: Option<String>,
    stdin: Option<Vec<u8>>,
    stream: bool,
}

impl Command {
    /// `program` (a name looked up on the command's `PATH`, or a path) with [`Env::base`], the
    /// [`DEFAULT_UMASK`], the caller's working directory and its output captured. Its name (in
    /// logs and errors) is the program's file name until [`Command::name`] sets another.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        let program = program.as_ref().to_os_string();
        let name = Path::new(&program).file_name().unwrap_or(&program).to_string_lossy().into_owned();
        Command {
            name,
            program,
            args: Vec::new(),
            dir: None,
            env: Env::base(),
            umask: DEFAULT_UMASK,
            log: Log::Capture,
            hint: None,
            stdin: None,
            stream: verbose(),
        }
    }

    /// The name logs and errors use (`open-iscsi-configure`, `kernel-prepare`).
    pub fn name(mut self, name: &str) -> Command {
        self.name = name.to_string();
        self
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Command {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// The working directory (default: the caller's).
    pub fn dir(mut self, dir: impl AsRef<Path>) -> Command {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Sets one environment variable.
    pub fn env(mut self, name: &str, value: impl AsRef<OsStr>) -> Command {
        self.env.set(name, value);
        self
    }

    /// Removes one environment variable.
    pub fn env_remove(mut self, name: &str) -> Command {
        self.env.remove(name);
        self
    }

    /// Replaces the whole environment.
    pub fn envs(mut self, env: Env) -> Command {
        self.env = env;
        self
    }

    /// The caller's whole environment instead of [`Env::base`] (see [`Env::inherited`]).
    pub fn inherit_env(self) -> Command {
        self.envs(Env::inherited())
    }

    /// The environment, to change in place.
    pub fn env_mut(&mut self) -> &mut Env {
        &mut self.env
    }

    /// The umask of the child (default [`DEFAULT_UMASK`]).
    pub fn umask(mut self, mask: u32) -> Command {
        self.umask = mask;
        self
    }

    /// Where [`Command::run`] writes the output (default [`Log::Capture`]).
    pub fn log(mut self, log: Log) -> Command {
        self.log = log;
        self
    }

    /// A new numbered log in `dir` ([`Log::Dir`]).
    pub fn log_dir(self, dir: impl AsRef<Path>) -> Command {
        self.log(Log::Dir(dir.as_ref().to_path_buf()))
    }

    /// How to install the program, shown when it cannot be started.
    pub fn hint(mut self, hint: &str) -> Command {
        self.hint = Some(hint.to_string());
        self
    }

    /// Whether [`Command::run`] also streams a logged command's output to stderr (default: when
    /// [`ENV_VERBOSE`] is set).
    pub fn stream_output(mut self, on: bool) -> Command {
        self.stream = on;
        self
    }

    /// Bytes for the child's stdin (default: stdin is closed).
    pub fn stdin_bytes(mut self, bytes: impl Into<Vec<u8>>) -> Command {
        self.stdin = Some(bytes.into());
        self
    }

    /// The command's name.
    pub fn get_name(&self) -> &str {
        &self.name
    }

    /// The program.
    pub fn get_program(&self) -> &OsStr {
        &self.program
    }

    /// The arguments.
    pub fn get_args(&self) -> &[OsString] {
        &self.args
    }

    /// The environment.
    pub fn get_env(&self) -> &Env {
        &self.env
    }

    /// The working directory, when one was set.
    pub fn get_dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The command line, shell-quoted (for logs and errors).
    pub fn command_line(&self) -> String {
        std::iter::once(&self.program).chain(&self.args).map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
    }

    /// Runs the command to completion with stdout and stderr going to its [`Log`] (and, with
    /// [`ENV_VERBOSE`], to stderr as well). Fails when it cannot start or exits unsuccessfully.
    pub fn run(&self) -> Result<Ran, ProcessError> {
        let (path, mut file) = match &self.log {
            Log::Capture => {
                let out = self.spawn_error(self.expression().stderr_to_stdout().stdout_capture().unchecked().run())?;
                return match out.status.success() {
                    true => Ok(Ran { log: None }),
                    false => Err(self.failed(out.status, None, text_tail(&out.stdout, TAIL_LINES))),
                };
            }
            Log::Dir(dir) => {
                fs::create_dir_all(dir).map_err(self.io("creating", dir))?;
                create_numbered(dir, &self.name).map_err(self.io("creating a log in", dir))?
            }
            Log::File(path) => {
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir).map_err(self.io("creating", dir))?;
                }
                let file = OpenOptions::new().create(true).append(true).open(path).map_err(self.io("opening", path))?;
                (path.clone(), file)
            }
        };
        file.write_all(self.log_header().as_bytes()).map_err(self.io("writing", &path))?;
        let start = file.metadata().map_err(self.io("reading", &path))?.len();
        let status = if self.stream { self.run_teeing(&file, &path)? } else { self.run_into(&file, &path)? };
        let tail = match status.success() {
            true => None,
            false => Some(file_tail(&path, start, TAIL_LINES).map_err(self.io("reading", &path))?),
        };
        let _ = writeln!(file, "\n# {status}");
        drop(file);
        match tail {
            Some(tail) => Err(self.failed(status, Some(path), tail)),
            None => Ok(Ran { log: Some(path) }),
        }
    }

    /// Runs the command to completion with stdout and stderr captured, and returns them when it
    /// succeeded; a failure shows the last lines of stderr (or stdout, when stderr is empty).
    /// The [`Log`] is not used.
    pub fn output(&self) -> Result<Output, ProcessError> {
        let out = self.output_unchecked()?;
        if out.status.success() {
            return Ok(out);
        }
        let shown = if out.stderr.iter().all(u8::is_ascii_whitespace) { &out.stdout } else { &out.stderr };
        Err(self.failed(out.status, None, text_tail(shown, TAIL_LINES)))
    }

    /// Like [`Command::output`], but an unsuccessful exit is returned, not an error: only a
    /// command that cannot start fails.
    pub fn output_unchecked(&self) -> Result<Output, ProcessError> {
        self.spawn_error(self.expression().stdout_capture().stderr_capture().unchecked().run())
    }

    /// The command's stdout as text (lossy UTF-8) when it succeeds (see [`Command::output`]).
    pub fn read(&self) -> Result<String, ProcessError> {
        Ok(String::from_utf8_lossy(&self.output()?.stdout).into_owned())
    }

    /// Starts the command in the background (a server a test talks to), its output going to
    /// its log ([`Log::Capture`] discards it).
    pub fn spawn(&self) -> Result<Spawned, ProcessError> {
        let expression = self.expression().stderr_to_stdout().unchecked();
        let expression = match &self.log {
            Log::Capture => expression.stdout_null(),
            Log::Dir(_) | Log::File(_) => {
                let (path, file) = match &self.log {
                    Log::Dir(dir) => {
                        fs::create_dir_all(dir).map_err(self.io("creating", dir))?;
                        create_numbered(dir, &self.name).map_err(self.io("creating a log in", dir))?
                    }
                    Log::File(path) => {
                        let file = OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(path)
                            .map_err(self.io("opening", path))?;
                        (path.clone(), file)
                    }
                    Log::Capture => unreachable!("handled above"),
                };
                let _ = (&file).write_all(self.log_header().as_bytes());
                expression.stdout_file(file.try_clone().map_err(self.io("reopening", &path))?)
            }
        };
        let handle = self.spawn_error(expression.start())?;
        Ok(Spawned { name: self.name.clone(), handle })
    }

    /// The command as a `std::process::Command` (program, arguments, directory, exactly this
    /// environment, the umask set in the child, stdin closed), for a caller that handles the
    /// child's pipes itself: `cargo xtask` reads cargo's JSON messages from stdout while its
    /// stderr reaches the user, and hands the terminal to the engine. Logs, tails and errors
    /// are then the caller's; everything else should use [`Command::run`] and its siblings.
    #[allow(clippy::disallowed_methods)] // the one place that makes a std Command
    pub fn std_command(&self) -> std::process::Command {
        let mut command = std::process::Command::new(&self.program);
        command.args(&self.args).env_clear().envs(self.env.iter()).stdin(std::process::Stdio::null());
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        set_child_umask(&mut command, self.umask);
        command
    }

    /// The duct expression: program, arguments, directory, exactly [`Self::env`], stdin, umask.
    fn expression(&self) -> duct::Expression {
        let umask = self.umask;
        let mut expression =
            duct::cmd(&self.program, &self.args).full_env(self.env.iter()).before_spawn(move |command| {
                set_child_umask(command, umask);
                Ok(())
            });
        if let Some(dir) = &self.dir {
            expression = expression.dir(dir);
        }
        match &self.stdin {
            Some(bytes) => expression.stdin_bytes(bytes.clone()),
            None => expression.stdin_null(),
        }
    }

    /// Runs with stdout and stderr into `file`.
    fn run_into(&self, file: &File, path: &Path) -> Result<ExitStatus, ProcessError> {
        let out = file.try_clone().map_err(self.io("reopening", path))?;
        let output = self.spawn_error(self.expression().stderr_to_stdout().stdout_file(out).unchecked().run())?;
        Ok(output.status)
    }

    /// Runs with stdout and stderr into `file` and to this process' stderr.
    fn run_teeing(&self, mut file: &File, path: &Path) -> Result<ExitStatus, ProcessError> {
        let reader = self.spawn_error(self.expression().stderr_to_stdout().unchecked().reader())?;
        let mut buf = [0u8; 16 * 1024];
        let mut stderr = io::stderr();
        loop {
            let n = (&reader).read(&mut buf).map_err(self.io("reading the output for", path))?;
            if n == 0 {
                break;
            }
            file.write_all(&buf[..n]).map_err(self.io("writing", path))?;
            let _ = stderr.write_all(&buf[..n]);
        }
        match reader.try_wait().map_err(self.io("waiting for the command logging to", path))? {
            Some(output) => Ok(output.status),
            None => Err(self.io("waiting for the command logging to", path)(io::Error::other("still running"))),
        }
    }

    fn log_header(&self) -> String {
        let mut h = String::new();
        let _ = writeln!(h, "# step: {}", self.name);
        let _ = writeln!(h, "# dir: {}", self.shown_dir().display());
        let _ = writeln!(h, "# command: {}", self.command_line());
        let _ = writeln!(h, "# umask: {:04o}", self.umask);
        for (k, v) in self.env.iter() {
            let _ = writeln!(h, "# env: {k}={}", v.to_string_lossy());
        }
        h.push('\n');
        h
    }

    fn shown_dir(&self) -> PathBuf {
        self.dir.clone().or_else(|| std::env::current_dir().ok()).unwrap_or_default()
    }

    fn io<'a>(&'a self, action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ProcessError + 'a {
        move |cause| ProcessError::Io { name: self.name.clone(), action, path: path.to_path_buf(), cause }
    }

    fn spawn_error<T>(&self, result: io::Result<T>) -> Result<T, ProcessError> {
        result.map_err(|cause| {
            ProcessError::Spawn(Box::new(SpawnFailed {
                name: self.name.clone(),
                command: self.command_line(),
                dir: self.shown_dir(),
                path: self.env.get_str("PATH").unwrap_or_default(),
                hint: self.hint.clone(),
                cause,
            }))
        })
    }

    fn failed(&self, status: ExitStatus, log: Option<PathBuf>, tail: String) -> ProcessError {
        ProcessError::Failed(Box::new(Failed {
            name: self.name.clone(),
            command: self.command_line(),
            dir: self.shown_dir(),
            status,
            log,
            tail,
        }))
    }
}

/// A command started with [`Command::spawn`]; killed and reaped when dropped.
#[derive(Debug)]
pub struct Spawned {
    name: String,
    handle: duct::Handle,
}

impl Spawned {
    /// The process ids (one: the program).
    pub fn pids(&self) -> Vec<u32> {
        self.handle.pids()
    }

    /// Whether it is still running (without waiting).
    pub fn is_running(&self) -> bool {
        matches!(self.handle.try_wait(), Ok(None))
    }

    /// Kills it (if still running) and waits for it to exit.
    pub fn kill(&self) -> io::Result<()> {
        self.handle.kill()?;
        self.handle.wait().map(drop)
    }

    /// The name it was started with.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

fn verbose() -> bool {
    std::env::var_os(ENV_VERBOSE).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Sets the child's umask between `fork` and `exec`; the calling process' umask is unchanged.
#[allow(unsafe_code)]
fn set_child_umask(command: &mut std::process::Command, mask: u32) {
    use std::os::unix::process::CommandExt as _;
    let mode = rustix::fs::Mode::from_raw_mode(mask);
    // SAFETY: the hook runs in the forked child before `exec`; it only makes the umask(2) system
    // call, which is async-signal-safe, and neither allocates nor takes a lock.
    unsafe {
        command.pre_exec(move || {
            rustix::process::umask(mode);
            Ok(())
        });
    }
}
