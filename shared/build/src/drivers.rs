//! Build-system drivers recipes call on a [`Stage`]: autotools, meson, cmake and plain make,
//! cross-compiling upstream C code for the stage's arch against musl.
//!
//! Each driver is a small builder started from the stage and finished with `run()`:
//!
//! ```no_run
//! # use talos_ext_build::prelude::*;
//! # fn recipe(s: &mut Stage, src: std::path::PathBuf) -> Result<()> {
//! let built = s
//!     .autotools("util-linux", &src)
//!     .configure_args(["--disable-all-programs", "--enable-fstrim", "--enable-nsenter"])
//!     .make_targets(["fstrim", "nsenter"])
//!     .no_install()
//!     .run()?;
//! s.install(&built.output("fstrim"), "usr/local/sbin/fstrim", 0o755)?;
//! # Ok(()) }
//! ```
//!
//! What every driver does the same way:
//! - builds out of the source tree, in `<work>/build/<name>` (plain make, which builds in place,
//!   works on a copy of the sources there), so a source tree is never changed (except by an
//!   explicit [`Autotools::autoreconf`]);
//! - runs each command as a logged [`Command`] named `<name>-<phase>` with the
//!   controlled environment and flag conventions of [`BuildSetup`], logged under `<work>/logs`;
//! - redoes only what changed: each phase is keyed by the source, the toolchain, the sysroot and
//!   its own command line and environment (see `fresh`), so a rerun of the build script skips
//!   the phases whose key is recorded; a configure step that runs starts from an empty build
//!   directory;
//! - links programs **statically** by default ([`Linkage::Static`]; see there why), and asks
//!   autotools/meson/cmake projects for static libraries only;
//! - installs with `DESTDIR=<work>/install/<name>`, emptied before the install step runs, and then
//!   puts exactly what was installed into a [`Dest`]: the rootfs (default, prefix `/usr/local`),
//!   the stage's sysroot (prefix `/usr`, where later builds find the library through `-I`/`-L`
//!   and `pkg-config`; libtool `.la` files are left out, since they name host paths), a
//!   directory of the recipe's (emptied first), the install directory itself
//!   ([`Dest::Scratch`]), or nowhere (the recipe picks files out of [`Built::output`]). A file
//!   that a new version no longer installs is therefore never shipped from an earlier run.
//!
//! Static linking and libtool: libtool drops a plain `-static` for programs that link its own
//! libraries, and `-all-static` (which it needs instead) is not a gcc flag, so it cannot go to
//! `configure` (its link tests would fail). The autotools driver therefore configures with
//! `LDFLAGS=... -static` and, when the configured tree has a `libtool` script, passes
//! `LDFLAGS=<same> -all-static` to `make` on its command line.
//!
//! meson and cmake get the toolchain from a generated cross/toolchain file and run *without*
//! `CC`/`CFLAGS`/... in the environment: when cross compiling both read those as the build
//! machine's compiler. Which meson runs is a [`MesonRelease`]: Debian's by default, or the
//! pinned newer one `ci/setup.sh` installs, for upstreams that need it (glib, QEMU's configure).
//!
//! Deliberately not here: fetching and unpacking sources, C++ (Debian's libstdc++ targets glibc),
//! choosing which installed files an extension ships (the recipe does, with `Stage::install`),
//! and arch specifics (in [`CrossToolchain`]).

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::fresh::{Key, Phases, tree_digest, tree_digest_except};
use crate::stage::{Stage, check_relative};
pub use crate::step::Linkage;
use crate::step::{BuildSetup, Command, Env};
use crate::toolchain::CrossToolchain;

/// Where a driver's install step puts files (`DESTDIR`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Dest {
    /// The stage's rootfs; default prefix `/usr/local`.
    #[default]
    Rootfs,
    /// The stage's sysroot (`<work>/sysroot`), for libraries later builds use; prefix `/usr`.
    Sysroot,
    /// A directory of the recipe's, emptied and filled with exactly what was installed;
    /// default prefix `/usr/local`. One driver run owns it.
    Dir(PathBuf),
    /// The driver's own install directory (`<work>/install/<name>`), for recipes that pick
    /// files from what upstream installs ([`Built::installed`]); default prefix `/usr/local`.
    Scratch,
    /// No install step.
    None,
}

/// What a driver built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The name given to the driver.
    pub name: String,
    /// The build directory (`<work>/build/<name>`): objects and programs.
    pub build_dir: PathBuf,
    /// Where the installed files are (the rootfs, the sysroot, the recipe's directory or the
    /// install directory), if there was an install step.
    pub destdir: Option<PathBuf>,
    /// The phases that ran in this build (not skipped as fresh), in order.
    pub ran: Vec<String>,
    /// `--prefix` / `CMAKE_INSTALL_PREFIX` / `PREFIX`.
    pub prefix: String,
}

impl Built {
    /// A file of the build directory (`src/fstrim`).
    pub fn output(&self, rel: &str) -> PathBuf {
        self.build_dir.join(rel)
    }

    /// An installed file, relative to the prefix (`bin/hello` is `<destdir>/usr/local/bin/hello`).
    pub fn installed(&self, rel: &str) -> Result<PathBuf> {
        self.installed_at(&format!("{}/{rel}", self.prefix))
    }

    /// An installed file by its absolute install path, for files outside the prefix
    /// (`/etc/iscsi/iscsid.conf` is `<destdir>/etc/iscsi/iscsid.conf`).
    pub fn installed_at(&self, path: &str) -> Result<PathBuf> {
        let Some(destdir) = &self.destdir else { bail!("`{}` was built without an install step", self.name) };
        let rel = path.trim_start_matches('/');
        Ok(destdir.join(check_relative(rel)?))
    }
}

/// Settings every driver has.
#[derive(Debug, Clone)]
struct Common {
    name: String,
    src: PathBuf,
    prefix: Option<String>,
    dest: Dest,
    linkage: Linkage,
    env: Vec<(String, Option<OsString>)>,
    cflags: Vec<String>,
    ldflags: Vec<String>,
}

impl Common {
    fn new(name: &str, src: &Path) -> Common {
        Common {
            name: name.to_string(),
            src: src.to_path_buf(),
            prefix: None,
            dest: Dest::default(),
            linkage: Linkage::default(),
            env: Vec::new(),
            cflags: Vec::new(),
            ldflags: Vec::new(),
        }
    }
}

/// The generic setters of a driver builder.
macro_rules! common_setters {
    ($ty:ident) => {
        impl $ty<'_> {
            /// Install prefix (default `/usr/local`, or `/usr` for [`Dest::Sysroot`]).
            pub fn prefix(mut self, prefix: &str) -> Self {
                self.common.prefix = Some(prefix.to_string());
                self
            }

            /// Where to install (default [`Dest::Rootfs`]).
            pub fn dest(mut self, dest: Dest) -> Self {
                self.common.dest = dest;
                self
            }

            /// Installs into the stage's sysroot ([`Dest::Sysroot`]).
            pub fn into_sysroot(self) -> Self {
                self.dest(Dest::Sysroot)
            }

            /// No install step ([`Dest::None`]).
            pub fn no_install(self) -> Self {
                self.dest(Dest::None)
            }

            /// Static (default) or dynamic linking against musl.
            pub fn linkage(mut self, linkage: Linkage) -> Self {
                self.common.linkage = linkage;
                self
            }

            /// Sets an environment variable of every step (after the driver's own).
            pub fn env(mut self, name: &str, value: impl AsRef<OsStr>) -> Self {
                self.common.env.push((name.to_string(), Some(value.as_ref().to_os_string())));
                self
            }

            /// Removes an environment variable from every step.
            pub fn env_remove(mut self, name: &str) -> Self {
                self.common.env.push((name.to_string(), None));
                self
            }

            /// Extra compiler flags, after the conventional ones.
            pub fn cflags<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, flags: I) -> Self {
                self.common.cflags.extend(flags.into_iter().map(|f| f.as_ref().to_string()));
                self
            }

            /// Extra linker flags, after the conventional ones.
            pub fn ldflags<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, flags: I) -> Self {
                self.common.ldflags.extend(flags.into_iter().map(|f| f.as_ref().to_string()));
                self
            }
        }
    };
}

/// A driver run in progress: setup, directories, the resolved settings and the phase stamps.
struct Run<'a> {
    stage: &'a Stage,
    common: &'a Common,
    setup: BuildSetup,
    build_dir: PathBuf,
    /// `DESTDIR` of the install phase: `<work>/install/<name>`.
    install_dir: PathBuf,
    prefix: String,
    phases: Phases,
    /// Whether [`Run::start`] emptied the build directory (nothing of an earlier run is there).
    emptied: bool,
}

impl<'a> Run<'a> {
    /// Checks the settings, prepares the directories and loads the stamps of a `kind` driver.
    fn start(stage: &'a Stage, common: &'a Common, kind: &str) -> Result<Run<'a>> {
        if common.name.is_empty() || !common.name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
            bail!("build name `{}` must be a simple name (letters, digits, `.`, `_`, `-`)", common.name);
        }
        if !common.src.is_dir() {
            bail!("source directory {} of `{}` does not exist", common.src.display(), common.name);
        }
        let setup = stage.build_setup()?;
        let builds = setup.work.join("build");
        let build_dir = builds.join(&common.name);
        let install_dir = setup.work.join("install").join(&common.name);
        let default_prefix = if common.dest == Dest::Sysroot { "/usr" } else { "/usr/local" };
        let prefix = common.prefix.clone().unwrap_or_else(|| default_prefix.to_string());
        if !prefix.starts_with('/') {
            bail!("prefix `{prefix}` of `{}` must be absolute", common.name);
        }
        let mut base = Key::new("driver");
        base.text("kind", kind)
            .text("name", &common.name)
            .text("source", &source_identity(stage, &common.src)?)
            .text("toolchain", &setup.toolchain.identity()?)
            // (A library's own stamp, kept in its sysroot between runs, is not an input.)
            .text("sysroot", &tree_digest_except(&setup.sysroot, crate::SYSROOT_STAMP)?);
        let mut phases = Phases::load(&builds.join(format!("{}.stamp", common.name)), base.finish());
        let emptied = !phases.base_matches() || !build_dir.is_dir();
        if emptied {
            phases.invalidate();
            talos_ext_fs::empty_dir(&build_dir)?;
        }
        Ok(Run { stage, common, setup, build_dir, install_dir, prefix, phases, emptied })
    }

    /// Runs the configure phase (when not fresh) in an emptied build directory.
    fn configure(&mut self, phase: &str, command: Command, extra: &[&[u8]]) -> Result<()> {
        let build_dir = self.build_dir.clone();
        self.phases.run(phase, &command, extra, || Ok(talos_ext_fs::empty_dir(&build_dir)?))?;
        Ok(())
    }

    /// Runs a phase (when not fresh).
    fn phase(&mut self, phase: &str, command: Command) -> Result<()> {
        self.phases.run(phase, &command, &[], || Ok(()))?;
        Ok(())
    }

    /// Runs the install phase (when not fresh) into an emptied install directory.
    fn install(&mut self, command: Command) -> Result<()> {
        if !self.install_dir.is_dir() {
            self.phases.invalidate();
        }
        let install_dir = self.install_dir.clone();
        self.phases.run("install", &command, &[], || Ok(talos_ext_fs::empty_dir(&install_dir)?))?;
        Ok(())
    }

    /// Whether the recipe asked for an install step.
    fn installs(&self) -> bool {
        self.common.dest != Dest::None
    }

    /// CFLAGS: conventions, a prefix map for sources outside the work dir, the recipe's.
    fn cflags(&self) -> Vec<String> {
        let mut flags = self.setup.cflags();
        if !self.common.src.starts_with(&self.setup.work) {
            let to = format!("/build/src/{}", self.common.name);
            flags.extend(CrossToolchain::prefix_map_flags(&[(&self.common.src, &to)]));
        }
        flags.extend(self.common.cflags.iter().cloned());
        flags
    }

    fn ldflags(&self) -> Vec<String> {
        let mut flags = self.setup.ldflags(self.common.linkage);
        flags.extend(self.common.ldflags.iter().cloned());
        flags
    }

    /// The cross environment (autotools, make) with this build's flags and the recipe's env.
    fn cross_env(&self) -> Env {
        let mut env = self.setup.cross_env(self.common.linkage);
        env.set("CFLAGS", self.cflags().join(" ")).set("LDFLAGS", self.ldflags().join(" "));
        self.apply_env(env)
    }

    /// The environment without toolchain variables (meson, cmake) plus the recipe's env.
    fn base_env(&self) -> Env {
        self.apply_env(self.setup.base_env())
    }

    fn apply_env(&self, mut env: Env) -> Env {
        for (name, value) in &self.common.env {
            match value {
                Some(v) => env.set(name, v),
                None => env.remove(name),
            };
        }
        env
    }

    fn step(&self, phase: &str, program: impl AsRef<OsStr>, dir: &Path, env: &Env) -> Command {
        let name = format!("{}-{phase}", self.common.name);
        Command::new(program).name(&name).dir(dir).envs(env.clone()).log_dir(&self.setup.logs)
    }

    /// Puts what the install phase installed into the destination and describes the build.
    /// `installed` is false when this run had no install phase.
    fn finish(self, installed: bool) -> Result<Built> {
        let from = &self.install_dir;
        let destdir = match (&self.common.dest, installed) {
            (_, false) | (Dest::None, _) => None,
            (Dest::Rootfs, true) => {
                let rootfs = self.stage.rootfs();
                talos_ext_fs::merge_tree(from, &rootfs, |_| false)?;
                Some(rootfs)
            }
            (Dest::Sysroot, true) => {
                talos_ext_fs::merge_tree(from, &self.setup.sysroot, |name| name.as_encoded_bytes().ends_with(b".la"))?;
                Some(self.setup.sysroot.clone())
            }
            (Dest::Dir(dir), true) => {
                talos_ext_fs::empty_dir(dir)?;
                talos_ext_fs::merge_tree(from, dir, |_| false)?;
                Some(dir.clone())
            }
            (Dest::Scratch, true) => Some(from.clone()),
        };
        Ok(Built {
            name: self.common.name.clone(),
            build_dir: self.build_dir,
            destdir,
            prefix: self.prefix,
            ran: self.phases.ran().to_vec(),
        })
    }
}

/// What identifies a driver's source tree: the stamp [`Stage::source`] wrote for a tree it
/// unpacked (pinned sha256 + patches), else (a copied directory override, any other tree) the
/// tree's contents, so that a rerun over the same contents finds its phases fresh.
pub(crate) fn source_identity(stage: &Stage, src: &Path) -> Result<String> {
    let unpacked = stage.work_dir().join("src");
    let stamp = match src.file_name() {
        Some(name) if src.parent() == Some(unpacked.as_path()) => {
            fs::read_to_string(unpacked.join(format!(".{}.stamp", name.to_string_lossy()))).ok()
        }
        _ => None,
    };
    tree_identity(stamp, src)
}

/// [`source_identity`] of the tree `src` given its unpack stamp, if it has one.
fn tree_identity(unpack_stamp: Option<String>, src: &Path) -> Result<String> {
    match unpack_stamp {
        Some(stamp) if !stamp.starts_with(crate::sources::OVERRIDE_DIR_STAMP) => Ok(format!("unpacked {stamp}")),
        _ => Ok(format!("tree {}", tree_digest(src)?)),
    }
}

// ---------------------------------------------------------------------------------------------
// autotools

/// `configure && make && make install` (see [`Stage::autotools`]).
#[derive(Debug, Clone)]
#[must_use = "a driver does nothing until `run()`"]
pub struct Autotools<'s> {
    stage: &'s Stage,
    common: Common,
    autoreconf: bool,
    configure_command: Option<(PathBuf, Vec<String>)>,
    configure_args: Vec<String>,
    make_args: Vec<String>,
    make_targets: Vec<String>,
    make_subdirs: Vec<String>,
    install_targets: Vec<String>,
}

common_setters!(Autotools);

impl Autotools<'_> {
    /// Runs `autoreconf -fi` in the source directory first (for trees without `configure`).
    /// This changes the source tree.
    pub fn autoreconf(mut self) -> Self {
        self.autoreconf = true;
        self
    }

    /// A configure step that is not autotools' own (OpenSSL's perl `Configure`): runs
    /// `program args...` in the build directory with the cross environment instead of
    /// `<src>/configure --host ... --build ... --prefix ...` (the arguments say everything,
    /// [`Autotools::configure_args`] are not used). make and install work as for autotools.
    pub fn configure_command<I: IntoIterator<Item = S>, S: AsRef<str>>(
        mut self,
        program: impl AsRef<Path>,
        args: I,
    ) -> Self {
        self.configure_command =
            Some((program.as_ref().to_path_buf(), args.into_iter().map(|a| a.as_ref().to_string()).collect()));
        self
    }

    /// Arguments for `configure`, after `--host`, `--build`, `--prefix` (and, for static
    /// linking, `--disable-shared --enable-static` when the script knows them).
    pub fn configure_args<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, args: I) -> Self {
        self.configure_args.extend(args.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// Arguments (`V=1`, `VAR=value`) for every `make`.
    pub fn make_args<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, args: I) -> Self {
        self.make_args.extend(args.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// Targets of the build `make` (default: the Makefile's default target).
    pub fn make_targets<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, targets: I) -> Self {
        self.make_targets = targets.into_iter().map(|t| t.as_ref().to_string()).collect();
        self
    }

    /// Targets of the install `make` (default `install`; `install-exec`, `install-strip`...).
    pub fn install_targets<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, targets: I) -> Self {
        self.install_targets = targets.into_iter().map(|t| t.as_ref().to_string()).collect();
        self
    }

    /// Builds only these directories of the configured tree, in order (`make -C <dir>
    /// <targets>`, one phase each, `make:<dir>`), instead of the whole tree: for projects of
    /// which a recipe needs one program and the convenience libraries it links (nfs-utils'
    /// `support/nfs` and `tools/nfsrahead`). The install `make`, if any, still runs at the top.
    pub fn make_subdirs<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, dirs: I) -> Self {
        self.make_subdirs = dirs.into_iter().map(|d| d.as_ref().to_string()).collect();
        self
    }

    /// Configures, builds and installs.
    pub fn run(self) -> Result<Built> {
        let mut run = Run::start(self.stage, &self.common, "autotools")?;
        let src = &self.common.src;
        if self.autoreconf {
            let autoreconf = run.step("autoreconf", "autoreconf", src, &run.base_env()).args(["-fi"]);
            run.phase("autoreconf", autoreconf)?;
        }
        let env = run.cross_env();
        let command = match &self.configure_command {
            Some((program, args)) => run.step("configure", program, &run.build_dir, &env).args(args),
            None => {
                let configure = src.join("configure");
                if !configure.is_file() {
                    bail!("{} does not exist (generate it with `.autoreconf()`)", configure.display());
                }
                let mut args = vec![
                    format!("--host={}", run.setup.toolchain.arch.musl_triple()),
                    "--build=x86_64-linux-gnu".to_string(),
                    format!("--prefix={}", run.prefix),
                ];
                if self.common.linkage == Linkage::Static && file_contains(&configure, "enable-shared")? {
                    args.extend(["--disable-shared".to_string(), "--enable-static".to_string()]);
                }
                args.extend(self.configure_args.iter().cloned());
                run.step("configure", &configure, &run.build_dir, &env).args(&args)
            }
        };
        run.configure("configure", command, &[])?;

        let mut make_vars = self.make_args.clone();
        if self.common.linkage == Linkage::Static && run.build_dir.join("libtool").is_file() {
            make_vars.push(format!("LDFLAGS={} -all-static", run.ldflags().join(" ")));
        }
        if self.make_subdirs.is_empty() {
            let make = run
                .step("make", "make", &run.build_dir, &env)
                .args(run.setup.jobs.make_args())
                .args(&make_vars)
                .args(&self.make_targets);
            run.phase("make", make)?;
        }
        for dir in &self.make_subdirs {
            if dir.is_empty() || !Path::new(dir).components().all(|c| matches!(c, std::path::Component::Normal(_))) {
                bail!("make subdirectory `{dir}` of `{}` must be a relative path inside the tree", self.common.name);
            }
            let make = run
                .step(&format!("make-{}", dir.replace('/', "-")), "make", &run.build_dir, &env)
                .args(run.setup.jobs.make_args())
                .args(["-C", dir])
                .args(&make_vars)
                .args(&self.make_targets);
            run.phase(&format!("make:{dir}"), make)?;
        }
        if run.installs() {
            let install = run
                .step("install", "make", &run.build_dir, &env)
                .args(&make_vars)
                .arg(format!("DESTDIR={}", run.install_dir.display()))
                .args(&self.install_targets);
            run.install(install)?;
        }
        let installed = run.installs();
        run.finish(installed)
    }
}

// ---------------------------------------------------------------------------------------------
// meson

/// `meson setup --cross-file && meson compile && meson install` (see [`Stage::meson`]).
#[derive(Debug, Clone)]
#[must_use = "a driver does nothing until `run()`"]
pub struct Meson<'s> {
    stage: &'s Stage,
    common: Common,
    release: MesonRelease,
    options: Vec<String>,
    targets: Vec<String>,
}

/// Where [`MesonRelease::Pinned`] lives: a venv of Debian's python3 that `ci/setup.sh` creates
/// with exact meson (1.9.0), pycotap and packaging releases from PyPI.
pub const MESON_VENV: &str = "/opt/talos-ext/meson";

/// Which meson a build runs (and which python runs it, for configure scripts that drive meson
/// themselves, as QEMU's does with `--python`).
///
/// The choice is the recipe's build setting, not the recipe's code: a recipe names the release
/// and the driver resolves it. Debian bookworm's meson (1.0.1) builds most projects here; some
/// upstreams ask for a newer one (glib >= 1.4, QEMU's configure >= 1.5 and pycotap), and those
/// recipes say [`MesonRelease::Pinned`]. The program's path is part of each phase's key, so
/// switching releases reruns the setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MesonRelease {
    /// Debian's `meson` on `PATH` (with `/usr/bin/python3`).
    #[default]
    Debian,
    /// The newer meson `ci/setup.sh` pins and installs into [`MESON_VENV`].
    Pinned,
}

impl MesonRelease {
    /// The `meson` program to run.
    pub fn meson(self) -> Result<PathBuf> {
        match self {
            MesonRelease::Debian => Ok(PathBuf::from("meson")),
            MesonRelease::Pinned => venv_program("meson"),
        }
    }

    /// The python that runs this meson (and the build scripts of the projects it configures).
    pub fn python(self) -> Result<PathBuf> {
        match self {
            MesonRelease::Debian => Ok(PathBuf::from("/usr/bin/python3")),
            MesonRelease::Pinned => venv_program("python3"),
        }
    }
}

/// A program of [`MESON_VENV`], which must exist.
fn venv_program(name: &str) -> Result<PathBuf> {
    let path = Path::new(MESON_VENV).join("bin").join(name);
    if !path.is_file() {
        bail!("{} does not exist: the pinned meson is not installed (hint: run `bash ci/setup.sh`)", path.display());
    }
    Ok(path)
}

common_setters!(Meson);

impl Meson<'_> {
    /// Which meson runs (default [`MesonRelease::Debian`]).
    pub fn release(mut self, release: MesonRelease) -> Self {
        self.release = release;
        self
    }

    /// A project option or built-in option, `-D<name>=<value>`.
    pub fn option(mut self, name: &str, value: &str) -> Self {
        self.options.push(format!("-D{name}={value}"));
        self
    }

    /// Targets for `meson compile` (default: all).
    pub fn targets<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, targets: I) -> Self {
        self.targets = targets.into_iter().map(|t| t.as_ref().to_string()).collect();
        self
    }

    /// The cross file for this run.
    fn cross_file(&self, run: &Run) -> String {
        let setup = &run.setup;
        let tc = &setup.toolchain;
        let list =
            |items: &[String]| format!("[{}]", items.iter().map(|i| meson_quote(i)).collect::<Vec<_>>().join(", "));
        let path = |p: &Path| meson_quote(&p.display().to_string());
        let mut c_args = run.cflags();
        c_args.extend(setup.cppflags());
        let link_args = run.ldflags();
        format!(
            "# Generated by talos-ext-build for {arch}.\n\
             [binaries]\n\
             c = {cc}\n\
             ar = {ar}\n\
             strip = {strip}\n\
             nm = {nm}\n\
             ranlib = {ranlib}\n\
             pkgconfig = 'pkg-config'\n\
             \n\
             [properties]\n\
             sys_root = {sysroot}\n\
             pkg_config_libdir = {pc}\n\
             \n\
             [built-in options]\n\
             c_args = {c_args}\n\
             c_link_args = {link_args}\n\
             \n\
             [host_machine]\n\
             system = 'linux'\n\
             cpu_family = '{cpu}'\n\
             cpu = '{cpu}'\n\
             endian = '{endian}'\n",
            arch = tc.arch,
            cc = list(&setup.cc()),
            ar = path(&tc.ar),
            strip = path(&tc.strip),
            nm = path(&tc.binutil("nm")),
            ranlib = path(&tc.binutil("ranlib")),
            sysroot = path(&setup.sysroot),
            pc = meson_quote(&setup.pkg_config_libdir()),
            c_args = list(&c_args),
            link_args = list(&link_args),
            cpu = tc.cpu(),
            endian = tc.endian(),
        )
    }

    /// Sets up, compiles and installs.
    pub fn run(self) -> Result<Built> {
        let mut run = Run::start(self.stage, &self.common, "meson")?;
        let cross = run.setup.work.join("build").join(format!("{}.meson-cross.ini", self.common.name));
        let cross_text = self.cross_file(&run);
        fs::write(&cross, &cross_text).with_context(|| format!("writing {}", cross.display()))?;
        let env = run.base_env();
        let meson = self.release.meson()?;
        let default_library = match self.common.linkage {
            Linkage::Static => ["-Ddefault_library=static", "-Dprefer_static=true"],
            Linkage::Dynamic => ["-Ddefault_library=shared", "-Dprefer_static=false"],
        };
        let setup = run
            .step("setup", &meson, &run.build_dir, &env)
            .arg("setup")
            .arg("--cross-file")
            .arg(&cross)
            .arg(format!("--prefix={}", run.prefix))
            .args(["--libdir=lib", "--buildtype=plain", "--wrap-mode=nodownload"])
            .args(default_library)
            .args(&self.options)
            .arg(&run.build_dir)
            .arg(&self.common.src);
        run.configure("setup", setup, &[cross_text.as_bytes()])?;
        let compile = run
            .step("compile", &meson, &run.build_dir, &env)
            .args(["compile", "-C"])
            .arg(&run.build_dir)
            .args(run.setup.jobs.ninja_args())
            .args(&self.targets);
        run.phase("compile", compile)?;
        if run.installs() {
            let install = run
                .step("install", &meson, &run.build_dir, &env)
                .args(["install", "--no-rebuild", "-C"])
                .arg(&run.build_dir)
                .arg("--destdir")
                .arg(&run.install_dir);
            run.install(install)?;
        }
        let installed = run.installs();
        run.finish(installed)
    }
}

/// A meson string literal.
fn meson_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', r"\\").replace('\'', r"\'"))
}

// ---------------------------------------------------------------------------------------------
// cmake

/// The cmake generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Generator {
    /// `-G Ninja` (default): gets `-j` from `NUM_JOBS`.
    #[default]
    Ninja,
    /// `-G "Unix Makefiles"`: make shares cargo's jobserver.
    UnixMakefiles,
}

/// `cmake -S -B && cmake --build && cmake --install` (see [`Stage::cmake`]).
#[derive(Debug, Clone)]
#[must_use = "a driver does nothing until `run()`"]
pub struct CMake<'s> {
    stage: &'s Stage,
    common: Common,
    generator: Generator,
    defines: Vec<String>,
    targets: Vec<String>,
}

common_setters!(CMake);

impl CMake<'_> {
    /// A cache entry, `-D<name>=<value>`.
    pub fn define(mut self, name: &str, value: &str) -> Self {
        self.defines.push(format!("-D{name}={value}"));
        self
    }

    /// The generator (default Ninja).
    pub fn generator(mut self, generator: Generator) -> Self {
        self.generator = generator;
        self
    }

    /// Targets for `cmake --build` (default: all).
    pub fn targets<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, targets: I) -> Self {
        self.targets = targets.into_iter().map(|t| t.as_ref().to_string()).collect();
        self
    }

    /// The toolchain file for this run.
    fn toolchain_file(&self, run: &Run) -> String {
        let setup = &run.setup;
        let tc = &setup.toolchain;
        let q = |s: &str| cmake_quote(s);
        let p = |p: &Path| cmake_quote(&p.display().to_string());
        let mut c_flags = tc.cc_musl_flags.clone();
        c_flags.extend(run.cflags());
        c_flags.extend(setup.cppflags());
        let static_ldflags = run.ldflags();
        let mut shared_ldflags = setup.ldflags(Linkage::Dynamic);
        shared_ldflags.extend(self.common.ldflags.iter().cloned());
        let mut out = format!(
            "# Generated by talos-ext-build for {arch}.\n\
             set(CMAKE_SYSTEM_NAME Linux)\n\
             set(CMAKE_SYSTEM_PROCESSOR {cpu})\n\
             set(CMAKE_C_COMPILER {cc})\n\
             set(CMAKE_AR {ar} CACHE FILEPATH \"\")\n\
             set(CMAKE_RANLIB {ranlib} CACHE FILEPATH \"\")\n\
             set(CMAKE_NM {nm} CACHE FILEPATH \"\")\n\
             set(CMAKE_STRIP {strip} CACHE FILEPATH \"\")\n\
             set(CMAKE_C_FLAGS_INIT {cflags})\n\
             set(CMAKE_EXE_LINKER_FLAGS_INIT {exe})\n\
             set(CMAKE_SHARED_LINKER_FLAGS_INIT {shared})\n\
             set(CMAKE_MODULE_LINKER_FLAGS_INIT {shared})\n\
             set(CMAKE_FIND_ROOT_PATH {sysroot})\n\
             set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)\n\
             set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)\n\
             set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)\n\
             set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)\n",
            arch = tc.arch,
            cpu = tc.cpu(),
            cc = p(&tc.cc),
            ar = p(&tc.ar),
            ranlib = p(&tc.binutil("ranlib")),
            nm = p(&tc.binutil("nm")),
            strip = p(&tc.strip),
            cflags = q(&c_flags.join(" ")),
            exe = q(&static_ldflags.join(" ")),
            shared = q(&shared_ldflags.join(" ")),
            sysroot = p(&setup.sysroot),
        );
        if self.common.linkage == Linkage::Static {
            out.push_str("set(CMAKE_FIND_LIBRARY_SUFFIXES \".a\")\n");
        }
        if let Some(launcher) = &tc.launcher {
            out.push_str(&format!("set(CMAKE_C_COMPILER_LAUNCHER {})\n", p(launcher)));
        }
        out
    }

    /// Configures, builds and installs.
    pub fn run(self) -> Result<Built> {
        let mut run = Run::start(self.stage, &self.common, "cmake")?;
        let file = run.setup.work.join("build").join(format!("{}.toolchain.cmake", self.common.name));
        let toolchain_text = self.toolchain_file(&run);
        fs::write(&file, &toolchain_text).with_context(|| format!("writing {}", file.display()))?;
        let env = run.base_env();
        let generator = match self.generator {
            Generator::Ninja => "Ninja",
            Generator::UnixMakefiles => "Unix Makefiles",
        };
        let shared = if self.common.linkage == Linkage::Static { "OFF" } else { "ON" };
        let configure = run
            .step("configure", "cmake", &run.build_dir, &env)
            .arg("-S")
            .arg(&self.common.src)
            .arg("-B")
            .arg(&run.build_dir)
            .args(["-G", generator])
            .arg(format!("-DCMAKE_TOOLCHAIN_FILE={}", file.display()))
            .arg(format!("-DCMAKE_INSTALL_PREFIX={}", run.prefix))
            .arg("-DCMAKE_INSTALL_LIBDIR=lib")
            .arg(format!("-DBUILD_SHARED_LIBS={shared}"))
            .args(&self.defines);
        run.configure("configure", configure, &[toolchain_text.as_bytes()])?;
        let jobs = match self.generator {
            Generator::Ninja => run.setup.jobs.ninja_args(),
            // `cmake --build -j N` would give make a private pool; without it make uses MAKEFLAGS.
            Generator::UnixMakefiles => run.setup.jobs.make_args(),
        };
        let mut build = run.step("build", "cmake", &run.build_dir, &env).arg("--build").arg(&run.build_dir).args(jobs);
        if !self.targets.is_empty() {
            build = build.arg("--target").args(&self.targets);
        }
        run.phase("build", build)?;
        if run.installs() {
            let install = run
                .step("install", "cmake", &run.build_dir, &env)
                .env("DESTDIR", &run.install_dir)
                .arg("--install")
                .arg(&run.build_dir)
                .arg("--prefix")
                .arg(&run.prefix);
            run.install(install)?;
        }
        let installed = run.installs();
        run.finish(installed)
    }
}

/// A cmake quoted argument.
fn cmake_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', r"\\").replace('"', "\\\"").replace('$', r"\$"))
}

// ---------------------------------------------------------------------------------------------
// plain make

/// `make CC=... <targets>` on a copy of the sources (see [`Stage::make`]).
#[derive(Debug, Clone)]
#[must_use = "a driver does nothing until `run()`"]
pub struct Make<'s> {
    stage: &'s Stage,
    common: Common,
    subdir: Option<String>,
    vars: Vec<String>,
    targets: Vec<String>,
    install_targets: Vec<String>,
    override_flags: bool,
}

common_setters!(Make);

impl Make<'_> {
    /// Runs make in this subdirectory of the (copied) sources.
    pub fn subdir(mut self, dir: &str) -> Self {
        self.subdir = Some(dir.to_string());
        self
    }

    /// Variables (`VAR=value`) for every `make`.
    pub fn vars<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, vars: I) -> Self {
        self.vars.extend(vars.into_iter().map(|v| v.as_ref().to_string()));
        self
    }

    /// Targets of the build `make` (default: the Makefile's default target).
    pub fn targets<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, targets: I) -> Self {
        self.targets = targets.into_iter().map(|t| t.as_ref().to_string()).collect();
        self
    }

    /// Targets of an install `make` with `DESTDIR`, `PREFIX` and `prefix` (default: none, so
    /// no install step; the recipe picks files from [`Built::output`]).
    pub fn install_targets<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, targets: I) -> Self {
        self.install_targets = targets.into_iter().map(|t| t.as_ref().to_string()).collect();
        self
    }

    /// Also passes `CFLAGS`/`CPPFLAGS`/`LDFLAGS` on make's command line, for Makefiles that
    /// assign them with `=` (by default they come from the environment, so `+=` still works).
    pub fn override_flags(mut self) -> Self {
        self.override_flags = true;
        self
    }

    /// Copies the sources, builds and (with install targets) installs.
    pub fn run(self) -> Result<Built> {
        let mut run = Run::start(self.stage, &self.common, "make")?;
        if run.emptied {
            talos_ext_fs::merge_tree(&self.common.src, &run.build_dir, |_| false)?;
        }
        let dir = match &self.subdir {
            Some(sub) => run.build_dir.join(check_relative(sub)?),
            None => run.build_dir.clone(),
        };
        let env = run.cross_env();
        let mut vars: Vec<String> = ["CC", "AR", "RANLIB", "STRIP", "NM"]
            .iter()
            .filter_map(|name| env.get_str(name).map(|v| format!("{name}={v}")))
            .collect();
        if self.override_flags {
            for name in ["CFLAGS", "CPPFLAGS", "LDFLAGS"] {
                vars.push(format!("{name}={}", env.get_str(name).unwrap_or_default()));
            }
        }
        vars.extend(self.vars.iter().cloned());
        let make =
            run.step("make", "make", &dir, &env).args(run.setup.jobs.make_args()).args(&vars).args(&self.targets);
        run.phase("make", make)?;
        let installs = run.installs() && !self.install_targets.is_empty();
        if installs {
            let install = run
                .step("install", "make", &dir, &env)
                .args(&vars)
                .arg(format!("DESTDIR={}", run.install_dir.display()))
                .arg(format!("PREFIX={}", run.prefix))
                .arg(format!("prefix={}", run.prefix))
                .args(&self.install_targets);
            run.install(install)?;
        }
        run.finish(installs)
    }
}

// ---------------------------------------------------------------------------------------------
// Stage entry points

impl Stage {
    /// An autotools build of the sources in `src`: `configure --host=<musl triple>
    /// --build=x86_64-linux-gnu --prefix=...`, `make`, `make install DESTDIR=...`.
    pub fn autotools(&self, name: &str, src: impl AsRef<Path>) -> Autotools<'_> {
        Autotools {
            stage: self,
            common: Common::new(name, src.as_ref()),
            autoreconf: false,
            configure_command: None,
            configure_args: Vec::new(),
            make_args: Vec::new(),
            make_targets: Vec::new(),
            make_subdirs: Vec::new(),
            install_targets: vec!["install".into()],
        }
    }

    /// A meson build of the sources in `src`, with a generated cross file.
    pub fn meson(&self, name: &str, src: impl AsRef<Path>) -> Meson<'_> {
        Meson {
            stage: self,
            common: Common::new(name, src.as_ref()),
            release: MesonRelease::default(),
            options: Vec::new(),
            targets: Vec::new(),
        }
    }

    /// A cmake build of the sources in `src`, with a generated toolchain file.
    pub fn cmake(&self, name: &str, src: impl AsRef<Path>) -> CMake<'_> {
        CMake {
            stage: self,
            common: Common::new(name, src.as_ref()),
            generator: Generator::default(),
            defines: Vec::new(),
            targets: Vec::new(),
        }
    }

    /// A plain-Makefile build of (a copy of) the sources in `src`.
    pub fn make(&self, name: &str, src: impl AsRef<Path>) -> Make<'_> {
        Make {
            stage: self,
            common: Common::new(name, src.as_ref()),
            subdir: None,
            vars: Vec::new(),
            targets: Vec::new(),
            install_targets: Vec::new(),
            override_flags: false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// helpers

fn file_contains(path: &Path, needle: &str) -> Result<bool> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meson_releases() {
        assert_eq!(MesonRelease::default(), MesonRelease::Debian);
        assert_eq!(MesonRelease::Debian.meson().unwrap(), Path::new("meson"));
        assert_eq!(MesonRelease::Debian.python().unwrap(), Path::new("/usr/bin/python3"));
        match MesonRelease::Pinned.meson() {
            Ok(path) => assert_eq!(path, Path::new(MESON_VENV).join("bin/meson")),
            Err(e) => assert!(format!("{e:#}").contains("hint: run `bash ci/setup.sh`"), "{e:#}"),
        }
    }

    #[test]
    fn a_copied_directory_override_is_identified_by_its_contents() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("configure"), "one").unwrap();
        let stamp = |n: u32| Some(format!("{}{n}", crate::sources::OVERRIDE_DIR_STAMP));
        // Every copy gets a new stamp; the same contents are the same source for the phases.
        let first = tree_identity(stamp(1), &src).unwrap();
        assert_eq!(first, tree_identity(stamp(2), &src).unwrap());
        assert!(first.starts_with("tree "), "{first}");
        fs::write(src.join("configure"), "two").unwrap();
        assert_ne!(first, tree_identity(stamp(3), &src).unwrap(), "changed contents are another source");
        // An unpacked pin is identified by its stamp (pinned sha256 + patches), not re-read.
        assert_eq!(tree_identity(Some("abc".into()), &src).unwrap(), "unpacked abc");
        assert_eq!(tree_identity(None, &src).unwrap(), tree_identity(stamp(4), &src).unwrap());
    }

    #[test]
    fn quoting() {
        assert_eq!(meson_quote(r"a'b\c"), r"'a\'b\\c'");
        assert_eq!(cmake_quote(r#"a"b$c"#), r#""a\"b\$c""#);
    }
}
