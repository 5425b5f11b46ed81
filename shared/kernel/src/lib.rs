//! Kernel toolchains for building and selecting kernel modules: prepared build trees and module
//! trees in a cache keyed by their inputs, and the module signing key of each toolchain.
//!
//! A toolchain (`toolchain/toolchains/<name>.toml`, [`Toolchain`]) is prepared per arch into
//! `<cache>/kernel/<toolchain>-<hash of inputs>/<arch>/` (see `cache`), where `<cache>` is
//! `TALOS_EXT_CACHE` or `<workspace>/.cache/talos-ext`:
//!
//! - [`prepare_build_tree`]: the tree external modules build against (`make -C <dir> M=...`).
//!   Debian: headers + amd64 kbuild extracted from Debian's packages (`debian`). Talos: the pinned
//!   source tarball, configured with `LLVM=1` (`talos`); offline it fails at once, naming the
//!   missing source.
//! - [`prepare_module_tree`]: the signed in-tree modules (`lib/modules/<release>`). Debian: the
//!   image package. Talos: the `kernel` image, which must have been exported into the cache.
//! - [`KernelContext::module_key`]: the signing key, checked against `toolchain/keys.lock`
//!   (see `keys`); [`finish_module`] strips (`--strip-debug`) and then signs a built module.
//!
//! Nothing here is silently rebuilt: a prepared part records its inputs and is reused only for
//! the same inputs. Notes for the user (an ABI fallback, a compiler mismatch) are returned, not
//! printed: the library never prints.

mod cache;
pub mod config;
mod debian;
mod error;
mod intree;
pub mod kbuild;
mod keys;
mod talos;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use talos_ext_process::Command;

use talos_ext_fetch::FetchConfig;
use talos_ext_kmod::symvers::Symvers;
use talos_ext_kmod::{HashAlgo, SigningKey, sign_module};
use talos_ext_model::toolchain::ToolchainSpec;
use talos_ext_model::{Arch, KEYS_LOCK_PATH, Toolchain};

pub use cache::{STAMP, disk_usage};
pub use error::{KernelError, MissingSource};
pub use intree::{Absence, Base, INDEX_FILES, ModuleTree, SelectedModule, Unresolved, module_name, unresolved_depends};
pub use keys::{
    ENV_MODULE_CERT, ENV_MODULE_KEY, KEY_BITS, KeyFiles, KeyOrigin, ModuleKey, keys_dir, module_key, rekey,
};
pub use talos_ext_model::toolchain::ENV_TOOLCHAIN;

/// Every environment variable that changes what this crate does (for `rerun-if-env-changed`).
pub const ENV_VARS: [&str; 6] = [
    ENV_TOOLCHAIN,
    ENV_MODULE_KEY,
    ENV_MODULE_CERT,
    talos_ext_fetch::ENV_CACHE,
    talos_ext_fetch::ENV_MIRRORS,
    talos_ext_fetch::ENV_OFFLINE,
];

/// The hash algorithm modules are signed with (`CONFIG_MODULE_SIG_HASH="sha512"` in Talos).
pub const SIG_HASH: HashAlgo = HashAlgo::Sha512;

/// Where and with what the toolchains are prepared.
#[derive(Debug, Clone)]
pub struct KernelContext {
    pub workspace_root: PathBuf,
    /// The fetch configuration; its `cache_dir` is the cache root (`<cache>/kernel/` is ours).
    pub fetch: FetchConfig,
    /// `toolchain/keys.lock`.
    pub keys_lock: PathBuf,
    /// A key given by [`ENV_MODULE_KEY`] / [`ENV_MODULE_CERT`].
    pub key_files: Option<KeyFiles>,
    /// Parallel jobs of `make` when preparing a Talos tree.
    pub jobs: usize,
}

impl KernelContext {
    /// The context of a workspace from the environment: `TALOS_EXT_CACHE` (default
    /// `<workspace>/.cache/talos-ext`), mirrors, offline mode and the key variables.
    pub fn from_env(workspace_root: &Path) -> Result<KernelContext, KernelError> {
        let fetch = FetchConfig::from_env(workspace_root.join(".cache/talos-ext")).map_err(|e| KernelError::Key {
            toolchain: "*".into(),
            message: format!("reading the cache settings: {e}"),
        })?;
        let jobs = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Ok(KernelContext {
            workspace_root: workspace_root.to_path_buf(),
            fetch,
            keys_lock: workspace_root.join(KEYS_LOCK_PATH),
            key_files: KeyFiles::from_env()?,
            jobs,
        })
    }

    /// `<cache>/kernel`.
    pub fn kernel_dir(&self) -> PathBuf {
        self.fetch.cache_dir.join("kernel")
    }

    /// `<cache>/debian`: the Debian toolchains' apt states (see `talos-ext-debian`).
    pub fn debian_dir(&self) -> PathBuf {
        self.fetch.cache_dir.join(talos_ext_debian::CACHE_SUBDIR)
    }

    /// Loads a toolchain definition of the workspace.
    pub fn toolchain(&self, name: &str) -> Result<Toolchain, KernelError> {
        Ok(Toolchain::load(&self.workspace_root, name)?)
    }

    /// The key `toolchain`'s modules are signed with, checked against the lock.
    pub fn module_key(&self, toolchain: &str) -> Result<ModuleKey, KernelError> {
        module_key(toolchain, self.key_files.as_ref(), &keys_dir(&self.kernel_dir(), toolchain), &self.keys_lock)
    }

    /// Records the key builds will use in the lock (see [`rekey`]).
    pub fn rekey(&self, toolchain: &str, new_key: bool) -> Result<ModuleKey, KernelError> {
        rekey(toolchain, self.key_files.as_ref(), &keys_dir(&self.kernel_dir(), toolchain), &self.keys_lock, new_key)
    }
}

/// Options of [`prepare_build_tree`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrepareOptions {
    /// Talos: build `vmlinux` and all modules too, for `Module.symvers` (hours on 2 cores).
    pub full_build: bool,
    /// Talos: a **stand-in** kernel source archive (another release of Linux, e.g. Debian's
    /// `linux_6.18.15.orig.tar.xz`) instead of the pinned tarball, for offline work. The tree
    /// gets that source's real release (`6.18.15-talos`, never the pinned one), its config
    /// check allows the options that source's Kconfig does not define, and it is kept apart in
    /// the cache. Modules built against it do not load on the pinned Talos kernel.
    pub stand_in_source: Option<PathBuf>,
}

/// A prepared build tree for one arch.
#[derive(Debug, Clone)]
pub struct BuildTree {
    pub toolchain: String,
    pub arch: Arch,
    /// The kernel release modules are built for (vermagic), `6.12.117+deb12-amd64`.
    pub release: String,
    /// The `make -C` directory.
    pub dir: PathBuf,
    /// The kernel's source directory, for module sources whose own `configure` reads kernel
    /// headers directly (OpenZFS' `--with-linux`): Debian's `-common` headers tree, whose
    /// Makefile `dir` includes; the same as `dir` for a Talos tree (built in its source).
    pub source_dir: PathBuf,
    /// kbuild's `LLVM=` value for LLVM builds (`1`, or the programs' suffix `-22`); `None`:
    /// gcc and binutils.
    pub llvm: Option<String>,
    /// The cache directory of this toolchain, inputs and arch.
    pub cache_dir: PathBuf,
    /// Things the user should know (ABI fallback, compiler differences, ...).
    pub notes: Vec<String>,
    /// Prepared from a stand-in source ([`PrepareOptions::stand_in_source`]): what it was.
    pub stand_in: Option<String>,
}

impl BuildTree {
    /// `make` variables of every external module build with this tree: `ARCH`, and
    /// `CROSS_COMPILE` or `LLVM=1` (`LLVM=-22` for suffixed programs).
    pub fn make_vars(&self) -> Vec<String> {
        let mut vars = vec![format!("ARCH={}", self.arch.kernel_arch())];
        if let Some(llvm) = &self.llvm {
            vars.push(format!("LLVM={llvm}"));
        } else if self.arch == Arch::Arm64 {
            vars.push("CROSS_COMPILE=aarch64-linux-gnu-".into());
        }
        vars
    }

    /// The `strip` of this tree's arch and compiler.
    pub fn strip_program(&self) -> PathBuf {
        strip_program(self.llvm.as_deref(), self.arch)
    }

    /// What follows the release in the vermagic of this tree's kernel, from its `.config` (see
    /// [`vermagic_flags`]); `None` when the tree has no `.config` or the flags cannot be known.
    pub fn vermagic_flags(&self) -> Result<Option<String>, KernelError> {
        let path = self.dir.join(".config");
        match fs::read_to_string(&path) {
            Ok(config) => Ok(vermagic_flags(&config, self.arch)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(KernelError::io("read", &path)(e)),
        }
    }

    /// The kernel's exports, from the tree's `Module.symvers` (a Debian headers tree ships the
    /// real one; a Talos tree has one only when recovered or fully built); `None` without one or
    /// when it is empty.
    pub fn symvers(&self) -> Result<Option<Symvers>, KernelError> {
        let path = self.dir.join("Module.symvers");
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(KernelError::io("read", &path)(e)),
        };
        let symvers = Symvers::parse(&text, &path).map_err(|e| KernelError::Layout {
            toolchain: self.toolchain.clone(),
            path: path.clone(),
            message: e.to_string(),
        })?;
        Ok((!symvers.exports.is_empty()).then_some(symvers))
    }
}

/// What follows the release in a kernel's vermagic (`include/linux/vermagic.h`), from its
/// `.config`: `SMP `, `preempt ` or `preempt_rt `, `mod_unload `, `modversions `, then the arch's
/// part (`aarch64` on arm64, nothing on x86_64). Talos' amd64 kernel gives
/// `SMP preempt mod_unload modversions `, its arm64 one `SMP mod_unload modversions aarch64`.
/// `None` with `CONFIG_RANDSTRUCT_*`, whose vermagic ends in a hash of a seed the config does not
/// hold.
pub fn vermagic_flags(config: &str, arch: Arch) -> Option<String> {
    let on = |option: &str| {
        config.lines().any(|l| l.strip_prefix("CONFIG_").and_then(|r| r.strip_prefix(option)) == Some("=y"))
    };
    if on("RANDSTRUCT_FULL") || on("RANDSTRUCT_PERFORMANCE") {
        return None;
    }
    let mut flags = String::new();
    for (option, flag) in [("SMP", "SMP "), ("MODULE_UNLOAD", "mod_unload "), ("MODVERSIONS", "modversions ")] {
        if option == "MODULE_UNLOAD" {
            if on("PREEMPT_RT") {
                flags.push_str("preempt_rt ");
            } else if on("PREEMPT_BUILD") {
                flags.push_str("preempt ");
            }
        }
        if on(option) {
            flags.push_str(flag);
        }
    }
    if arch == Arch::Arm64 {
        flags.push_str("aarch64");
    }
    Some(flags)
}

/// `llvm-strip` (`llvm-strip-22` for kbuild's `LLVM=-22`) for LLVM builds, else the arch's
/// binutils `strip`.
pub fn strip_program(llvm: Option<&str>, arch: Arch) -> PathBuf {
    match llvm {
        Some(suffix) if suffix.starts_with('-') => PathBuf::from(format!("llvm-strip{suffix}")),
        Some(_) => PathBuf::from("llvm-strip"),
        None => PathBuf::from(format!("/usr/bin/{}-linux-gnu-strip", arch.gnu_machine())),
    }
}

fn debian_inputs(name: &str, d: &talos_ext_model::toolchain::DebianToolchain, abi: &str) -> serde_json::Value {
    let mut resolved = d.clone();
    resolved.debian.abi = abi.to_string();
    serde_json::json!({ "toolchain": name, "debian": resolved })
}

/// Prepares (or reuses) the tree external modules of `arch` are built against.
pub fn prepare_build_tree(
    ctx: &KernelContext,
    tc: &Toolchain,
    arch: Arch,
    opts: PrepareOptions,
) -> Result<BuildTree, KernelError> {
    let kernel_dir = ctx.kernel_dir();
    match &tc.spec {
        ToolchainSpec::Debian(d) => {
            let ready = |abi: &str| {
                cache::Slot::new(&kernel_dir, &tc.name, debian_inputs(&tc.name, d, abi), arch).is_ready("headers")
            };
            let (abi, notes) = debian::resolve_abi(&tc.name, d, &ctx.debian_dir(), ready)?;
            let slot = cache::Slot::new(&kernel_dir, &tc.name, debian_inputs(&tc.name, d, &abi), arch);
            let (dir, source_dir) = debian::headers(&tc.name, d, &ctx.debian_dir(), &abi, arch, &slot)?;
            Ok(BuildTree {
                toolchain: tc.name.clone(),
                arch,
                release: d.debian.release_for(&abi, arch),
                dir,
                source_dir,
                llvm: d.compiler.llvm_make_value(),
                cache_dir: slot.dir,
                notes,
                stand_in: None,
            })
        }
        ToolchainSpec::Talos(t) => {
            let stand_in =
                opts.stand_in_source.as_deref().map(|p| talos::StandIn::identify(&tc.name, p)).transpose()?;
            let mut inputs = serde_json::json!({ "toolchain": tc.name, "talos": t, "full_build": opts.full_build });
            if let Some(s) = &stand_in {
                inputs["stand_in_source_sha256"] = s.sha256.clone().into();
            }
            let slot = cache::Slot::new(&kernel_dir, &tc.name, inputs, arch);
            let prepared =
                talos::source_tree(&tc.name, t, arch, &ctx.fetch, &opts, stand_in.as_ref(), ctx.jobs, &slot)?;
            Ok(BuildTree {
                toolchain: tc.name.clone(),
                arch,
                release: prepared.release,
                source_dir: prepared.dir.clone(),
                dir: prepared.dir,
                llvm: t.compiler.llvm_make_value(),
                cache_dir: slot.dir,
                notes: prepared.notes,
                stand_in: stand_in.map(|s| s.describe()),
            })
        }
    }
}

/// Prepares (or finds) the signed in-tree module tree of `arch`; also returns notes.
pub fn prepare_module_tree(
    ctx: &KernelContext,
    tc: &Toolchain,
    arch: Arch,
) -> Result<(ModuleTree, Vec<String>), KernelError> {
    let kernel_dir = ctx.kernel_dir();
    match &tc.spec {
        ToolchainSpec::Debian(d) => {
            let ready = |abi: &str| {
                cache::Slot::new(&kernel_dir, &tc.name, debian_inputs(&tc.name, d, abi), arch).is_ready("image")
            };
            let (abi, notes) = debian::resolve_abi(&tc.name, d, &ctx.debian_dir(), ready)?;
            let slot = cache::Slot::new(&kernel_dir, &tc.name, debian_inputs(&tc.name, d, &abi), arch);
            let dir = debian::image(&tc.name, d, &ctx.debian_dir(), &abi, arch, &slot)?;
            let tree = ModuleTree {
                toolchain: tc.name.clone(),
                arch,
                release: d.debian.release_for(&abi, arch),
                dir,
                base: Base::WholeTree,
            };
            Ok((tree, notes))
        }
        ToolchainSpec::Talos(t) => {
            let inputs =
                serde_json::json!({ "toolchain": tc.name, "image": t.kernel.image, "release": t.kernel.release });
            let slot = cache::Slot::new(&kernel_dir, &tc.name, inputs, arch);
            let dir = slot.part("image").join("usr/lib/modules").join(&t.kernel.release);
            if !dir.join("kernel").is_dir() {
                return Err(KernelError::ImageUnavailable {
                    toolchain: tc.name.clone(),
                    arch,
                    image: t.kernel.image.clone(),
                    release: t.kernel.release.clone(),
                    expected: dir,
                });
            }
            let tree = ModuleTree {
                toolchain: tc.name.clone(),
                arch,
                release: t.kernel.release.clone(),
                dir,
                base: Base::BuiltinOnly,
            };
            Ok((tree, Vec::new()))
        }
    }
}

/// What [`finish_module`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    /// Size of the stripped, signed module.
    pub size: u64,
    pub strip_time: Duration,
    pub sign_time: Duration,
}

/// Strips `input` with `strip --strip-debug` (before signing: stripping a signed module breaks
/// its signature), signs it with `key` ([`SIG_HASH`]) and writes `output` (temp + rename, 0644).
pub fn finish_module(input: &Path, output: &Path, strip: &Path, key: &SigningKey) -> Result<Finished, KernelError> {
    let dir = output.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(KernelError::io("create directory", dir))?;
    let stripped = tempfile::Builder::new()
        .prefix(".strip-")
        .tempfile_in(dir)
        .map_err(KernelError::io("create a temp file in", dir))?;
    let started = Instant::now();
    Command::new(strip)
        .name("strip-module")
        .arg("--strip-debug")
        .arg("-o")
        .arg(stripped.path())
        .arg(input)
        .run()
        .map_err(|e| KernelError::Module { path: input.to_path_buf(), message: e.to_string() })?;
    let strip_time = started.elapsed();
    let bytes = fs::read(stripped.path()).map_err(KernelError::io("read", stripped.path()))?;
    let started = Instant::now();
    let signed = sign_module(&bytes, key, SIG_HASH)
        .map_err(|e| KernelError::Module { path: input.to_path_buf(), message: format!("signing: {e}") })?;
    let sign_time = started.elapsed();
    fs::write(stripped.path(), &signed).map_err(KernelError::io("write", stripped.path()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(stripped.path(), fs::Permissions::from_mode(0o644))
            .map_err(KernelError::io("chmod", stripped.path()))?;
    }
    stripped.persist(output).map_err(|e| KernelError::io("write", output)(e.error))?;
    Ok(Finished { size: signed.len() as u64, strip_time, sign_time })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vermagic_flags_of_talos_and_other_configs() {
        // The lines that matter of the pinned Talos configs (kernel/build/config-<arch> of pkgs).
        let amd64 = "CONFIG_SMP=y\nCONFIG_PREEMPT_BUILD=y\nCONFIG_PREEMPT_DYNAMIC=y\nCONFIG_MODULE_UNLOAD=y\n\
                     CONFIG_MODVERSIONS=y\nCONFIG_RANDSTRUCT_NONE=y\n";
        let arm64 = "CONFIG_SMP=y\n# CONFIG_PREEMPT_DYNAMIC is not set\nCONFIG_MODULE_UNLOAD=y\nCONFIG_MODVERSIONS=y\n";
        assert_eq!(vermagic_flags(amd64, Arch::Amd64).as_deref(), Some("SMP preempt mod_unload modversions "));
        assert_eq!(vermagic_flags(arm64, Arch::Arm64).as_deref(), Some("SMP mod_unload modversions aarch64"));
        assert_eq!(
            vermagic_flags("CONFIG_PREEMPT_RT=y\nCONFIG_PREEMPT_BUILD=y\n", Arch::Amd64).as_deref(),
            Some("preempt_rt ")
        );
        // `CONFIG_SMP_X=y` is not `CONFIG_SMP=y`.
        assert_eq!(vermagic_flags("CONFIG_SMP_X=y\n", Arch::Amd64).as_deref(), Some(""));
        assert_eq!(vermagic_flags("CONFIG_SMP=y\nCONFIG_RANDSTRUCT_FULL=y\n", Arch::Amd64), None);
    }
}
