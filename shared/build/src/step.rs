//! Running one build command ("step") in a controlled environment, with its output in a log file.
//!
//! What this module owns:
//! - [`Step`]: a command with an explicit working directory and an explicit environment, run
//!   through `duct`. stdout and stderr both go to `<work>/logs/NN-<step-name>.log` (`NN` counts up
//!   per work directory, so the logs read in the order the steps ran); the log starts with the
//!   directory, command line and environment. A failure is a [`StepError`] naming the step, the
//!   full command line, the last [`TAIL_LINES`] lines of the log and the log's path.
//! - [`BuildEnv`]: the environment of a step. It never inherits the caller's environment: it
//!   starts from `PATH` ([`DEFAULT_PATH`]), `HOME` (a directory under the work dir), `LC_ALL=C`,
//!   `TZ=UTC` and `SOURCE_DATE_EPOCH`, adds cargo's jobserver ([`Jobs`]) and, for C builds, the
//!   cross toolchain's variables.
//! - [`BuildSetup`]: the per-arch conventions every driver shares — the musl compiler line, the
//!   `CFLAGS`/`CPPFLAGS`/`LDFLAGS` conventions, the sysroot that dependencies are installed into
//!   and `pkg-config` is confined to, the uapi header directory, the log directory.
//!
//! Flag conventions (Talos' `bldr` defaults plus what a reproducible cross build needs):
//! - `CC` = the arch's gcc driver with musl's specs file (see [`CrossToolchain`]);
//! - `CFLAGS` = the toolchain's `-O2 -g0 ...` and `-ffile-prefix-map=<work>=/build`;
//! - `CPPFLAGS` = `-I<sysroot>/usr/include -idirafter <uapi>`: the sysroot's headers, then the
//!   Linux uapi headers *after* musl's own;
//! - `LDFLAGS` = `-s -L<sysroot>/usr/lib -Wl,--build-id=sha1`, plus `-static` for
//!   [`Linkage::Static`];
//! - `PKG_CONFIG` = the host's `pkg-config` with `PKG_CONFIG_LIBDIR` (which *replaces* the default
//!   search path) and `PKG_CONFIG_SYSROOT_DIR` pointing into the sysroot, so host `.pc` files are
//!   never seen and `-I/usr/include` from a sysroot `.pc` becomes `-I<sysroot>/usr/include`.
//!
//! The sysroot holds dependencies built for the target, installed with prefix `/usr`
//! (`DESTDIR=<work>/sysroot`); see `drivers`.
//!
//! Parallelism: cargo hands build scripts a jobserver in `CARGO_MAKEFLAGS`
//! (`-j --jobserver-fds=R,W --jobserver-auth=R,W`), and the pipe's descriptors are inherited by
//! the build script and so by every step. Passing that string as `MAKEFLAGS` makes `make` a
//! jobserver client: it runs its first job on the build script's own token and takes a token
//! from cargo's pool for each further job, so `make` and the crates cargo compiles at the same
//! time never run more than `cargo -j` jobs together. `make` must then get no `-j` of its own
//! (that would start a private pool), which [`Jobs::make_args`] follows. ninja (and so meson and
//! cmake's Ninja generator) does not speak this jobserver: it gets `-j` from cargo's `NUM_JOBS`,
//! or 2 outside cargo ([`Jobs::count`]).
//!
//! Deliberately not here: what to run (the drivers in `drivers` decide configure/make/ninja
//! command lines), arch knowledge (in [`CrossToolchain`]), and installing into the rootfs (in
//! `Stage`).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use crate::stage::Stage;
use crate::toolchain::{CrossToolchain, ToolchainError};

/// `PATH` of every step: the system directories only (no cargo, rustup or user directories).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How many lines of a failed step's log its [`StepError`] shows.
pub const TAIL_LINES: usize = 40;

/// Parallel jobs when cargo gives no `NUM_JOBS` (tests, `cargo xtask` outside a build script).
pub const DEFAULT_JOBS: usize = 2;

/// The environment variables the cross toolchain sets (see [`BuildSetup::cross_env`]). meson and
/// cmake read these as the *build* machine's compiler when cross compiling, so their drivers run
/// without them and get the toolchain from a cross file instead.
pub const TOOLCHAIN_VARS: &[&str] =
    &["CC", "CPP", "AR", "LD", "NM", "OBJCOPY", "RANLIB", "STRIP", "CFLAGS", "CPPFLAGS", "LDFLAGS"];

/// A step that could not run or did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The command ran and failed.
    #[error(transparent)]
    Failed(Box<StepFailed>),
    /// The command could not be started (not installed, not executable, bad directory).
    #[error(transparent)]
    Spawn(Box<StepSpawnFailed>),
    /// Preparing a step or its log failed.
    #[error("build step `{step}`: {action} {}: {cause}", .path.display())]
    Io { step: String, action: &'static str, path: PathBuf, cause: io::Error },
    /// The toolchain is missing or the uapi header directory could not be made.
    #[error(transparent)]
    Toolchain(#[from] ToolchainError),
}

/// A step whose command ran and failed: what [`StepError::Failed`] shows.
#[derive(Debug, thiserror::Error)]
#[error(
    "build step `{step}` failed ({status})\n  command: {command}\n  in: {}\n  log: {}\n\
     --- last {TAIL_LINES} lines of {} ---\n{tail}--- end of log ---",
    .dir.display(),
    .log.display(),
    .log.display()
)]
pub struct StepFailed {
    pub step: String,
    /// The full command line, shell-quoted.
    pub command: String,
    pub dir: PathBuf,
    pub status: ExitStatus,
    /// The step's log, with the whole output.
    pub log: PathBuf,
    /// The last [`TAIL_LINES`] lines of the log.
    pub tail: String,
}

/// A step whose command could not be started: what [`StepError::Spawn`] shows.
#[derive(Debug, thiserror::Error)]
#[error(
    "build step `{step}` could not start: {source}\n  command: {command}\n  in: {}\n  PATH: {path}\n  log: {}",
    .dir.display(),
    .log.display()
)]
pub struct StepSpawnFailed {
    pub step: String,
    pub command: String,
    pub dir: PathBuf,
    /// `PATH` of the step.
    pub path: String,
    pub log: PathBuf,
    pub source: io::Error,
}

/// Whether programs are linked statically (the default) or against musl's dynamic loader.
///
/// Static is the default because a Talos node is not guaranteed to have musl's loader
/// (`/lib/ld-musl-<arch>.so.1`) where an extension's binaries run: a static binary needs
/// nothing but the kernel. [`Linkage::Dynamic`] gives binaries whose interpreter is musl's
/// loader, for extensions that ship or otherwise know they have one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Linkage {
    #[default]
    Static,
    Dynamic,
}

/// Parallelism of build tools (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jobs {
    /// cargo's jobserver, passed as `MAKEFLAGS`; `None` outside a build script or when its
    /// descriptors are not open in this process.
    pub jobserver: Option<String>,
    /// `-j` for tools without jobserver support, and for `make` when there is no jobserver.
    pub count: usize,
}

impl Jobs {
    /// Reads `CARGO_MAKEFLAGS` (or `MAKEFLAGS`) and `NUM_JOBS` from this process' environment.
    pub fn from_env() -> Jobs {
        let var = |name| std::env::var(name).ok();
        Jobs::from_vars(var("CARGO_MAKEFLAGS").as_deref(), var("MAKEFLAGS").as_deref(), var("NUM_JOBS").as_deref())
    }

    /// [`Jobs::from_env`] on given values. A jobserver is kept only when its descriptors are open
    /// here (or its fifo exists): a stale one would make `make` fall back to one job.
    pub fn from_vars(cargo_makeflags: Option<&str>, makeflags: Option<&str>, num_jobs: Option<&str>) -> Jobs {
        let jobserver = [cargo_makeflags, makeflags]
            .into_iter()
            .flatten()
            .find(|flags| jobserver_usable(flags))
            .map(|flags| flags.trim().to_string());
        let count = num_jobs.and_then(|n| n.trim().parse().ok()).filter(|&n| n > 0).unwrap_or(DEFAULT_JOBS);
        Jobs { jobserver, count }
    }

    /// Arguments for `make`: none with a jobserver (it comes through `MAKEFLAGS`), else `-jN`.
    pub fn make_args(&self) -> Vec<String> {
        match self.jobserver {
            Some(_) => Vec::new(),
            None => vec![format!("-j{}", self.count)],
        }
    }

    /// Arguments for ninja and `meson compile`: `-j N`.
    pub fn ninja_args(&self) -> Vec<String> {
        vec!["-j".into(), self.count.to_string()]
    }
}

/// Whether `flags` (a `MAKEFLAGS` value) names a jobserver this process can hand down.
fn jobserver_usable(flags: &str) -> bool {
    let auth = flags
        .split_whitespace()
        .find_map(|w| w.strip_prefix("--jobserver-auth=").or_else(|| w.strip_prefix("--jobserver-fds=")));
    let Some(auth) = auth else { return false };
    if let Some(fifo) = auth.strip_prefix("fifo:") {
        return Path::new(fifo).exists();
    }
    let fds: Vec<&str> = auth.split(',').collect();
    fds.len() == 2 && fds.iter().all(|fd| fd.parse::<u32>().is_ok() && Path::new("/proc/self/fd").join(fd).exists())
}

/// The environment of a step: exactly these variables, nothing inherited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildEnv {
    vars: BTreeMap<String, OsString>,
}

impl BuildEnv {
    /// An empty environment (not even `PATH`).
    pub fn empty() -> BuildEnv {
        BuildEnv::default()
    }

    /// The base of every step: `PATH`, `HOME`, `LC_ALL=C`, `TZ=UTC`, `SOURCE_DATE_EPOCH`, and
    /// `MAKEFLAGS` when there is a jobserver.
    pub fn clean(home: &Path, source_date_epoch: u64, jobs: &Jobs) -> BuildEnv {
        let mut env = BuildEnv::empty();
        env.set("PATH", DEFAULT_PATH)
            .set("HOME", home)
            .set("LC_ALL", "C")
            .set("TZ", "UTC")
            .set("SOURCE_DATE_EPOCH", source_date_epoch.to_string());
        if let Some(flags) = &jobs.jobserver {
            env.set("MAKEFLAGS", flags);
        }
        env
    }

    /// Sets a variable.
    pub fn set(&mut self, name: &str, value: impl AsRef<OsStr>) -> &mut BuildEnv {
        self.vars.insert(name.to_string(), value.as_ref().to_os_string());
        self
    }

    /// Appends space-separated words to a variable (sets it when unset).
    pub fn append(&mut self, name: &str, words: &str) -> &mut BuildEnv {
        let value = match self.vars.get(name) {
            Some(old) if !old.is_empty() => {
                let mut v = old.clone();
                v.push(" ");
                v.push(words);
                v
            }
            _ => OsString::from(words),
        };
        self.vars.insert(name.to_string(), value);
        self
    }

    /// Removes a variable.
    pub fn remove(&mut self, name: &str) -> &mut BuildEnv {
        self.vars.remove(name);
        self
    }

    /// A variable's value.
    pub fn get(&self, name: &str) -> Option<&OsStr> {
        self.vars.get(name).map(OsString::as_os_str)
    }

    /// A variable's value as text (lossy).
    pub fn get_str(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| v.to_string_lossy().into_owned())
    }

    /// All variables, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &OsStr)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_os_str()))
    }
}

/// One arch's build conventions, shared by every step and driver (see the module docs).
#[derive(Debug, Clone)]
pub struct BuildSetup {
    pub toolchain: CrossToolchain,
    /// The stage's scratch directory; mapped to `/build` in debug info and `__FILE__`.
    pub work: PathBuf,
    /// Where target dependencies are installed (prefix `/usr`) and found: `<work>/sysroot`.
    pub sysroot: PathBuf,
    /// The Linux uapi header links: `<work>/uapi-<arch>`.
    pub uapi: PathBuf,
    /// `HOME` of every step: `<work>/home`.
    pub home: PathBuf,
    /// Step logs: `<work>/logs`.
    pub logs: PathBuf,
    pub source_date_epoch: u64,
    pub jobs: Jobs,
}

impl BuildSetup {
    /// Creates the directories (sysroot, home, logs, uapi links) under `work`.
    pub fn new(toolchain: CrossToolchain, work: &Path, source_date_epoch: u64) -> Result<BuildSetup, StepError> {
        let setup = BuildSetup {
            uapi: toolchain.uapi_include_dir(work)?,
            toolchain,
            work: work.to_path_buf(),
            sysroot: work.join("sysroot"),
            home: work.join("home"),
            logs: work.join("logs"),
            source_date_epoch,
            jobs: Jobs::from_env(),
        };
        for dir in
            [setup.sysroot.join("usr/include"), setup.sysroot.join("usr/lib"), setup.home.clone(), setup.logs.clone()]
        {
            fs::create_dir_all(&dir).map_err(|source| StepError::Io {
                step: "setup".into(),
                action: "creating",
                path: dir.clone(),
                cause: source,
            })?;
        }
        Ok(setup)
    }

    /// The compiler as a command: the gcc driver and musl's specs flags.
    pub fn cc(&self) -> Vec<String> {
        let mut cc = vec![self.toolchain.cc.display().to_string()];
        cc.extend(self.toolchain.cc_musl_flags.iter().cloned());
        cc
    }

    /// `CFLAGS`: optimisation/target flags and the work-dir prefix map.
    pub fn cflags(&self) -> Vec<String> {
        let mut flags = self.toolchain.cflags.clone();
        flags.extend(CrossToolchain::prefix_map_flags(&[(&self.work, "/build")]));
        flags
    }

    /// `CPPFLAGS`: the sysroot's headers, then the uapi headers after musl's.
    pub fn cppflags(&self) -> Vec<String> {
        vec![
            format!("-I{}", self.sysroot.join("usr/include").display()),
            "-idirafter".into(),
            self.uapi.display().to_string(),
        ]
    }

    /// `LDFLAGS` for programs: stripped (Talos' `-s`), the sysroot's libraries, a build id, and
    /// `-static` for [`Linkage::Static`].
    pub fn ldflags(&self, linkage: Linkage) -> Vec<String> {
        let mut flags = vec![
            "-s".to_string(),
            format!("-L{}", self.sysroot.join("usr/lib").display()),
            "-Wl,--build-id=sha1".into(),
        ];
        if linkage == Linkage::Static {
            flags.push("-static".into());
        }
        flags
    }

    /// `PKG_CONFIG_LIBDIR`: the sysroot's `.pc` directories only.
    pub fn pkg_config_libdir(&self) -> String {
        ["usr/lib/pkgconfig", "usr/share/pkgconfig"]
            .iter()
            .map(|d| self.sysroot.join(d).display().to_string())
            .collect::<Vec<_>>()
            .join(":")
    }

    /// [`BuildEnv::clean`] plus `pkg-config` confined to the sysroot. No compiler variables:
    /// what meson and cmake steps run with.
    pub fn base_env(&self) -> BuildEnv {
        let mut env = BuildEnv::clean(&self.home, self.source_date_epoch, &self.jobs);
        env.set("PKG_CONFIG", "pkg-config")
            .set("PKG_CONFIG_LIBDIR", self.pkg_config_libdir())
            .set("PKG_CONFIG_SYSROOT_DIR", &self.sysroot)
            .set("PKG_CONFIG_PATH", "");
        env
    }

    /// [`BuildSetup::base_env`] plus the cross toolchain ([`TOOLCHAIN_VARS`]): what autotools
    /// and make steps run with. `CXX` is left unset: the musl toolchains are C only.
    pub fn cross_env(&self, linkage: Linkage) -> BuildEnv {
        let tc = &self.toolchain;
        let mut env = self.base_env();
        env.set("CC", self.cc().join(" "))
            .set("CPP", format!("{} -E", self.cc().join(" ")))
            .set("AR", &tc.ar)
            .set("LD", tc.binutil("ld"))
            .set("NM", tc.binutil("nm"))
            .set("OBJCOPY", tc.binutil("objcopy"))
            .set("RANLIB", tc.binutil("ranlib"))
            .set("STRIP", &tc.strip)
            .set("CFLAGS", self.cflags().join(" "))
            .set("CPPFLAGS", self.cppflags().join(" "))
            .set("LDFLAGS", self.ldflags(linkage).join(" "));
        env
    }

    /// A step in `dir` with [`BuildSetup::cross_env`] (static) and its log under [`Self::logs`].
    pub fn step(&self, name: &str, program: impl AsRef<OsStr>, dir: &Path) -> Step {
        Step::new(name, program, dir, &self.logs).envs(self.cross_env(Linkage::Static))
    }
}

/// One command: program, arguments, working directory, environment and log directory.
#[derive(Debug, Clone)]
pub struct Step {
    name: String,
    program: OsString,
    args: Vec<OsString>,
    dir: PathBuf,
    env: BuildEnv,
    log_dir: PathBuf,
}

/// What a successful step left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepLog {
    /// The step's log (`<logs>/NN-<name>.log`).
    pub log: PathBuf,
}

impl Step {
    /// A step running `program` in `dir` with an *empty* environment; its log goes to
    /// `log_dir`. Usually made by [`Stage::step`] or [`BuildSetup::step`], which fill the env.
    pub fn new(name: &str, program: impl AsRef<OsStr>, dir: &Path, log_dir: &Path) -> Step {
        Step {
            name: name.to_string(),
            program: program.as_ref().to_os_string(),
            args: Vec::new(),
            dir: dir.to_path_buf(),
            env: BuildEnv::empty(),
            log_dir: log_dir.to_path_buf(),
        }
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Step {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Step
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Sets one environment variable.
    pub fn env(mut self, name: &str, value: impl AsRef<OsStr>) -> Step {
        self.env.set(name, value);
        self
    }

    /// Removes one environment variable.
    pub fn env_remove(mut self, name: &str) -> Step {
        self.env.remove(name);
        self
    }

    /// Replaces the whole environment.
    pub fn envs(mut self, env: BuildEnv) -> Step {
        self.env = env;
        self
    }

    /// The environment, to change in place.
    pub fn env_mut(&mut self) -> &mut BuildEnv {
        &mut self.env
    }

    /// The step's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The command line, shell-quoted (for logs and errors).
    pub fn command_line(&self) -> String {
        std::iter::once(&self.program).chain(&self.args).map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
    }

    /// Runs the step to completion. Output goes only to the log.
    pub fn run(&self) -> Result<StepLog, StepError> {
        let io_err = |action, path: &Path| {
            let (step, path) = (self.name.clone(), path.to_path_buf());
            move |cause| StepError::Io { step, action, path, cause }
        };
        fs::create_dir_all(&self.log_dir).map_err(io_err("creating", &self.log_dir))?;
        let (log, mut file) =
            create_log(&self.log_dir, &self.name).map_err(io_err("creating a log in", &self.log_dir))?;
        let command = self.command_line();
        file.write_all(self.log_header(&command).as_bytes()).map_err(io_err("writing", &log))?;
        let out = file.try_clone().map_err(io_err("reopening", &log))?;

        // Files a build installs get their modes from the umask; fix it so staged trees (and so
        // image digests) do not depend on the caller's shell.
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
        let result = duct::cmd(&self.program, &self.args)
            .dir(&self.dir)
            .full_env(self.env.iter())
            .stdin_null()
            .stderr_to_stdout()
            .stdout_file(out)
            .unchecked()
            .run();
        let output = match result {
            Ok(output) => output,
            Err(source) => {
                let _ = writeln!(file, "\n# could not start: {source}");
                return Err(StepError::Spawn(Box::new(StepSpawnFailed {
                    step: self.name.clone(),
                    command,
                    dir: self.dir.clone(),
                    path: self.env.get_str("PATH").unwrap_or_default(),
                    log,
                    source,
                })));
            }
        };
        let _ = writeln!(file, "\n# {}", output.status);
        drop(file);
        if !output.status.success() {
            let tail = log_tail(&log, TAIL_LINES).map_err(io_err("reading", &log))?;
            return Err(StepError::Failed(Box::new(StepFailed {
                step: self.name.clone(),
                command,
                dir: self.dir.clone(),
                status: output.status,
                log,
                tail,
            })));
        }
        Ok(StepLog { log })
    }

    fn log_header(&self, command: &str) -> String {
        let mut h = String::new();
        let _ = writeln!(h, "# step: {}", self.name);
        let _ = writeln!(h, "# dir: {}", self.dir.display());
        let _ = writeln!(h, "# command: {command}");
        for (k, v) in self.env.iter() {
            let _ = writeln!(h, "# env: {k}={}", v.to_string_lossy());
        }
        h.push('\n');
        h
    }
}

impl Stage {
    /// This stage's build conventions: toolchain, flags, sysroot, uapi headers and log directory
    /// (creates the directories under the work dir).
    pub fn build_setup(&self) -> anyhow::Result<BuildSetup> {
        Ok(BuildSetup::new(self.toolchain()?, self.work_dir(), self.source_date_epoch())?)
    }

    /// A step in `dir` with the cross build environment (static linking) of this arch:
    /// `s.step("gen", "sh", &dir)?.args(["-c", "..."]).run()?`.
    pub fn step(&self, name: &str, program: impl AsRef<OsStr>, dir: &Path) -> anyhow::Result<Step> {
        Ok(self.build_setup()?.step(name, program, dir))
    }
}

/// Creates `<dir>/NN-<name>.log` with `NN` one more than the highest number there.
fn create_log(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let safe: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '-' }).collect();
    let mut next = 1 + fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.split_once('-').and_then(|(n, _)| n.parse::<u32>().ok())
        })
        .max()
        .unwrap_or(0);
    loop {
        let path = dir.join(format!("{next:02}-{safe}.log"));
        match OpenOptions::new().append(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => next += 1,
            Err(e) => return Err(e),
        }
    }
}

/// The last `n` lines of a file (reads at most the last 256 KiB), each ending in a newline.
fn log_tail(path: &Path, n: usize) -> io::Result<String> {
    const MAX: u64 = 256 * 1024;
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(MAX)))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    let mut tail = String::new();
    for line in &lines[lines.len().saturating_sub(n)..] {
        tail.push_str(line);
        tail.push('\n');
    }
    Ok(tail)
}

/// Quotes an argument for a POSIX shell when it needs it.
pub fn shell_quote(arg: &OsStr) -> String {
    let s = arg.to_string_lossy();
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c)) {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote(OsStr::new("--prefix=/usr/local")), "--prefix=/usr/local");
        assert_eq!(shell_quote(OsStr::new("CC=gcc -specs x")), "'CC=gcc -specs x'");
        assert_eq!(shell_quote(OsStr::new("it's")), r"'it'\''s'");
        assert_eq!(shell_quote(OsStr::new("")), "''");
    }

    #[test]
    fn jobs_without_jobserver() {
        let jobs = Jobs::from_vars(None, None, Some("4"));
        assert_eq!(jobs, Jobs { jobserver: None, count: 4 });
        assert_eq!(jobs.make_args(), ["-j4"]);
        assert_eq!(Jobs::from_vars(None, None, None).count, DEFAULT_JOBS);
        assert_eq!(Jobs::from_vars(None, None, Some("0")).count, DEFAULT_JOBS);
        // Descriptors that are not open here are not a usable jobserver.
        let stale = Jobs::from_vars(Some("-j --jobserver-fds=987,988 --jobserver-auth=987,988"), None, None);
        assert_eq!(stale.jobserver, None);
    }

    #[test]
    fn jobs_with_jobserver() {
        // Descriptors 0 and 1 are open in every test process.
        let flags = "-j --jobserver-fds=0,1 --jobserver-auth=0,1";
        let jobs = Jobs::from_vars(Some(flags), Some("-j8"), Some("3"));
        assert_eq!(jobs.jobserver.as_deref(), Some(flags));
        assert!(jobs.make_args().is_empty());
        assert_eq!(jobs.ninja_args(), ["-j", "3"]);
        let env = BuildEnv::clean(Path::new("/h"), 7, &jobs);
        assert_eq!(env.get_str("MAKEFLAGS").as_deref(), Some(flags));
        assert_eq!(env.get_str("SOURCE_DATE_EPOCH").as_deref(), Some("7"));
    }

    #[test]
    fn logs_are_numbered_in_order() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let (a, _) = create_log(dir.path(), "configure")?;
        let (b, _) = create_log(dir.path(), "make all/x")?;
        assert_eq!(a.file_name(), Some(OsStr::new("01-configure.log")));
        assert_eq!(b.file_name(), Some(OsStr::new("02-make-all-x.log")));
        Ok(())
    }

    #[test]
    fn tail_keeps_last_lines() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("log");
        fs::write(&path, (1..=100).map(|i| format!("line {i}\n")).collect::<String>())?;
        let tail = log_tail(&path, 3)?;
        assert_eq!(tail, "line 98\nline 99\nline 100\n");
        Ok(())
    }
}
