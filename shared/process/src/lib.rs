//! The one way the workspace runs external programs (compilers, `make`, `patch`, `apt-get`,
//! `strip`, the test tools), so that every command of a build gets the same guarantees:
//!
//! - **an explicit environment** ([`Env`]): a [`Command`] starts from [`Env::base`] (`PATH` of the
//!   system directories, `LC_ALL=C`, `TZ=UTC`) and never inherits the caller's variables unless
//!   it asks for them ([`Command::inherit_env`]), so a developer's shell cannot change what a
//!   build produces;
//! - **a fixed umask in the child** ([`DEFAULT_UMASK`], set between `fork` and `exec`), so the
//!   modes of installed files (and so image digests) never depend on the caller, and the calling
//!   process' own umask is never touched;
//! - **stdin closed** (or the given bytes), so nothing ever waits for a terminal;
//! - **a log per command** ([`Log`]): stdout and stderr go to a file that starts with the
//!   directory, command line and environment; with [`ENV_VERBOSE`] set they are also streamed
//!   to stderr;
//! - **errors that say what happened** ([`ProcessError`]): the command's name and full command
//!   line, its directory, the exit status, the log's path and its last [`TAIL_LINES`] lines; a
//!   program that cannot be started names `PATH` and, when given, how to install it.
//!
//! `clippy.toml` bans `std::process::Command::new` everywhere else (see the workspace's
//! `disallowed-methods`): this crate is the only place that spawns processes, and test support
//! that needs a raw process (a server it talks to over a pipe) says why where it allows itself.
//!
//! Deliberately not here: what to run (drivers, toolchains and recipes decide), cross-compiler
//! variables (`talos-ext-build`), and anything about files beyond the logs.

mod command;
mod env;
mod error;
mod jobs;
mod log;

pub use command::{Command, DEFAULT_UMASK, ENV_VERBOSE, Log, Output, Ran, Spawned};
pub use env::{DEFAULT_PATH, Env};
pub use error::{Failed, ProcessError, SpawnFailed};
pub use jobs::{DEFAULT_JOBS, Jobs};
pub use log::{TAIL_LINES, shell_quote};
