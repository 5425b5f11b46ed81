//! The per-arch conventions every build step shares ([`BuildSetup`]), on top of the workspace's one
//! command runner, `talos-ext-process` (re-exported here: [`Command`], [`Env`], [`Jobs`], ...).
//!
//! What this module owns:
//! - [`BuildSetup`]: the musl compiler line, the `CFLAGS`/`CPPFLAGS`/`LDFLAGS` conventions, the
//!   sysroot that dependencies are installed into and `pkg-config` is confined to, the uapi header
//!   directory, the log directory, and the environment of every step ([`clean_env`]: the runner's
//!   base (`PATH`, `LC_ALL=C`, `TZ=UTC`) plus `HOME` under the work dir, `SOURCE_DATE_EPOCH` and
//!   cargo's jobserver; for C builds, the cross toolchain's variables).
//! - [`Stage::step`]: a named [`Command`] in a directory with that environment, logged to
//!   `<work>/logs/NN-<name>.log`; a failure names the step, the command line, the log and its last
//!   lines (the runner's [`ProcessError`]).
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
//! (`DESTDIR=<work>/sysroot`); see `drivers`. Parallelism follows cargo's jobserver (see
//! [`Jobs`]): `make` shares cargo's pool through `MAKEFLAGS`, ninja gets `-j NUM_JOBS`.
//!
//! Deliberately not here: how processes are run (the runner), what to run (the drivers in
//! `drivers` decide configure/make/ninja command lines), arch knowledge (in [`CrossToolchain`]),
//! and installing into the rootfs (in `Stage`).

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

pub use talos_ext_process::{
    Command, DEFAULT_JOBS, DEFAULT_PATH, Env, Failed, Jobs, Log, ProcessError, Ran, SpawnFailed, TAIL_LINES,
    shell_quote,
};

use talos_ext_model::handoff::CC_WRAPPER_ENV_PREFIXES;

use crate::stage::Stage;
use crate::toolchain::{CrossToolchain, ToolchainError};

/// The environment variables the cross toolchain sets (see [`BuildSetup::cross_env`]). meson and
/// cmake read these as the *build* machine's compiler when cross compiling, so their drivers run
/// without them and get the toolchain from a cross file instead.
pub const TOOLCHAIN_VARS: &[&str] =
    &["CC", "CPP", "AR", "LD", "NM", "OBJCOPY", "RANLIB", "STRIP", "CFLAGS", "CPPFLAGS", "LDFLAGS"];

/// Preparing a step's directories or toolchain failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A directory of the setup could not be made.
    #[error(transparent)]
    Fs(#[from] talos_ext_fs::FsError),
    /// The toolchain is missing or the uapi header directory could not be made.
    #[error(transparent)]
    Toolchain(#[from] ToolchainError),
}

/// The base environment of every build step: the runner's (`PATH`, `LC_ALL=C`, `TZ=UTC`) plus
/// `HOME`, `SOURCE_DATE_EPOCH`, and `MAKEFLAGS` when there is a jobserver.
pub fn clean_env(home: &Path, source_date_epoch: u64, jobs: &Jobs) -> Env {
    let mut env = Env::base();
    env.set("HOME", home).set("SOURCE_DATE_EPOCH", source_date_epoch.to_string());
    jobs.apply(&mut env);
    env
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
    pub fn new(toolchain: CrossToolchain, work: &Path, source_date_epoch: u64) -> Result<BuildSetup, SetupError> {
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
            fs::create_dir_all(&dir).map_err(talos_ext_fs::fs_err("create directory", &dir))?;
        }
        Ok(setup)
    }

    /// The compiler as a command: the launcher
    /// ([`ENV_CC_WRAPPER`](talos_ext_model::handoff::ENV_CC_WRAPPER)) if any, the gcc driver and
    /// musl's specs flags.
    pub fn cc(&self) -> Vec<String> {
        self.toolchain.cc_command()
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

    /// [`clean_env`] plus `pkg-config` confined to the sysroot. No compiler variables:
    /// what meson and cmake steps run with.
    pub fn base_env(&self) -> Env {
        let mut env = clean_env(&self.home, self.source_date_epoch, &self.jobs);
        env.set("PKG_CONFIG", "pkg-config")
            .set("PKG_CONFIG_LIBDIR", self.pkg_config_libdir())
            .set("PKG_CONFIG_SYSROOT_DIR", &self.sysroot)
            .set("PKG_CONFIG_PATH", "");
        if self.toolchain.launcher.is_some() {
            self.wrapper_env(&mut env);
        }
        env
    }

    /// The launcher's own settings from the build script's environment (`CCACHE_*`,
    /// `SCCACHE_*`), and two ccache defaults unless set, so that a clean build in another
    /// directory (a new `OUT_DIR`, a fresh clone) hits what an earlier one cached:
    /// `CCACHE_BASEDIR` = the work directory (paths below it are hashed relative to the
    /// compile's directory) and `CCACHE_NOHASHDIR` (the directory is not hashed into compiles
    /// with debug info: ours are `-g0` and map the work directory to `/build` anyway).
    fn wrapper_env(&self, env: &mut Env) {
        for (name, value) in std::env::vars_os() {
            let Some(name) = name.to_str() else { continue };
            if CC_WRAPPER_ENV_PREFIXES.iter().any(|p| name.starts_with(p)) {
                env.set(name, value);
            }
        }
        if env.get("CCACHE_BASEDIR").is_none() {
            env.set("CCACHE_BASEDIR", &self.work);
        }
        if env.get("CCACHE_NOHASHDIR").is_none() && env.get("CCACHE_HASHDIR").is_none() {
            env.set("CCACHE_NOHASHDIR", "1");
        }
    }

    /// [`BuildSetup::base_env`] plus the cross toolchain ([`TOOLCHAIN_VARS`]): what autotools
    /// and make steps run with. `CXX` is left unset: the musl toolchains are C only.
    pub fn cross_env(&self, linkage: Linkage) -> Env {
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

    /// A step named `name` running `program` in `dir` with [`BuildSetup::cross_env`] (static),
    /// logged under [`Self::logs`].
    pub fn step(&self, name: &str, program: impl AsRef<OsStr>, dir: &Path) -> Command {
        Command::new(program).name(name).dir(dir).envs(self.cross_env(Linkage::Static)).log_dir(&self.logs)
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
    pub fn step(&self, name: &str, program: impl AsRef<OsStr>, dir: &Path) -> anyhow::Result<Command> {
        Ok(self.build_setup()?.step(name, program, dir))
    }
}
