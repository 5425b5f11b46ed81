//! Kernel modules in recipes: out-of-tree modules built with kbuild against the extension's kernel
//! toolchain, and signed in-tree modules selected from the toolchain's module tree.
//!
//! ```no_run
//! # use talos_ext_build::prelude::*;
//! # fn recipe(s: &mut Stage) -> Result<()> {
//! // Out of tree: `make -C <tree> M=<copy of native/> modules`, strip, sign, install as
//! // usr/lib/modules/<release>/extras/hello.ko.
//! s.kbuild_modules("hello").crate_dir("native").expect_modules(["hello.ko"]).run()?;
//! // In tree: the modules the metadata lists for this arch (`[...talos-extension.modules]`).
//! s.install_in_tree_modules()?;
//! # Ok(()) }
//! ```
//!
//! The toolchain is chosen by `talos_ext_model::toolchain::select` (`TALOS_EXT_TOOLCHAIN`, the
//! extension's `toolchain` field, then the pin's defaults: Debian for examples, Talos for the
//! catalog) and prepared by `talos-ext-kernel` in the shared cache. Out-of-tree builds:
//! - run `make` as a logged [`Command`] with a clean environment, `ARCH=`, `CROSS_COMPILE=` (gcc) or
//!   `LLVM=1`, and `KCFLAGS=-ffile-prefix-map=<build dir>=/build/<name>` so paths do not leak;
//! - work on a copy of the sources in `<work>/kbuild/<name>` (kbuild writes into `M=`), where
//!   [`KbuildModules::replace`] fix-ups are applied;
//! - check each module's vermagic against the toolchain's release, strip it with the arch's
//!   `strip --strip-debug` and only then sign it (sha512) with the toolchain's key, checked
//!   against `toolchain/keys.lock`. The key stays in the cache; it is never passed to `make`.
//!
//! In-tree selection keeps the kernel build's signatures, decompresses `.ko.xz` to plain `.ko`,
//! installs each module under its own relative path plus `modules.order`, `modules.builtin` and
//! `modules.builtin.modinfo`, and warns about `depends=` that neither the extension nor the base
//! kernel provides.
//!
//! Tests choose a toolchain or key lock without touching the process environment through
//! [`with_overrides`] (thread-local, so parallel tests do not interfere).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use talos_ext_kernel::{
    BuildTree, KernelContext, KeyFiles, PrepareOptions, Unresolved, module_name, prepare_build_tree,
    prepare_module_tree, unresolved_depends,
};
use talos_ext_model::toolchain::{ENV_TOOLCHAIN, SelectedBy, select};
use talos_ext_model::{KEYS_LOCK_PATH, PIN_PATH, Pin, TOOLCHAINS_DIR, Toolchain};

use crate::fresh::{Key, Phases};
use crate::stage::Stage;
use crate::step::{Command, Jobs, clean_env};
use talos_ext_validate::KernelExpectation;

/// Settings that replace the environment's for the kernel steps of this thread.
#[derive(Debug, Clone, Default)]
pub struct KernelOverrides {
    /// Instead of [`ENV_TOOLCHAIN`] (and above metadata and rules).
    pub toolchain: Option<String>,
    /// Instead of `toolchain/keys.lock`.
    pub keys_lock: Option<PathBuf>,
    /// Instead of `TALOS_EXT_MODULE_KEY` / `TALOS_EXT_MODULE_CERT`.
    pub key_files: Option<KeyFiles>,
}

thread_local! {
    static OVERRIDES: RefCell<Option<KernelOverrides>> = const { RefCell::new(None) };
}

/// Runs `f` with `overrides` in effect for kernel steps on this thread (restored afterwards).
pub fn with_overrides<T>(overrides: KernelOverrides, f: impl FnOnce() -> T) -> T {
    let old = OVERRIDES.with(|o| o.replace(Some(overrides)));
    let out = f();
    OVERRIDES.with(|o| *o.borrow_mut() = old);
    out
}

fn overrides() -> KernelOverrides {
    OVERRIDES.with(|o| o.borrow().clone()).unwrap_or_default()
}

/// Whether this process is a cargo build script (where `cargo:` lines on stdout mean something).
fn in_build_script() -> bool {
    ["OUT_DIR", "TARGET", "HOST"].iter().all(|v| std::env::var_os(v).is_some())
}

/// Shows a warning (once per process): a cargo warning in a build script, stderr elsewhere.
fn warn(message: &str) {
    static SHOWN: std::sync::Mutex<BTreeSet<String>> = std::sync::Mutex::new(BTreeSet::new());
    if let Ok(mut shown) = SHOWN.lock()
        && !shown.insert(message.to_string())
    {
        return;
    }
    for line in message.lines() {
        if in_build_script() {
            println!("cargo:warning={line}");
        } else {
            eprintln!("warning: {line}");
        }
    }
}

/// One out-of-tree module build: see [`Stage::kbuild_modules`].
#[derive(Debug)]
#[must_use = "a kbuild step does nothing until `run()`"]
pub struct KbuildModules<'a> {
    stage: &'a Stage,
    name: String,
    source: Option<ModuleSource>,
    subdir: Option<String>,
    replacements: Vec<(String, String, String)>,
    configure: Option<Vec<String>>,
    make_args: Vec<String>,
    expect: Vec<String>,
    install_dir: String,
}

/// The placeholders of [`KbuildModules::configure`] and [`KbuildModules::make_arg`] arguments and
/// their meaning.
pub const CONFIGURE_PLACEHOLDERS: [(&str, &str); 6] = [
    ("{kernel_source}", "the kernel source directory (BuildTree::source_dir)"),
    ("{kernel_build}", "the kernel build directory, `make -C` (BuildTree::dir)"),
    ("{kernel_arch}", "kbuild's ARCH (`x86`, `arm64`)"),
    ("{cross_compile}", "kbuild's CROSS_COMPILE (`aarch64-linux-gnu-` for a gcc arm64 tree, else empty)"),
    ("{llvm}", "kbuild's LLVM (`1`, `-22`; empty for gcc)"),
    (
        "{host}",
        "the GNU triplet of the tree's arch (`x86_64-linux-gnu`, `aarch64-linux-gnu`), for `--host`: \
         a configure that checks the target CPU (OpenZFS' SIMD checks) must not check the build machine's",
    ),
];

#[derive(Debug, Clone)]
enum ModuleSource {
    CrateDir(String),
    Dir(PathBuf),
    Pinned(String),
}

/// What [`KbuildModules::run`] did.
#[derive(Debug, Clone)]
pub struct KbuildReport {
    pub toolchain: String,
    /// The kernel release the modules were built for (their directory under `usr/lib/modules`).
    pub release: String,
    pub modules: Vec<InstalledModule>,
    /// Wall time of `make` (and `configure`, when the build has one; zero when the build was
    /// fresh and neither ran).
    pub build_time: Duration,
    /// The `make` step's log (`None` when it did not run).
    pub log: Option<PathBuf>,
    /// The certificate fingerprint of the signing key.
    pub key_fingerprint: String,
    /// The directory kbuild built in (`M=`, in the build's copy of the sources), holding its
    /// `Module.symvers`: what a second build that links against these modules needs
    /// (`KBUILD_EXTRA_SYMBOLS`, or a driver's own path to their headers).
    pub module_dir: PathBuf,
}

/// One installed module.
#[derive(Debug, Clone)]
pub struct InstalledModule {
    /// Rootfs-relative path, `usr/lib/modules/<release>/extras/hello.ko`.
    pub dest: String,
    pub size: u64,
    pub strip_time: Duration,
    pub sign_time: Duration,
}

/// What [`Stage::install_in_tree_modules`] did.
#[derive(Debug, Clone)]
pub struct InTreeReport {
    pub toolchain: String,
    pub release: String,
    /// Rootfs-relative paths of the installed modules and index files.
    pub installed: Vec<String>,
    /// Signer common names of the selected modules (deduplicated).
    pub signers: Vec<String>,
    /// `depends=` nothing provides (also shown as warnings).
    pub unresolved: Vec<Unresolved>,
}

impl Stage {
    /// The kernel context (cache, fetch settings, key lock) of this stage.
    pub fn kernel_context(&self) -> Result<KernelContext> {
        let root = self.workspace_root()?;
        let o = overrides();
        let mut ctx = KernelContext::from_env(&root)?;
        ctx.fetch = self.fetch.clone();
        if let Some(lock) = o.keys_lock {
            ctx.keys_lock = lock;
        }
        if o.key_files.is_some() {
            ctx.key_files = o.key_files;
        }
        Ok(ctx)
    }

    fn workspace_root(&self) -> Result<PathBuf> {
        Pin::find_workspace_root(&self.manifest_dir)
            .with_context(|| format!("no {PIN_PATH} above {}", self.manifest_dir.display()))
    }

    /// The kernel toolchain this extension uses (see the module docs), loaded.
    pub fn kernel_toolchain(&self) -> Result<Toolchain> {
        let root = self.workspace_root()?;
        if in_build_script() {
            for var in talos_ext_kernel::ENV_VARS {
                println!("cargo:rerun-if-env-changed={var}");
            }
            println!("cargo:rerun-if-changed={}", root.join(TOOLCHAINS_DIR).display());
            println!("cargo:rerun-if-changed={}", root.join(KEYS_LOCK_PATH).display());
        }
        let env = overrides().toolchain.or_else(|| std::env::var(ENV_TOOLCHAIN).ok());
        let Some((name, why)) = select(&self.meta, &self.pin, env.as_deref()) else {
            bail!(
                "`{}` needs a kernel toolchain, but none is named: set `toolchain` in its metadata, [toolchains] in {PIN_PATH}, or {ENV_TOOLCHAIN}",
                self.meta.name
            );
        };
        Toolchain::load(&root, &name)
            .with_context(|| format!("the kernel toolchain of `{}` (chosen by {why})", self.meta.name))
    }

    /// Starts an out-of-tree module build named `name` (see [`KbuildModules`]).
    pub fn kbuild_modules(&self, name: &str) -> KbuildModules<'_> {
        KbuildModules {
            stage: self,
            name: name.to_string(),
            source: None,
            subdir: None,
            replacements: Vec::new(),
            configure: None,
            make_args: Vec::new(),
            expect: Vec::new(),
            install_dir: DEFAULT_INSTALL_DIR.to_string(),
        }
    }

    /// Installs the in-tree modules the metadata lists for this arch (`modules.<arch>`).
    pub fn install_in_tree_modules(&self) -> Result<InTreeReport> {
        let list = self.meta.modules_for(self.arch).to_vec();
        if list.is_empty() {
            bail!(
                "`{}` lists no in-tree modules for {} (package.metadata.talos-extension.modules.{})",
                self.meta.name,
                self.arch,
                self.arch
            );
        }
        self.install_in_tree_module_list(&list)
    }

    /// Installs the in-tree modules `rels` (`kernel/...ko`) from the toolchain's module tree,
    /// with their signatures, plus the index files; warns about unresolved `depends=`.
    pub fn install_in_tree_module_list(&self, rels: &[String]) -> Result<InTreeReport> {
        let tc = self.kernel_toolchain()?;
        let ctx = self.kernel_context()?;
        let (tree, notes) = prepare_module_tree(&ctx, &tc, self.arch)?;
        notes.iter().for_each(|n| warn(n));
        let selected = tree.select(rels)?;
        let base = format!("usr/lib/modules/{}", tree.release);
        let mut installed = Vec::new();
        for m in &selected {
            let dest = format!("{base}/{}", m.rel);
            self.install_bytes(&dest, &m.bytes, 0o644)?;
            installed.push(dest);
        }
        for (name, path) in tree.index_files() {
            let dest = format!("{base}/{name}");
            self.install(&path, &dest, 0o644)?;
            installed.push(dest);
        }
        // What the extension provides: what it selected plus any module already staged.
        let mut provided: BTreeSet<String> = selected.iter().map(|m| m.name.replace('-', "_")).collect();
        collect_module_names(&self.rootfs().join(&base), &mut provided);
        let deps: Vec<(String, Vec<String>)> = selected.iter().map(|m| (m.name.clone(), m.depends.clone())).collect();
        let unresolved = unresolved_depends(&deps, &provided, &tree.base_names());
        if !unresolved.is_empty() {
            let list: Vec<String> = unresolved.iter().map(|u| format!("{} needs {}", u.module, u.depends)).collect();
            warn(&format!(
                "{} ({}, toolchain `{}`): modules depend on modules neither this extension nor the base kernel provides: {}",
                self.meta.name,
                self.arch,
                tc.name,
                list.join(", ")
            ));
        }
        let mut signers: Vec<String> = selected.iter().filter_map(|m| m.signer.clone()).collect();
        signers.sort();
        signers.dedup();
        // Their signer is the distribution's kernel key, not ours: no signer expectation.
        self.expect_kernel(KernelExpectation {
            release: tree.release.clone(),
            arch: Some(self.arch),
            ..Default::default()
        })?;
        Ok(InTreeReport { toolchain: tc.name, release: tree.release, installed, signers, unresolved })
    }

    /// Records the kernel the staged modules are for; a second kernel step must agree on the
    /// release (one extension ships modules for one kernel). Flags and exports known to either
    /// are kept; the signer only when both steps name the same one (in-tree modules keep the
    /// kernel build's signatures, out-of-tree ones get the toolchain key's).
    fn expect_kernel(&self, new: KernelExpectation) -> Result<()> {
        let mut slot = self.kernel.borrow_mut();
        match slot.as_mut() {
            Some(old) if old.release != new.release => bail!(
                "{}: modules for kernel {} and {} in one extension ({})",
                self.meta.name,
                old.release,
                new.release,
                self.arch
            ),
            Some(old) => {
                if old.signer_key_id != new.signer_key_id {
                    old.signer_key_id = None;
                }
                old.vermagic_flags = old.vermagic_flags.take().or(new.vermagic_flags);
                old.symvers = old.symvers.take().or(new.symvers);
            }
            None => *slot = Some(new),
        }
        Ok(())
    }
}

fn collect_module_names(dir: &Path, out: &mut BTreeSet<String>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.filter_map(Result::ok) {
        let path = e.path();
        if path.is_dir() {
            collect_module_names(&path, out);
        } else if let Some(n) = path.file_name().map(|n| n.to_string_lossy().into_owned())
            && n.ends_with(".ko")
        {
            out.insert(module_name(&n));
        }
    }
}

impl KbuildModules<'_> {
    /// Sources from a directory of the extension crate (`native`).
    pub fn crate_dir(mut self, rel: &str) -> Self {
        self.source = Some(ModuleSource::CrateDir(rel.to_string()));
        self
    }

    /// Sources from any directory (never modified: the build works on a copy).
    pub fn source_dir(mut self, dir: &Path) -> Self {
        self.source = Some(ModuleSource::Dir(dir.to_path_buf()));
        self
    }

    /// Sources from the pinned source `name` of the metadata (fetched, unpacked, patched).
    pub fn pinned_source(mut self, name: &str) -> Self {
        self.source = Some(ModuleSource::Pinned(name.to_string()));
        self
    }

    /// The directory inside the sources holding the Kbuild file (`src`), `M=` of make.
    pub fn subdir(mut self, rel: &str) -> Self {
        self.subdir = Some(rel.to_string());
        self
    }

    /// Replaces every `from` with `to` in `file` (relative to the sources; `*` means every text
    /// file) before building; the build fails if `from` does not occur (a fix-up that no longer
    /// applies must be noticed).
    pub fn replace(mut self, file: &str, from: &str, to: &str) -> Self {
        self.replacements.push((file.to_string(), from.to_string(), to.to_string()));
        self
    }

    /// Runs the sources' own `./configure <args>` (in the copy, with the clean kbuild
    /// environment) before `make`, for module sources configured against the kernel (OpenZFS:
    /// `--with-config=kernel --with-linux={kernel_source} --with-linux-obj={kernel_build}`).
    /// The placeholders of [`CONFIGURE_PLACEHOLDERS`] are replaced by the prepared tree's values.
    /// A rerun skips it while sources, fix-ups, tree and arguments are unchanged.
    pub fn configure<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, args: I) -> Self {
        self.configure = Some(args.into_iter().map(|a| a.as_ref().to_string()).collect());
        self
    }

    /// An extra `make` argument (`CONFIG_X=m`, `KVERSION=...`), with the placeholders of
    /// [`CONFIGURE_PLACEHOLDERS`] replaced by the prepared tree's values
    /// (`NV_KERNEL_SOURCES={kernel_source}`).
    pub fn make_arg(mut self, arg: &str) -> Self {
        self.make_args.push(arg.to_string());
        self
    }

    /// Module file names that must come out of the build (`gasket.ko`).
    pub fn expect_modules<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, names: I) -> Self {
        self.expect.extend(names.into_iter().map(|s| s.as_ref().to_string()));
        self
    }

    /// The directory under `usr/lib/modules/<release>/` the modules are installed into
    /// (kbuild's `INSTALL_MOD_DIR`): `extras` unless given (NVIDIA's `kernel/drivers/video`).
    pub fn install_dir(mut self, rel: &str) -> Self {
        self.install_dir = rel.trim_matches('/').to_string();
        self
    }

    /// Builds, strips, signs and installs the modules into
    /// `usr/lib/modules/<release>/<install dir>/` (`extras` by default).
    pub fn run(self) -> Result<KbuildReport> {
        let s = self.stage;
        let name = &self.name;
        let Some(source) = &self.source else {
            bail!("kbuild `{name}`: no sources given (crate_dir, source_dir or pinned_source)");
        };
        if self.install_dir.is_empty() || self.install_dir.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
            bail!("kbuild `{name}`: install directory `{}` is not a plain relative path", self.install_dir);
        }
        // Cheap failures first: the toolchain, its sources, the key; then the heavy work.
        let tc = s.kernel_toolchain()?;
        let src = match source {
            ModuleSource::CrateDir(rel) => s.manifest_dir.join(rel),
            ModuleSource::Dir(dir) => dir.clone(),
            ModuleSource::Pinned(source) => s.source(source)?,
        };
        if !src.is_dir() {
            bail!("kbuild `{name}`: source directory {} does not exist", src.display());
        }
        let ctx = s.kernel_context()?;
        let key = ctx.module_key(&tc.name)?;
        if key.locked.is_none() {
            warn(&format!(
                "toolchain `{}`: module signing key {} ({}) is not recorded in {}; record it with `cargo xtask toolchain rekey --toolchain {}`",
                tc.name,
                key.fingerprint,
                key.origin,
                ctx.keys_lock.display(),
                tc.name
            ));
        }
        let stand_in_source = s.kernel_source_override();
        let tree = prepare_build_tree(&ctx, &tc, s.arch, PrepareOptions { stand_in_source, ..Default::default() })?;
        tree.notes.iter().for_each(|n| warn(n));
        let symvers = tree.dir.join("Module.symvers");
        if !symvers.is_file() {
            bail!(
                "kbuild `{name}`: the {} build tree of toolchain `{}` has no Module.symvers ({}), so modpost cannot resolve the kernel's symbols nor record their CRCs\nhint: recover it from the kernel's published files with `cargo xtask toolchain symvers <unpacked kernel> -o {}` (or prepare with `--full`)",
                s.arch,
                tc.name,
                symvers.display(),
                symvers.display()
            );
        }

        let build = s.work.join("kbuild").join(name);
        // A rerun with the same sources, fix-ups and tree keeps the built objects (see `fresh`).
        let mut base = Key::new("kbuild");
        base.text("name", name)
            .text("source", &crate::drivers::source_identity(s, &src)?)
            .text("replacements", &format!("{:?}", self.replacements))
            .text("tree", &format!("{} {} {}", tree.cache_dir.display(), tree.dir.display(), tree.release));
        let mut phases = Phases::load(&s.work.join("kbuild").join(format!("{name}.stamp")), base.finish());
        if !phases.base_matches() || !build.is_dir() {
            phases.invalidate();
            talos_ext_fs::remove_dir_if_exists(&build)?;
            talos_ext_fs::copy_tree(&src, &build)?;
            for (file, from, to) in &self.replacements {
                let files = if file == "*" {
                    let mut all = Vec::new();
                    find_files(&build, &mut all);
                    all
                } else {
                    vec![build.join(file)]
                };
                let mut hits = 0;
                for path in files {
                    let Ok(text) = fs::read_to_string(&path) else {
                        if file == "*" {
                            continue; // not text
                        }
                        bail!("kbuild `{name}`: cannot read {} for a fix-up", path.display());
                    };
                    if text.contains(from.as_str()) {
                        hits += 1;
                        fs::write(&path, text.replace(from.as_str(), to))
                            .with_context(|| format!("writing {}", path.display()))?;
                    }
                }
                if hits == 0 {
                    bail!("kbuild `{name}`: fix-up `{from}` -> `{to}` does not apply: no `{from}` in {file}");
                }
            }
        }
        let module_dir = match &self.subdir {
            Some(sub) => build.join(sub),
            None => build.clone(),
        };
        let started = Instant::now();
        let configured = self.run_configure(&tree, &build, &mut phases)?;
        let (log, _) = self.make(&tree, &build, &module_dir, &mut phases)?;
        let build_time = if configured || log.is_some() { started.elapsed() } else { Duration::ZERO };

        let mut built = Vec::new();
        find_modules(&module_dir, &mut built);
        built.sort();
        let file_names: Vec<String> =
            built.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).collect();
        for want in &self.expect {
            if !file_names.contains(want) {
                bail!("kbuild `{name}`: the build did not produce {want} (it produced: {})", file_names.join(", "));
            }
        }
        if built.is_empty() {
            bail!("kbuild `{name}`: the build produced no .ko files (log: {})", display_log(&log));
        }
        let extras = format!("usr/lib/modules/{}/{}", tree.release, self.install_dir);
        let extras_dir = s.mkdir(&extras)?;
        let mut modules = Vec::new();
        for (ko, file) in built.iter().zip(&file_names) {
            check_module(ko, &tree)?;
            let out = extras_dir.join(file);
            let done = talos_ext_kernel::finish_module(ko, &out, &tree.strip_program(), &key.key)?;
            modules.push(InstalledModule {
                dest: format!("{extras}/{file}"),
                size: done.size,
                strip_time: done.strip_time,
                sign_time: done.sign_time,
            });
        }
        self.stage.expect_kernel(KernelExpectation {
            release: tree.release.clone(),
            signer_key_id: Some(key.key.key_id().to_string()),
            arch: Some(s.arch),
            vermagic_flags: tree.vermagic_flags()?,
            symvers: tree.symvers()?.map(std::sync::Arc::new),
        })?;
        // The tree's index files, where it has them (a fully built Talos tree does).
        for index in talos_ext_kernel::INDEX_FILES {
            let path = tree.dir.join(index);
            if path.is_file() {
                s.install(&path, &format!("usr/lib/modules/{}/{index}", tree.release), 0o644)?;
            }
        }
        Ok(KbuildReport {
            toolchain: tc.name,
            release: tree.release,
            modules,
            build_time,
            log,
            key_fingerprint: key.fingerprint,
            module_dir,
        })
    }

    /// The [`KbuildModules::configure`] step, unless there is none or it is fresh; whether it ran.
    fn run_configure(&self, tree: &BuildTree, build: &Path, phases: &mut Phases) -> Result<bool> {
        let Some(args) = &self.configure else { return Ok(false) };
        let s = self.stage;
        let configure = build.join("configure");
        if !configure.is_file() {
            bail!("kbuild `{}`: the sources have no configure script ({})", self.name, configure.display());
        }
        let args: Vec<String> = args.iter().map(|a| substitute_placeholders(a, tree)).collect();
        let home = s.work.join("home");
        fs::create_dir_all(&home).with_context(|| format!("creating {}", home.display()))?;
        let jobs = Jobs::from_env();
        let step = Command::new(&configure)
            .name(&format!("kbuild-{}-configure", self.name))
            .dir(build)
            .log_dir(s.work.join("logs"))
            .envs(clean_env(&home, s.source_date_epoch, &jobs))
            .args(&args);
        Ok(phases.run("configure", &step, &[], || Ok(()))?.is_some())
    }

    /// `make -C <tree> M=<module_dir> ... modules`, logged, unless it is fresh; returns its log
    /// and wall time (`None` and zero when it did not run).
    fn make(
        &self,
        tree: &BuildTree,
        build: &Path,
        module_dir: &Path,
        phases: &mut Phases,
    ) -> Result<(Option<PathBuf>, Duration)> {
        let s = self.stage;
        let home = s.work.join("home");
        fs::create_dir_all(&home).with_context(|| format!("creating {}", home.display()))?;
        let jobs = Jobs::from_env();
        let env = clean_env(&home, s.source_date_epoch, &jobs);
        let logs = s.work.join("logs");
        let step = Command::new("make")
            .name(&format!("kbuild-{}", self.name))
            .dir(build)
            .log_dir(&logs)
            .envs(env)
            .arg("-C")
            .arg(&tree.dir)
            .arg(format!("M={}", module_dir.display()))
            .args(tree.make_vars())
            .arg(format!("KCFLAGS=-ffile-prefix-map={}=/build/{}", build.display(), self.name))
            .args(jobs.make_args())
            .args(self.make_args.iter().map(|a| substitute_placeholders(a, tree)))
            .arg("modules");
        let started = Instant::now();
        match phases.run("kbuild", &step, &[], || Ok(()))? {
            Some(ran) => Ok((ran.log, started.elapsed())),
            None => Ok((None, Duration::ZERO)),
        }
    }
}

/// Where [`KbuildModules`] installs modules unless told otherwise (kbuild's own default
/// `INSTALL_MOD_DIR` for external modules).
pub const DEFAULT_INSTALL_DIR: &str = "extras";

/// `arg` with every placeholder of [`CONFIGURE_PLACEHOLDERS`] replaced by `tree`'s value.
fn substitute_placeholders(arg: &str, tree: &BuildTree) -> String {
    let cross =
        if tree.llvm.is_none() && tree.arch == talos_ext_model::Arch::Arm64 { "aarch64-linux-gnu-" } else { "" };
    let values = [
        tree.source_dir.display().to_string(),
        tree.dir.display().to_string(),
        tree.arch.kernel_arch().to_string(),
        cross.to_string(),
        tree.llvm.clone().unwrap_or_default(),
        format!("{}-linux-gnu", tree.arch.gnu_machine()),
    ];
    CONFIGURE_PLACEHOLDERS
        .iter()
        .zip(&values)
        .fold(arg.to_string(), |a, ((placeholder, _), value)| a.replace(placeholder, value))
}

fn display_log(log: &Option<PathBuf>) -> String {
    log.as_ref().map_or_else(|| "not rebuilt".into(), |l| l.display().to_string())
}

/// The module must be for the toolchain's release and this arch.
fn check_module(ko: &Path, tree: &BuildTree) -> Result<()> {
    let bytes = fs::read(ko).with_context(|| format!("reading {}", ko.display()))?;
    let info = talos_ext_kmod::modinfo(&bytes).with_context(|| format!("reading .modinfo of {}", ko.display()))?;
    let release = info.kernel_release().unwrap_or_default();
    if release != tree.release {
        bail!(
            "{}: vermagic is for `{release}`, the toolchain `{}` is `{}`",
            ko.display(),
            tree.toolchain,
            tree.release
        );
    }
    let machine = talos_ext_kmod::elf_machine(&bytes)?;
    if machine.talos_arch() != Some(tree.arch.as_str()) {
        bail!("{}: built for {machine:?}, not {}", ko.display(), tree.arch);
    }
    Ok(())
}

fn find_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.filter_map(Result::ok) {
        match e.file_type() {
            Ok(t) if t.is_dir() => find_files(&e.path(), out),
            Ok(t) if t.is_file() => out.push(e.path()),
            _ => {}
        }
    }
}

fn find_modules(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.filter_map(Result::ok) {
        let path = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            find_modules(&path, out);
        } else if path.extension().is_some_and(|x| x == "ko") {
            out.push(path);
        }
    }
}

/// Why the toolchain of a stage was chosen, for messages (`TALOS_EXT_TOOLCHAIN`, ...).
pub fn selection_reason(stage: &Stage) -> Option<(String, SelectedBy)> {
    let env = overrides().toolchain.or_else(|| std::env::var(ENV_TOOLCHAIN).ok());
    select(&stage.meta, &stage.pin, env.as_deref())
}

/// The kernel toolchain library, for tests and tools of recipes (which depend only on this crate).
pub use talos_ext_kernel as toolchains;
/// Module signing and `.modinfo` reading, for tests of recipes.
pub use talos_ext_kmod as kmod;
