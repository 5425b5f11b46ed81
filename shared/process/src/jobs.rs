//! [`Jobs`]: how many jobs a build tool may run, shared with cargo through its jobserver.
//!
//! cargo hands build scripts a jobserver in `CARGO_MAKEFLAGS` (`-j --jobserver-fds=R,W
//! --jobserver-auth=R,W`), and the pipe's descriptors are inherited by the build script and so
//! by every command it runs. Passing that string as `MAKEFLAGS` makes `make` a jobserver client:
//! it runs its first job on the build script's own token and takes a token from cargo's pool for
//! each further job, so `make` and the crates cargo compiles at the same time never run more
//! than `cargo -j` jobs together. `make` must then get no `-j` of its own (that would start a
//! private pool), which [`Jobs::make_args`] follows. ninja (and so meson and cmake's Ninja
//! generator) does not speak this jobserver: it gets `-j` from cargo's `NUM_JOBS`, or
//! [`DEFAULT_JOBS`] outside cargo.

use std::path::Path;

use crate::Env;

/// Parallel jobs when cargo gives no `NUM_JOBS` (tests, `cargo xtask` outside a build script).
pub const DEFAULT_JOBS: usize = 2;

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

    /// Sets `MAKEFLAGS` in `env` when there is a jobserver.
    pub fn apply(&self, env: &mut Env) {
        if let Some(flags) = &self.jobserver {
            env.set("MAKEFLAGS", flags);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_jobserver() {
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
    fn with_jobserver() {
        // Descriptors 0 and 1 are open in every test process.
        let flags = "-j --jobserver-fds=0,1 --jobserver-auth=0,1";
        let jobs = Jobs::from_vars(Some(flags), Some("-j8"), Some("3"));
        assert_eq!(jobs.jobserver.as_deref(), Some(flags));
        assert!(jobs.make_args().is_empty());
        assert_eq!(jobs.ninja_args(), ["-j", "3"]);
        let mut env = Env::empty();
        jobs.apply(&mut env);
        assert_eq!(env.get_str("MAKEFLAGS").as_deref(), Some(flags));
    }
}
