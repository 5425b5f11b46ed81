//! The build-script driver: reads cargo's environment, stages each requested arch, validates it
//! and records what was staged for `xtask`.
//!
//! Layout under `OUT_DIR`:
//! - `talos-ext/<arch>/` — the finished extension tree (`manifest.yaml` + `rootfs/`), validated;
//! - `talos-ext/staged.json` — [`StagedInfo`], read by `cargo xtask build`;
//! - `work/<arch>/` — scratch space of the recipe.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use talos_ext_model::{Arch, ExtensionMeta, Kind, PIN_PATH, Pin};

#[cfg(feature = "testing")]
use crate::library::TestLibrary;
use crate::library::finish_library;
use crate::stage::Stage;
use talos_ext_fetch::FetchConfig;
use talos_ext_model::handoff::{
    ENV_ARCHES, ENV_SOURCE_DATE_EPOCH, ENV_SOURCE_OVERRIDES, SOURCE_DATE_EPOCH, STAGE_DIR, STAGED_INFO, SourceOverride,
    StagedArch, StagedInfo, default_cache_dir,
};

/// A recipe: fills the rootfs of one arch.
pub type Recipe = fn(&mut Stage) -> Result<()>;

/// What of a recipe crate its build script depends on (defined with the rest of the xtask/build-script
/// handoff, because the build cache's input hash reads the same list).
pub use talos_ext_model::handoff::RECIPE_INPUTS;

/// Everything staging needs besides the arch.
pub(crate) struct StageContext {
    pub meta: ExtensionMeta,
    pub pin: Pin,
    pub manifest_dir: PathBuf,
    pub out_dir: PathBuf,
    pub source_date_epoch: u64,
    pub fetch: FetchConfig,
    pub overrides: Vec<SourceOverride>,
    #[cfg(feature = "testing")]
    pub libraries: Vec<TestLibrary>,
    #[cfg(feature = "testing")]
    pub layer_test: crate::testing::LayerTestOptions,
    /// The Go build cache; `None` is the shared `<cache>/go/build`.
    pub go_cache: Option<PathBuf>,
    /// The linux-firmware release; `None` is `toolchain/firmware.toml`'s (tests pin their own).
    pub linux_firmware: Option<talos_ext_model::LinuxFirmware>,
}

/// The `main` of an extension's `build.rs`. Errors are printed with their causes and the build
/// script exits non-zero, which makes cargo show them.
pub fn build_script(recipe: Recipe) {
    run_script(recipe, false)
}

/// The recipe of the kinds that need no code, chosen by the metadata's `kind`:
/// - `kmod-in-tree`: the signed modules the metadata lists (`modules.<arch>`), taken from the
///   kernel toolchain's module tree, with the index files ([`Stage::install_in_tree_modules`]);
/// - `firmware`: the paths the metadata lists (`firmware = [...]`) from the pinned linux-firmware
///   release, with `WHENCE`'s links ([`Stage::install_firmware`]);
/// - `mixed` without sources: both of the above, for what it lists (in-tree modules paired
///   with the firmware they load: amdgpu, i915, ...), firmware first, so that a missing
///   linux-firmware release fails before the kernel's module tree is prepared;
/// - `noop`: nothing (an empty rootfs: a placeholder image).
///
/// Any other kind has no default; its `build.rs` passes a recipe of its own to [`build_script`].
pub fn default_recipe(s: &mut Stage) -> Result<()> {
    match s.meta().kind {
        Kind::KmodInTree => {
            s.install_in_tree_modules()?;
        }
        Kind::Firmware => {
            s.install_firmware()?;
        }
        Kind::Mixed if s.meta().sources.is_empty() => {
            let firmware = s.meta().uses_linux_firmware();
            let modules = !s.meta().modules_for(s.arch()).is_empty();
            if !firmware && !modules {
                bail!(
                    "{}: the default recipe of a `mixed` extension installs the in-tree modules (`modules.{}`) and \
                     the linux-firmware paths (`firmware`) it lists, and it lists neither: list them, or pass a \
                     recipe of its own to talos_ext_build::build_script",
                    s.meta().name,
                    s.arch()
                );
            }
            if firmware {
                s.install_firmware()?;
            }
            if modules {
                s.install_in_tree_modules()?;
            }
        }
        Kind::Noop => {}
        other => bail!(
            "{}: kind `{other}` has no default recipe: its build.rs must pass a recipe of its own to \
             talos_ext_build::build_script",
            s.meta().name
        ),
    }
    Ok(())
}

/// The whole `main` of a recipe whose kind needs no code (see [`default_recipe`]):
/// `fn main() { talos_ext_build::default_build_script() }`.
pub fn default_build_script() {
    build_script(default_recipe)
}

/// Runs a recipe's build script for an extension or (`library`) an internal library stage.
pub(crate) fn run_script(recipe: Recipe, library: bool) {
    if let Err(e) = run(recipe, library) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn env_path(name: &str) -> Result<PathBuf> {
    std::env::var_os(name).map(PathBuf::from).with_context(|| format!("{name} is not set: run me from cargo"))
}

fn run(recipe: Recipe, library: bool) -> Result<()> {
    let manifest_dir = env_path("CARGO_MANIFEST_DIR")?;
    let out_dir = env_path("OUT_DIR")?;
    println!("cargo:rerun-if-env-changed={ENV_ARCHES}");
    println!("cargo:rerun-if-env-changed={ENV_SOURCE_DATE_EPOCH}");
    println!("cargo:rerun-if-env-changed={SOURCE_DATE_EPOCH}");
    println!("cargo:rerun-if-env-changed={ENV_SOURCE_OVERRIDES}");
    for var in talos_ext_fetch::ENV_VARS {
        println!("cargo:rerun-if-env-changed={var}");
    }
    for input in RECIPE_INPUTS {
        let path = manifest_dir.join(input);
        // cargo reruns a script for a watched path that does not exist on every build.
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let root = Pin::find_workspace_root(&manifest_dir)
        .with_context(|| format!("no {PIN_PATH} above {}", manifest_dir.display()))?;
    println!("cargo:rerun-if-changed={}", root.join(PIN_PATH).display());
    // A firmware recipe's files come from the linux-firmware pin (an unreadable manifest fails
    // below, where the arches ask for work).
    if load_meta(&manifest_dir).is_ok_and(|m| m.uses_linux_firmware()) {
        println!("cargo:rerun-if-changed={}", root.join(talos_ext_model::LINUX_FIRMWARE_PATH).display());
    }

    let requested = Arch::parse_list(&std::env::var(ENV_ARCHES).unwrap_or_default())?;
    if requested.is_empty() {
        // A plain `cargo build`: no heavy work, nothing staged.
        return Ok(());
    }
    let ctx = StageContext {
        meta: load_meta(&manifest_dir)?,
        pin: Pin::load(&root)?,
        manifest_dir,
        out_dir,
        source_date_epoch: source_date_epoch()?,
        fetch: FetchConfig::from_env(default_cache_dir(&root))?,
        overrides: SourceOverride::from_env(&std::env::var(ENV_SOURCE_OVERRIDES).unwrap_or_default())?,
        #[cfg(feature = "testing")]
        libraries: Vec::new(),
        #[cfg(feature = "testing")]
        layer_test: Default::default(),
        go_cache: None,
        linux_firmware: None,
    };
    if ctx.meta.is_internal() != library {
        let (want, call) =
            if library { ("kind = \"library\"", "library_script") } else { ("an extension kind", "build_script") };
        bail!("{}: its build.rs calls talos_ext_build::{call}, which needs {want} in its metadata", ctx.meta.name);
    }
    let mut staged = Vec::new();
    for arch in requested.into_iter().filter(|a| ctx.meta.arches.contains(a)) {
        let ArchStage { dir, overridden: overridden_sources, .. } =
            stage_arch(&ctx, arch, recipe, &ctx.out_dir.join(STAGE_DIR).join(arch.as_str()))?;
        if library {
            println!("cargo::metadata=sysroot_{arch}={}", dir.display());
        } else {
            crate::layer::publish_layer(arch, &dir, &overridden_sources);
        }
        staged.push(StagedArch { arch, dir, stamp: stamp(), overridden_sources });
    }
    let info = StagedInfo {
        name: ctx.meta.name.clone(),
        version: ctx.meta.version_string(&ctx.pin.talos.tag),
        arches: staged,
    };
    let path = ctx.out_dir.join(STAGE_DIR).join(STAGED_INFO);
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, serde_json::to_vec_pretty(&info)?).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, &path).with_context(|| format!("renaming {}", tmp.display()))?;
    Ok(())
}

/// Reads `[package.metadata.talos-extension]` from the crate's own `Cargo.toml`.
pub(crate) fn load_meta(manifest_dir: &Path) -> Result<ExtensionMeta> {
    let path = manifest_dir.join("Cargo.toml");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    ExtensionMeta::from_cargo_toml(&text)
        .with_context(|| format!("{}", path.display()))?
        .with_context(|| format!("{}: no [package.metadata.talos-extension] table", path.display()))
}

fn source_date_epoch() -> Result<u64> {
    for name in [ENV_SOURCE_DATE_EPOCH, SOURCE_DATE_EPOCH] {
        if let Ok(v) = std::env::var(name)
            && !v.trim().is_empty()
        {
            return v.trim().parse().with_context(|| format!("{name}=`{v}` is not a number of seconds"));
        }
    }
    Ok(0)
}

pub(crate) fn stamp() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{nanos:x}-{:x}", std::process::id())
}

/// Stages one arch into `dest`: runs the recipe in a fresh directory, writes `manifest.yaml`,
/// validates strictly, and renames the tree into place only when all of that succeeded.
/// Returns the tree and the names of sources that came from overrides.
pub(crate) fn stage_arch(ctx: &StageContext, arch: Arch, recipe: Recipe, dest: &Path) -> Result<ArchStage> {
    let parent = dest.parent().context("stage directory has no parent")?;
    let name = dest.file_name().context("stage directory has no name")?.to_string_lossy().into_owned();
    let tmp = parent.join(format!(".{name}.partial"));
    talos_ext_fs::remove_dir_if_exists(&tmp)?;
    let rootfs = tmp.join("rootfs");
    fs::create_dir_all(&rootfs).with_context(|| format!("creating {}", rootfs.display()))?;
    for dir in [&tmp, &rootfs] {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
            .with_context(|| format!("setting mode 755 on {}", dir.display()))?;
    }
    let work = ctx.out_dir.join("work").join(arch.as_str());
    fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    // The work dir outlives a run (build directories, unpacked sources and stamps make reruns
    // cheap), but the sysroot is refilled by this run's libraries and installs, and the logs are
    // this run's: nothing from an earlier run may reach a build or be mistaken for its log.
    // (A library's sysroot stamp is kept: it is rewritten only when the sysroot's contents
    // change, so dependents rerun only then.)
    crate::library::empty_sysroot(&work.join("sysroot"))?;
    talos_ext_fs::empty_dir(&work.join("logs"))?;

    let mut stage = Stage {
        arch,
        meta: ctx.meta.clone(),
        pin: ctx.pin.clone(),
        manifest_dir: ctx.manifest_dir.clone(),
        root: tmp.clone(),
        work,
        source_date_epoch: ctx.source_date_epoch,
        fetch: ctx.fetch.clone(),
        overrides: ctx.overrides.clone(),
        overridden: Default::default(),
        fetched: Default::default(),
        kernel: Default::default(),
        binaries: Default::default(),
        #[cfg(feature = "testing")]
        libraries: ctx.libraries.clone(),
        #[cfg(feature = "testing")]
        layer_test: ctx.layer_test.clone(),
        components: Default::default(),
        go_cache: ctx.go_cache.clone(),
        linux_firmware: ctx.linux_firmware.clone(),
    };
    recipe(&mut stage).with_context(|| format!("recipe `{}` failed for {arch}", ctx.meta.name))?;
    if ctx.meta.is_internal() {
        // A library's product is its sysroot; there is no extension tree to validate.
        talos_ext_fs::remove_dir_if_exists(&tmp)?;
        let dir = finish_library(&stage)?;
        return Ok(ArchStage { dir, overridden: stage.overridden.into_inner(), fetched: stage.fetched.into_inner() });
    }

    // A placeholder ships no software, so it has no SBOM either (upstream's image is empty).
    if ctx.meta.kind != Kind::Noop {
        let mut components = crate::library::sysroot_components(&stage.work.join("sysroot"))?;
        components.extend(stage.binaries.borrow().iter().cloned());
        components.extend(stage.components.take());
        components.sort_by(|a, b| a.name.cmp(&b.name));
        write_sbom(ctx, arch, &rootfs, components)?;
    }

    let manifest = tmp.join("manifest.yaml");
    fs::write(&manifest, ctx.meta.manifest(&ctx.pin.talos.tag).to_yaml())
        .with_context(|| format!("writing {}", manifest.display()))?;
    fs::set_permissions(&manifest, fs::Permissions::from_mode(0o644))
        .with_context(|| format!("setting mode 644 on {}", manifest.display()))?;

    let opts = talos_ext_validate::Options {
        strict: true,
        pkg_name: Some(ctx.meta.name.clone()),
        talos_version: ctx.pin.talos.tag.clone(),
        // The kernel the recipe's kernel steps built for or took modules from (its release,
        // signer, arch, vermagic flags and Module.symvers, as far as known); without one, the
        // module checks fall back to what the tree implies.
        kernel: stage.kernel.borrow().clone(),
    };
    let report = talos_ext_validate::validate_dir(&tmp, &opts)?;
    if !report.is_ok() {
        talos_ext_fs::remove_dir_if_exists(&tmp)?;
        bail!("the staged {arch} tree of `{}` does not validate (strict mode):\n{report}", ctx.meta.name);
    }
    talos_ext_fs::remove_dir_if_exists(dest)?;
    fs::rename(&tmp, dest).with_context(|| format!("renaming {} to {}", tmp.display(), dest.display()))?;
    Ok(ArchStage {
        dir: dest.to_path_buf(),
        overridden: stage.overridden.into_inner(),
        fetched: stage.fetched.into_inner(),
    })
}

/// What [`stage_arch`] made: the staged tree (or a library's sysroot), the sources taken from
/// overrides and the pinned sources fetched.
pub(crate) struct ArchStage {
    pub dir: PathBuf,
    pub overridden: Vec<String>,
    /// Read by the tests' report of what a staging was built from.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub fetched: Vec<String>,
}

/// Where SBOM document namespaces live: the workspace's `repository` (this crate inherits it).
pub const SBOM_NAMESPACE_BASE: &str = env!("CARGO_PKG_REPOSITORY");

/// Writes the extension's SPDX document to `rootfs/usr/local/share/spdx/<name>.spdx.json` (file
/// 0644, directories 0755), from its metadata and the arch's pinned sources, plus one package
/// per internal library built into it (`components`).
fn write_sbom(ctx: &StageContext, arch: Arch, rootfs: &Path, components: Vec<talos_ext_sbom::Component>) -> Result<()> {
    let mut input = talos_ext_sbom::SbomInput::from_meta(
        &ctx.meta,
        &ctx.pin.talos.tag,
        Some(arch),
        ctx.source_date_epoch,
        SBOM_NAMESPACE_BASE,
    );
    input.components = components;
    let bytes =
        talos_ext_sbom::generate(&input).with_context(|| format!("generating the SBOM of `{}`", ctx.meta.name))?;
    let path = rootfs.join(talos_ext_sbom::spdx_path(&ctx.meta.name));
    let mut dir = rootfs.to_path_buf();
    for part in Path::new(talos_ext_sbom::SPDX_DIR).components() {
        dir.push(part);
        if !dir.is_dir() {
            fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
                .with_context(|| format!("setting mode 755 on {}", dir.display()))?;
        }
    }
    fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644))
        .with_context(|| format!("setting mode 644 on {}", path.display()))?;
    Ok(())
}
