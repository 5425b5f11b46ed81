//! Running a recipe from an extension's own tests, outside cargo's build-script environment.
//!
//! An extension's test includes its `build.rs` as a module and calls [`stage`] with the recipe;
//! the tree is staged, given its manifest and validated exactly as in `cargo xtask build`, into
//! a temporary directory that lives as long as the returned [`Staged`] (or into
//! [`TestOptions::work_dir`], kept between stagings as a build script's `OUT_DIR` is).
//!
//! Internal library stages are shared between tests: a library is staged once per arch and set
//! of overrides into `<cache>/test-stages/<links>-<key>/` (its per-step stamps make a restage with
//! unchanged inputs cheap), under a file lock, and its sysroot is copied out while the lock is
//! held, so tests in parallel threads or processes never see a half-staged library. Extensions
//! that recipes layer ([`crate::Stage::layer_extension`]), and those a test stages with
//! [`stage_shared`], are shared the same way (`<cache>/test-stages/ext-<name>-<arch>-<key>/`):
//! the real glibc recipe, which three crates' tests build, is built once per arch. These are kept
//! directories ([`talos_ext_fs::kept`]): each records its last use, and `cargo xtask cache prune`
//! removes the idle ones.

#[path = "testing_fabricmanager.rs"]
pub mod fabricmanager;
#[path = "testing_firmware.rs"]
pub mod firmware;
#[path = "testing_kata.rs"]
pub mod kata;
#[path = "testing_nvidia.rs"]
pub mod nvidia;
#[path = "testing_own_go.rs"]
pub mod own_go;
#[path = "testing_prebuilt.rs"]
pub mod prebuilt;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use talos_ext_model::{Arch, ExtensionMeta, PIN_PATH, Pin};

pub use talos_ext_debian::extract_debs;
use talos_ext_debian::{PackageSpec, Repo};
use talos_ext_fetch::FetchConfig;

pub use crate::layer::resolve_in_rootfs;
use crate::library::TestLibrary;
use crate::script::{Recipe, StageContext, load_meta, stage_arch};
use crate::stage::Stage;
use crate::{SourceOverride, default_cache_dir, test_stages_dir};
use talos_ext_fs::kept::KeptDir;

/// A staged tree in a temporary directory.
#[derive(Debug)]
pub struct Staged {
    /// The extension tree (`manifest.yaml` + `rootfs/`).
    pub dir: PathBuf,
    /// Sources that came from overrides.
    pub overridden_sources: Vec<String>,
    /// The recipe's pinned sources it fetched and verified against their pins (`None` for a
    /// library's own test, which takes the shared stage).
    pub fetched_sources: Option<Vec<String>>,
    /// Paths of the build machine that must not appear in staged files (see
    /// [`Staged::check_no_build_paths`]).
    build_paths: Vec<PathBuf>,
    _tmp: Option<tempfile::TempDir>,
}

/// How a test stages: where sources come from.
#[derive(Debug, Clone)]
pub struct TestOptions {
    pub fetch: FetchConfig,
    pub overrides: Vec<SourceOverride>,
    /// Internal library recipes the recipe may `use_library` (cargo is not there to build them).
    pub libraries: Vec<TestLibrary>,
    /// Stage into this directory, kept between stagings (work dirs, stamps), instead of a new
    /// temporary one: what a build script's `OUT_DIR` is to reruns.
    pub work_dir: Option<PathBuf>,
    /// Sources pinned by the test to its own stand-in bytes instead of the recipe's pin (each
    /// listed in [`TEST_OVERRIDES`]): fetched and verified like the pin, through the mirrors.
    pub repins: Vec<Repin>,
    /// The Go build cache of [`crate::Stage::go_build`]; `None` is the shared `<cache>/go/build`
    /// (a fresh directory here makes a build compile everything, as on a new machine).
    pub go_cache: Option<PathBuf>,
    /// The linux-firmware release `firmware` recipes take their files from, pinned by the test
    /// to its own tarball; `None` is `toolchain/firmware.toml`'s.
    pub linux_firmware: Option<talos_ext_model::LinuxFirmware>,
    /// In-tree modules (`kernel/...ko`) left out of the recipe's `modules.<arch>` for this
    /// staging: those a stand-in kernel does not have as modules (see
    /// [`check_in_tree_recipe_with_debian`], which proves each is absent and says why).
    pub absent_modules: Vec<String>,
}

/// A test's own pin for one source of the recipe under test: a generated stand-in file (the
/// vendor's bytes are not reachable), served through a mirror under its own sha256 and verified
/// like the real pin. The URL (and so the file name) stays the recipe's. A repin
/// [`Repin::of_layer`] is for an extension the recipe layers ([`crate::Stage::layer_extension`]),
/// staged in the test through [`TestOptions::libraries`].
#[derive(Debug, Clone)]
pub struct Repin {
    pub source: String,
    pub arch: Arch,
    pub sha256: talos_ext_model::Sha256,
    pub sha512: talos_ext_model::Sha512,
    /// The layered extension whose pin this is; `None` is the recipe under test.
    pub layer: Option<String>,
}

/// What a test changes in the metadata of the extensions a recipe layers, staged with it: their
/// repins ([`Repin::of_layer`]) and the in-tree modules the stand-in kernel lacks
/// ([`TestOptions::absent_modules`], left out of every layer's list too).
#[derive(Debug, Clone, Default)]
pub(crate) struct LayerTestOptions {
    pub repins: Vec<Repin>,
    pub absent_modules: Vec<String>,
}

impl LayerTestOptions {
    fn of(opts: &TestOptions) -> LayerTestOptions {
        LayerTestOptions {
            repins: opts.repins.iter().filter(|r| r.layer.is_some()).cloned().collect(),
            absent_modules: opts.absent_modules.clone(),
        }
    }
}

impl Repin {
    /// Pins `source` for `arch` to the bytes of `file`.
    pub fn of_file(source: &str, arch: Arch, file: &Path) -> Result<Repin> {
        use sha2::Digest as _;
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        Ok(Repin {
            source: source.to_string(),
            arch,
            sha256: talos_ext_model::Sha256::parse(&hex::encode(sha2::Sha256::digest(&bytes)))?,
            sha512: talos_ext_model::Sha512::parse(&hex::encode(sha2::Sha512::digest(&bytes)))?,
            layer: None,
        })
    }

    /// Pins `source` of the layered extension `layer` for `arch` to the bytes of `file`.
    pub fn of_layer(layer: &str, source: &str, arch: Arch, file: &Path) -> Result<Repin> {
        Ok(Repin { layer: Some(layer.to_string()), ..Repin::of_file(source, arch, file)? })
    }
}

impl TestOptions {
    /// The cache, mirrors and offline mode from the environment (as in a build script), and no
    /// overrides.
    pub fn from_env() -> Result<TestOptions> {
        let root = find_workspace_root()?;
        Ok(TestOptions::with_fetch(FetchConfig::from_env(default_cache_dir(&root))?))
    }

    /// Offline, with an empty cache of its own (a temporary directory, alive as long as the
    /// returned handle) and no mirrors: where a staging must fail fast, naming what it lacks,
    /// before any work ([`assert_no_work_done`]).
    pub fn offline_empty() -> Result<(tempfile::TempDir, TestOptions)> {
        let cache = tempfile::Builder::new().prefix("talos-ext-cache-").tempdir().context("creating a temp dir")?;
        let mut fetch = FetchConfig::new(cache.path().to_path_buf());
        fetch.offline = true;
        Ok((cache, TestOptions::with_fetch(fetch)))
    }

    /// `fetch` and nothing else: no overrides, libraries, repins or work directory.
    fn with_fetch(fetch: FetchConfig) -> TestOptions {
        TestOptions {
            fetch,
            overrides: Vec::new(),
            libraries: Vec::new(),
            work_dir: None,
            repins: Vec::new(),
            go_cache: None,
            linux_firmware: None,
            absent_modules: Vec::new(),
        }
    }
}

impl TestOptions {
    /// Building from exact pins without network: a fresh cache in `dir/cache`, one directory
    /// mirror in `dir/mirror` holding `files` (a path and the pinned sha256 it must have, e.g.
    /// Debian's byte-identical `.orig`), offline; no overrides, no libraries.
    pub fn offline_mirror(dir: &Path, files: &[(&Path, &str)]) -> Result<TestOptions> {
        use sha2::Digest as _;
        let mirror = dir.join("mirror");
        let by_sha = mirror.join("sha256");
        std::fs::create_dir_all(&by_sha).with_context(|| format!("creating {}", by_sha.display()))?;
        for (path, pinned) in files {
            let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let actual = hex::encode(sha2::Sha256::digest(&bytes));
            if actual != *pinned {
                anyhow::bail!("{} is not the pinned file: sha256 {actual}, pinned {pinned}", path.display());
            }
            let dest = by_sha.join(pinned);
            std::fs::write(&dest, &bytes).with_context(|| format!("writing {}", dest.display()))?;
        }
        let mut fetch = FetchConfig::new(dir.join("cache"));
        fetch.mirrors = vec![talos_ext_fetch::Mirror::Dir(mirror)];
        fetch.offline = true;
        Ok(TestOptions::with_fetch(fetch))
    }

    /// [`TestOptions::offline_mirror`] serving exact pins from Debian's source archive: for each
    /// `(crate_dir, source, spec)`, Debian's orig of `spec` (`libevent=2.1.13-stable-1`, see
    /// [`debian_orig`]) as the bytes of the pin `source` of the recipe in `crate_dir` for `arch`.
    /// Fails, naming both, when an orig is not byte-identical to its pin.
    pub fn offline_debian_pins<P: AsRef<Path>>(
        dir: &Path,
        arch: Arch,
        pins: &[(P, &str, &str)],
    ) -> Result<TestOptions> {
        let mut files = Vec::new();
        for (crate_dir, source, spec) in pins {
            let crate_dir = crate_dir.as_ref();
            let meta = load_meta(crate_dir)?;
            let pin = meta.source(source, arch).with_context(|| {
                format!("{}: extension `{}` has no source `{source}` for {arch}", crate_dir.display(), meta.name)
            })?;
            files.push((spec, debian_orig(spec)?, pin.sha256.to_string()));
        }
        let list: Vec<(&Path, &str)> = files.iter().map(|(_, p, s)| (p.as_path(), s.as_str())).collect();
        TestOptions::offline_mirror(dir, &list).with_context(|| {
            let specs: Vec<&str> = files.iter().map(|(spec, _, _)| **spec).collect();
            format!("serving Debian's {specs:?} as exact pins")
        })
    }

    /// Builds `extension`'s source `source` (its only one when `None`) from Debian's orig of
    /// `spec` ([`debian_orig`]): a source override, which `extensions/test-overrides.toml` must
    /// list.
    pub fn override_with_debian_orig(&mut self, extension: &str, source: Option<&str>, spec: &str) -> Result<()> {
        let path = debian_orig(spec)?;
        self.overrides.push(SourceOverride { extension: extension.into(), source: source.map(Into::into), path });
        Ok(())
    }
}

/// Test options that serve `stand_ins` (source name, arch, generated file) through an offline
/// directory mirror in `dir` under the test's own pins, with the environment's cache (so the
/// pinned Go toolchain, fetched before, is found there).
pub fn stand_in_options(dir: &Path, stand_ins: &[(&str, Arch, &Path)]) -> Result<TestOptions> {
    let repins =
        stand_ins.iter().map(|(source, arch, file)| Repin::of_file(source, *arch, file)).collect::<Result<Vec<_>>>()?;
    let files: Vec<(&Path, &str)> =
        stand_ins.iter().zip(&repins).map(|((_, _, f), r)| (*f, r.sha256.as_str())).collect();
    let mirror = TestOptions::offline_mirror(dir, &files)?;
    let mut opts = TestOptions::from_env()?;
    opts.fetch.mirrors = mirror.fetch.mirrors;
    opts.fetch.offline = true;
    opts.repins = repins;
    Ok(opts)
}

impl Staged {
    /// A path inside the rootfs (`usr/local/...`).
    pub fn rootfs(&self, rel: &str) -> PathBuf {
        self.dir.join("rootfs").join(rel)
    }

    /// Fails if the rootfs file `rel` holds a path of the build machine: the staging directory
    /// (work dirs, unpacked sources), the workspace, or the source and library-stage caches.
    /// Compiled code must have them mapped away (`-ffile-prefix-map`, see `step`).
    pub fn check_no_build_paths(&self, rel: &str) -> Result<()> {
        let path = self.rootfs(rel);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        for build_path in &self.build_paths {
            let needle = build_path.as_os_str().as_encoded_bytes();
            if !needle.is_empty() && bytes.windows(needle.len()).any(|w| w == needle) {
                anyhow::bail!("{rel} holds the build path {}", build_path.display());
            }
        }
        Ok(())
    }

    /// The glibc extension's ELF check (`misc/glibc`, and what layers it), instead of
    /// [`check_static_program`]: the rootfs file `rel` is an ELF file for `arch` that is static
    /// or needs exactly `loader` ([`crate::elf::ElfInfo::check_own_glibc`]), and `loader`
    /// resolves, inside this staged rootfs (symlinks followed there, never on the host), to an
    /// ELF file for `arch` that this tree itself ships. No other recipe may claim glibc.
    pub fn check_own_glibc_program(&self, arch: Arch, rel: &str, loader: &str) -> Result<()> {
        let info = crate::elf::ElfInfo::read(&self.rootfs(rel))?;
        info.check_own_glibc(arch.elf_machine(), loader).with_context(|| rel.to_string())?;
        let resolved = resolve_in_rootfs(&self.dir.join("rootfs"), loader)
            .with_context(|| format!("{rel}: its loader {loader} is not in the extension's own tree"))?;
        let shipped = crate::elf::ElfInfo::read(&resolved)?;
        if shipped.machine != arch.elf_machine() {
            anyhow::bail!("{rel}: its loader {loader} is an ELF file for machine {}", shipped.machine);
        }
        Ok(())
    }

    /// The `(name, versionInfo)` of every package in the SPDX document the stage ships for
    /// extension `name`, in the document's order.
    pub fn sbom_packages(&self, name: &str) -> Result<Vec<(String, String)>> {
        let path = self.rootfs(&talos_ext_sbom::spdx_path(name));
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let doc: serde_json::Value =
            serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))?;
        let packages =
            doc["packages"].as_array().with_context(|| format!("{}: no `packages` array", path.display()))?;
        packages
            .iter()
            .map(|p| match (p["name"].as_str(), p["versionInfo"].as_str()) {
                (Some(n), Some(v)) => Ok((n.to_string(), v.to_string())),
                _ => anyhow::bail!("{}: a package without a name or versionInfo: {p}", path.display()),
            })
            .collect()
    }

    /// Everything below the rootfs but directories (files, links, ...), relative, sorted.
    pub fn rootfs_files(&self) -> Vec<String> {
        let root = self.dir.join("rootfs");
        let mut out = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
            for entry in entries.map(|e| e.unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))) {
                let path = entry.path();
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    dirs.push(path);
                } else {
                    out.push(path.strip_prefix(&root).unwrap_or(&path).display().to_string());
                }
            }
        }
        out.sort();
        out
    }
}

/// A command running `program`, a binary built for `arch`, on this x86_64 host: directly for
/// amd64, under `qemu-aarch64-static` (Debian's qemu-user-static; binfmt_misc is not assumed) for
/// arm64. Add arguments and run it like any [`crate::step::Command`].
pub fn target_command(arch: Arch, program: &Path) -> crate::step::Command {
    match arch {
        Arch::Amd64 => crate::step::Command::new(program),
        Arch::Arm64 => crate::step::Command::new("qemu-aarch64-static")
            .name(&program.file_name().unwrap_or_default().to_string_lossy())
            .hint("install qemu-user-static (ci/setup.sh does)")
            .arg(program),
    }
}

/// Fails unless `program` is a statically linked binary for `arch` that runs on Talos (no
/// interpreter, no shared libraries, no glibc; see [`crate::elf::ElfInfo::check_talos_userland`]).
pub fn check_static_program(arch: Arch, program: &Path) -> Result<()> {
    let elf = crate::elf::ElfInfo::read(program)?;
    elf.check_talos_userland(arch.elf_machine()).with_context(|| format!("{}", program.display()))?;
    if let Some(interp) = &elf.interpreter {
        anyhow::bail!("{} is dynamically linked (interpreter {interp})", program.display());
    }
    if !elf.needed.is_empty() {
        anyhow::bail!("{} needs shared libraries: {:?}", program.display(), elf.needed);
    }
    Ok(())
}

/// Fails unless `program` is a glibc program for `arch` that declares the loader the `glibc`
/// extension installs ([`talos_ext_model::glibc_loader`]) and needs only glibc's libraries
/// (see [`crate::elf::ElfInfo::check_glibc_program`]); returns that loader.
pub fn check_glibc_program(arch: Arch, program: &Path) -> Result<&'static str> {
    let loader = talos_ext_model::glibc_loader(arch);
    let elf = crate::elf::ElfInfo::read(program)?;
    elf.check_glibc_program(arch.elf_machine(), loader).with_context(|| format!("{}", program.display()))?;
    Ok(loader)
}

/// This machine's glibc for `arch` (Debian 12's 2.36): the directory holding its loader and
/// libraries, the host's for amd64, `libc6-arm64-cross`'s for arm64.
fn machine_glibc_dir(arch: Arch) -> &'static str {
    match arch {
        Arch::Amd64 => "/lib/x86_64-linux-gnu",
        Arch::Arm64 => "/usr/aarch64-linux-gnu/lib",
    }
}

/// The libraries besides the loader that [`glibc_layer_stand_in`] stages.
pub const GLIBC_STAND_IN_LIBRARIES: [&str; 6] =
    ["libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libresolv.so.2"];

/// A STAND-IN recipe for the `glibc` extension, for tests of recipes that layer it
/// ([`Stage::layer_extension`]`("glibc")`) without its five-minute build: a
/// [`TestLibrary`] `{ links: "glibc", manifest_dir: <the glibc crate>, recipe:
/// glibc_layer_stand_in }`. It stages THIS MACHINE's glibc (Debian 12's 2.36, see
/// [`machine_glibc_dir`]: not the pinned release) in the glibc extension's layout: the loader and
/// [`GLIBC_STAND_IN_LIBRARIES`] in `/usr/local/glibc/usr/lib`, `/usr/local/glibc/lib` linked to
/// it, the loader linked at the node's loader path ([`talos_ext_model::glibc_loader`]), an
/// `ld.so.conf` naming the directory and a static `ldconfig` of Debian's ([`machine_ldconfig`])
/// linked at `/usr/bin/ldconfig`. Its `glibc` source is marked overridden, so the image
/// layering it is marked as built from a stand-in (`glibc/glibc` in its overridden sources).
/// The glibc crate's tests check that this layout is its recipe's.
pub fn glibc_layer_stand_in(s: &mut Stage) -> Result<()> {
    let arch = s.arch();
    let from = Path::new(machine_glibc_dir(arch));
    let node_loader = talos_ext_model::glibc_loader(arch);
    let loader = node_loader.rsplit('/').next().expect("a file name");
    let lib_dir = crate::nvidia_container_toolkit::LIB_DIR;
    for name in std::iter::once(loader).chain(GLIBC_STAND_IN_LIBRARIES) {
        let file = from.join(name);
        if !file.is_file() {
            anyhow::bail!(
                "{} is missing: the stand-in glibc layer copies this machine's glibc\nhint: run ci/setup.sh",
                file.display()
            );
        }
        s.install(&file, &format!("{lib_dir}/{name}"), 0o755)?;
    }
    s.install_bytes("usr/local/glibc/etc/ld.so.conf", b"/usr/local/glibc/usr/lib\n", 0o644)?;
    s.install(&machine_ldconfig(s)?, "usr/local/glibc/usr/sbin/ldconfig", 0o755)?;
    let rootfs = s.rootfs();
    for (link, target) in [
        ("usr/local/glibc/lib".to_string(), "usr/lib/".to_string()),
        (node_loader[1..].to_string(), format!("/{lib_dir}/{loader}")),
        ("usr/bin/ldconfig".to_string(), "/usr/local/glibc/usr/sbin/ldconfig".to_string()),
    ] {
        let path = rootfs.join(&link);
        let parent = path.parent().expect("a path in the rootfs");
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        std::os::unix::fs::symlink(&target, &path).with_context(|| format!("linking {}", path.display()))?;
    }
    s.overridden.borrow_mut().push("glibc".into());
    Ok(())
}

/// Debian's glibc source package whose orig tarball the glibc tests build: glibc 2.43 as a git
/// snapshot of upstream's release branch, not the pinned release tarball (see
/// `extensions/test-overrides.toml`).
pub const DEBIAN_GLIBC: &str = "glibc=2.43-7";

/// [`DEBIAN_GLIBC`]'s orig as a source override of the `glibc` extension: unpacked once per
/// workspace into `<cache>/test-sources/<package>-<version>/` (under a lock; every test that
/// builds glibc names the same tree, so they share its stage, see [`stage_shared`]), with a stub
/// `manual/Makefile`: Debian's repack drops glibc's manual (GFDL), but glibc's top Makefile still
/// descends into `manual/`; the stub is what every empty glibc subdirectory's Makefile is. The
/// pinned release tarball has the real one.
pub fn glibc_debian_override() -> Result<SourceOverride> {
    let orig = debian_orig(DEBIAN_GLIBC)?;
    let root = find_workspace_root()?;
    let sources = default_cache_dir(&root).join("test-sources");
    let name = DEBIAN_GLIBC.replace(['=', ':'], "-");
    let dir = talos_ext_fs::make_once(&sources.join(&name), |partial| -> Result<()> {
        std::fs::create_dir_all(partial.join("manual")).with_context(|| format!("creating {}", partial.display()))?;
        crate::step::Command::new("tar")
            .arg("xf")
            .arg(&orig)
            .args(["--strip-components=1", "-C"])
            .arg(partial)
            .run()?;
        let stub = partial.join("manual/Makefile");
        std::fs::write(&stub, "subdir := manual\ninclude ../Makeconfig\ninclude ../Rules\n")
            .with_context(|| format!("writing {}", stub.display()))
    })?;
    Ok(SourceOverride { extension: "glibc".into(), source: None, path: dir })
}

/// `<cache>/test-fixtures/<name>/`: a tree the tests unpack once per workspace (a Debian
/// package's module source, say), made by `make` into an empty directory under a lock
/// ([`talos_ext_fs::make_once`]): concurrent tests make it once, and a failed `make` leaves
/// nothing that a later test would take for complete.
pub fn test_fixture(name: &str, make: impl FnOnce(&Path) -> Result<()>) -> Result<PathBuf> {
    let root = find_workspace_root()?;
    talos_ext_fs::make_once(&default_cache_dir(&root).join("test-fixtures").join(name), make)
}

/// A static `ldconfig` of Debian's for the stage's arch: the host's `/sbin/ldconfig` for amd64,
/// the one of Debian's newest `libc-bin:arm64` package ([`debian_deb`]) for arm64.
fn machine_ldconfig(s: &Stage) -> Result<PathBuf> {
    match s.arch() {
        Arch::Amd64 => Ok(PathBuf::from("/sbin/ldconfig")),
        Arch::Arm64 => {
            let deb = debian_deb("libc-bin:arm64")?;
            let dir = s.work_dir().join("libc-bin-arm64");
            if dir.exists() {
                std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
            }
            extract_debs(&[deb], &dir)?;
            // `/sbin` before Debian moved its files to `/usr` (trixie), `/usr/sbin` after.
            ["sbin/ldconfig", "usr/sbin/ldconfig"]
                .iter()
                .map(|rel| dir.join(rel))
                .find(|p| p.is_file())
                .with_context(|| format!("libc-bin:arm64 unpacked into {} has no ldconfig", dir.display()))
        }
    }
}

/// The [`TestLibrary`] standing in for the `glibc` extension layered by the recipe at
/// `manifest_dir` ([`glibc_layer_stand_in`]), found as `extensions/misc/glibc` of its workspace.
pub fn glibc_stand_in_library(manifest_dir: &Path) -> Result<TestLibrary> {
    let root = Pin::find_workspace_root(manifest_dir)
        .with_context(|| format!("no {PIN_PATH} above {}", manifest_dir.display()))?;
    Ok(TestLibrary {
        links: "glibc".into(),
        manifest_dir: root.join("extensions/misc/glibc"),
        recipe: glibc_layer_stand_in,
    })
}

/// A command running the glibc program at `rel` of a staged rootfs through the loader and
/// libraries of that same rootfs (the layered `glibc` extension's): the node's loader path
/// resolved inside the rootfs ([`glibc_command_in`]). Nothing of this machine's glibc is used,
/// so the image alone must carry what the program needs.
pub fn staged_glibc_command(s: &Staged, arch: Arch, rel: &str) -> Result<crate::step::Command> {
    glibc_command_in(&s.dir.join("rootfs"), arch, talos_ext_model::glibc_loader(arch), rel)
}

/// A command running the glibc program at `rel` of the tree `root` (a rootfs, or a service's
/// container root that a `glibc` layer went into) through that tree's own glibc: `loader` (the
/// absolute path the program's interpreter names) resolved inside `root` as the node would
/// ([`resolve_in_rootfs`]), the layer's library directory given with `--library-path`; arm64
/// under `qemu-aarch64-static`.
pub fn glibc_command_in(root: &Path, arch: Arch, loader: &str, rel: &str) -> Result<crate::step::Command> {
    let loader = resolve_in_rootfs(root, loader)?;
    let lib_dir = root.join(crate::nvidia_container_toolkit::LIB_DIR);
    let program = root.join(rel);
    let name = program.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let cmd = match arch {
        Arch::Amd64 => crate::step::Command::new(&loader).name(&name),
        Arch::Arm64 => crate::step::Command::new("qemu-aarch64-static")
            .name(&name)
            .hint("install qemu-user-static (ci/setup.sh does)")
            .arg(&loader),
    };
    Ok(cmd.arg("--library-path").arg(&lib_dir).arg(&program))
}

/// The permission bits (and setuid/setgid/sticky) of `path`, not following a symlink.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o7777
}

/// A stand-in for a vendor's binary: a small static musl program for `arch`, built with the
/// workspace's cross toolchain into `dir/<name>`, that prints `stand-in <name>, not the vendor
/// bytes` and exits 0. Tests of prebuilt recipes serve it (or an archive of it) through a mirror
/// under its own pin ([`Repin`]), because the vendor's bytes are not reachable offline.
pub fn stand_in_program(arch: Arch, dir: &Path, name: &str) -> Result<PathBuf> {
    let tc = crate::CrossToolchain::for_arch(arch)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let c = dir.join(format!("{name}.stand-in.c"));
    let text = format!(
        "#include <stdio.h>\nint main(void) {{ puts(\"stand-in {}, not the vendor bytes\"); return 0; }}\n",
        name.replace(['"', '\\'], "")
    );
    std::fs::write(&c, text).with_context(|| format!("writing {}", c.display()))?;
    let program = dir.join(name);
    crate::step::Command::new(&tc.cc)
        .name(&format!("{name}-stand-in"))
        .args(&tc.cc_musl_flags)
        .args(&tc.cflags)
        .args(["-static", "-s", "-o"])
        .arg(&program)
        .arg(&c)
        .dir(dir)
        .run()
        .with_context(|| format!("building the {arch} stand-in {name}"))?;
    Ok(program)
}

/// Fixed `SOURCE_DATE_EPOCH` for tests.
pub const TEST_EPOCH: u64 = 1_700_000_000;

/// Stages `recipe` for `arch`; `manifest_dir` is the extension crate (`env!("CARGO_MANIFEST_DIR")`).
pub fn stage(manifest_dir: &str, recipe: Recipe, arch: Arch) -> Result<Staged> {
    stage_with(manifest_dir, recipe, arch, &TestOptions::from_env()?)
}

/// [`stage`] with explicit source options (mirrors, offline mode, overrides, work dir).
///
/// Every override must be listed in [`TEST_OVERRIDES`] (a test says when it builds other bytes
/// than the pin, and why); each staging prints what it was built from.
pub fn stage_with(manifest_dir: &str, recipe: Recipe, arch: Arch, opts: &TestOptions) -> Result<Staged> {
    let manifest_dir = Path::new(manifest_dir);
    stage_meta_at(manifest_dir, load_meta(manifest_dir)?, recipe, arch, opts)
}

/// The crate of the workspace's internal library `links` (`extensions/internal/<links>`).
pub fn internal_crate(links: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../extensions/internal").join(links)
}

/// [`stage_with`] from the exact pin `source` of the recipe at `manifest_dir`, offline, served
/// by a directory mirror holding Debian's byte-identical orig of `spec`
/// ([`TestOptions::offline_debian_pins`]); fails unless the staging reports no override.
pub fn stage_debian_pin(manifest_dir: &str, recipe: Recipe, arch: Arch, source: &str, spec: &str) -> Result<Staged> {
    let tmp = tempfile::Builder::new().prefix("talos-ext-mirror-").tempdir().context("creating a temp dir")?;
    let opts = TestOptions::offline_debian_pins(tmp.path(), arch, &[(Path::new(manifest_dir), source, spec)])?;
    let staged = stage_with(manifest_dir, recipe, arch, &opts)?;
    if !staged.overridden_sources.is_empty() {
        anyhow::bail!("staged from the pin, but the staging reports overrides: {:?}", staged.overridden_sources);
    }
    Ok(staged)
}

/// [`stage_with`] the environment's options, offline, and, as a source override of the recipe's source
/// `source` (its only one when `None`), Debian's orig of `spec`
/// ([`TestOptions::override_with_debian_orig`]); fails unless the staging reports exactly that
/// source as overridden.
pub fn stage_debian_override(
    manifest_dir: &str,
    recipe: Recipe,
    arch: Arch,
    source: Option<&str>,
    spec: &str,
) -> Result<Staged> {
    let meta = load_meta(Path::new(manifest_dir))?;
    let expected = match source {
        Some(source) => source.to_string(),
        None => match meta.sources_for(arch).collect::<Vec<_>>().as_slice() {
            [only] => only.name.clone(),
            more => anyhow::bail!(
                "extension `{}` has {} sources for {arch}: name the one Debian's {spec} stands in for",
                meta.name,
                more.len()
            ),
        },
    };
    let mut opts = TestOptions::from_env()?;
    opts.fetch.offline = true;
    opts.override_with_debian_orig(&meta.name, source, spec)?;
    let staged = stage_with(manifest_dir, recipe, arch, &opts)?;
    if staged.overridden_sources != [expected.as_str()] {
        anyhow::bail!(
            "staged with Debian's {spec} as `{expected}`, but the staging reports overrides {:?}",
            staged.overridden_sources
        );
    }
    Ok(staged)
}

/// [`stage_with`] for metadata given as text (the body of a `[package.metadata.talos-extension]`
/// table) instead of a recipe crate, for tests of the kinds' default recipes: the extension is
/// `name`, its crate directory talos-ext-build's own (no `native/`, `files/` or `patches/`).
pub fn stage_meta_with(name: &str, meta_toml: &str, recipe: Recipe, arch: Arch, opts: &TestOptions) -> Result<Staged> {
    let meta = ExtensionMeta::from_toml_str(name, meta_toml)?;
    stage_meta_at(Path::new(env!("CARGO_MANIFEST_DIR")), meta, recipe, arch, opts)
}

/// [`stage_with`] with the recipe crate's metadata as the test changed it (`meta`): for a listed
/// override of a nearby release whose own pins differ from the recipe's (a Go source tree's graph
/// hash and version stamps). The crate's files (`files/`, `patches/`) are the recipe's own.
pub fn stage_recipe_meta_with(
    manifest_dir: &str,
    meta: ExtensionMeta,
    recipe: Recipe,
    arch: Arch,
    opts: &TestOptions,
) -> Result<Staged> {
    stage_meta_at(Path::new(manifest_dir), meta, recipe, arch, opts)
}

fn stage_meta_at(
    manifest_dir: &Path,
    meta: ExtensionMeta,
    recipe: Recipe,
    arch: Arch,
    opts: &TestOptions,
) -> Result<Staged> {
    let root = Pin::find_workspace_root(manifest_dir)
        .with_context(|| format!("no {PIN_PATH} above {}", manifest_dir.display()))?;
    let (meta, repinned) = prepare_meta(&root, meta, arch, opts)?;
    let staged = stage_listed(&root, &meta, manifest_dir, recipe, arch, opts)?;
    report_built_from(&meta, arch, &staged, &repinned);
    Ok(staged)
}

/// Checks that the test's overrides are listed and applies its own repins and absent modules to
/// `meta`; returns it and the repinned sources.
fn prepare_meta(
    root: &Path,
    mut meta: ExtensionMeta,
    arch: Arch,
    opts: &TestOptions,
) -> Result<(ExtensionMeta, Vec<String>)> {
    check_overrides_listed(root, &opts.overrides)?;
    let own: Vec<Repin> = opts.repins.iter().filter(|r| r.layer.is_none()).cloned().collect();
    let repinned = apply_repins(root, &mut meta, arch, &own)?;
    Ok((without_modules(meta, arch, &opts.absent_modules), repinned))
}

/// The staging context of a test: `meta` of the crate at `manifest_dir`, staged into `out_dir`
/// with the test's options and the tests' fixed epoch.
fn test_context(
    root: &Path,
    meta: ExtensionMeta,
    manifest_dir: PathBuf,
    out_dir: PathBuf,
    opts: &TestOptions,
) -> Result<StageContext> {
    Ok(StageContext {
        meta,
        pin: Pin::load(root)?,
        manifest_dir,
        out_dir,
        source_date_epoch: TEST_EPOCH,
        fetch: opts.fetch.clone(),
        overrides: opts.overrides.clone(),
        libraries: opts.libraries.clone(),
        layer_test: LayerTestOptions::of(opts),
        go_cache: opts.go_cache.clone(),
        linux_firmware: opts.linux_firmware.clone(),
    })
}

fn stage_listed(
    root: &Path,
    meta: &ExtensionMeta,
    manifest_dir: &Path,
    recipe: Recipe,
    arch: Arch,
    opts: &TestOptions,
) -> Result<Staged> {
    let meta = meta.clone();
    let (tmp, out_dir) = match &opts.work_dir {
        Some(dir) => (None, dir.clone()),
        None => {
            let tmp = tempfile::Builder::new().prefix("talos-ext-test-").tempdir().context("creating a temp dir")?;
            let dir = tmp.path().to_path_buf();
            (Some(tmp), dir)
        }
    };
    if meta.is_internal() {
        // A library's own test gets a copy of the shared stage (see the module docs).
        let lib = TestLibrary { links: meta.name.clone(), manifest_dir: manifest_dir.to_path_buf(), recipe };
        let dest = out_dir.join(arch.as_str());
        let overridden = with_shared_library(&lib, arch, root, opts, |sysroot, overridden| {
            talos_ext_fs::remove_dir_if_exists(&dest)?;
            talos_ext_fs::copy_tree(sysroot, &dest)?;
            Ok(overridden.to_vec())
        })?;
        return Ok(Staged {
            dir: dest,
            overridden_sources: overridden,
            fetched_sources: None,
            build_paths: Vec::new(),
            _tmp: tmp,
        });
    }
    let ctx = test_context(root, meta, manifest_dir.to_path_buf(), out_dir.clone(), opts)?;
    let crate::script::ArchStage { dir, overridden: overridden_sources, fetched } =
        stage_arch(&ctx, arch, recipe, &out_dir.join("staged").join(arch.as_str()))?;
    let mut build_paths = vec![out_dir, root.to_path_buf(), opts.fetch.cache_dir.clone(), default_cache_dir(root)];
    build_paths.sort();
    build_paths.dedup();
    Ok(Staged { dir, overridden_sources, fetched_sources: Some(fetched), build_paths, _tmp: tmp })
}

/// The list of recipe tests that build other bytes than their pin (source overrides), with what
/// they build instead and why, relative to the workspace root.
pub const TEST_OVERRIDES: &str = "extensions/test-overrides.toml";

/// One entry of [`TEST_OVERRIDES`].
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListedOverride {
    /// The recipe (extension or internal library) whose source a test overrides.
    pub recipe: String,
    /// The overridden source; omitted for the recipe's only source.
    #[serde(default)]
    pub source: Option<String>,
    /// What the test builds instead of the pin.
    pub tested: String,
    /// Why the pin is not built.
    pub reason: String,
}

/// The entries of [`TEST_OVERRIDES`].
pub fn listed_overrides(root: &Path) -> Result<Vec<ListedOverride>> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct List {
        #[serde(rename = "override", default)]
        entries: Vec<ListedOverride>,
    }
    let path = root.join(TEST_OVERRIDES);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let list: List = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    for e in &list.entries {
        if e.tested.trim().is_empty() || e.reason.trim().is_empty() {
            anyhow::bail!("{}: the entry for `{}` must say what is tested and why", path.display(), e.recipe);
        }
    }
    Ok(list.entries)
}

/// Refuses overrides that [`TEST_OVERRIDES`] does not list.
fn check_overrides_listed(root: &Path, overrides: &[SourceOverride]) -> Result<()> {
    if overrides.is_empty() {
        return Ok(());
    }
    let listed = listed_overrides(root)?;
    for o in overrides {
        if !listed.iter().any(|l| l.recipe == o.extension && l.source == o.source) {
            let source = o.source.as_deref().map(|s| format!("/{s}")).unwrap_or_default();
            anyhow::bail!(
                "the test overrides source `{}{source}` with {}, which {TEST_OVERRIDES} does not list\n\
                 hint: a test that builds other bytes than the pin must say so: add an [[override]] entry \
                 (recipe, source, tested, reason)",
                o.extension,
                o.path.display()
            );
        }
    }
    Ok(())
}

/// Replaces the pins of `repins` (for `arch`) in `meta`, each listed in [`TEST_OVERRIDES`];
/// returns the names of the re-pinned sources.
fn apply_repins(root: &Path, meta: &mut ExtensionMeta, arch: Arch, repins: &[Repin]) -> Result<Vec<String>> {
    let listed = listed_overrides(root)?;
    let mut names = Vec::new();
    for r in repins.iter().filter(|r| r.arch == arch && r.layer.as_ref().is_none_or(|l| *l == meta.name)) {
        if !listed.iter().any(|l| l.recipe == meta.name && l.source.as_deref() == Some(r.source.as_str())) {
            anyhow::bail!(
                "the test re-pins source `{}/{}` to its own stand-in, which {TEST_OVERRIDES} does not list\n\
                 hint: a test that builds other bytes than the pin must say so: add an [[override]] entry \
                 (recipe, source, tested, reason)",
                meta.name,
                r.source
            );
        }
        let Some(source) = meta.sources.iter_mut().find(|s| s.name == r.source && s.arch.is_none_or(|a| a == arch))
        else {
            anyhow::bail!("the test re-pins source `{}`, which `{}` does not pin for {arch}", r.source, meta.name);
        };
        source.sha256 = r.sha256.clone();
        source.sha512 = r.sha512.clone();
        names.push(r.source.clone());
    }
    Ok(names)
}

/// Says on stderr what a staging was built from: each pinned source's sha256, the override, or
/// the test's stand-in.
fn report_built_from(meta: &ExtensionMeta, arch: Arch, staged: &Staged, repinned: &[String]) {
    let overridden = &staged.overridden_sources;
    for source in meta.sources_for(arch) {
        let own = format!("{}/{}", meta.name, source.name);
        let from = if repinned.contains(&source.name) {
            format!(
                "a STAND-IN generated by the test, re-pinned to sha256 {} (see extensions/test-overrides.toml), \
                 not the vendor's bytes",
                source.sha256
            )
        } else if overridden.iter().any(|o| o == &source.name || o == &own) {
            "a source override (see extensions/test-overrides.toml), not the pin".to_string()
        } else if staged.fetched_sources.as_ref().is_some_and(|f| !f.contains(&source.name)) {
            eprintln!("{} {arch}: source `{}` not used by this staging", meta.name, source.name);
            continue;
        } else {
            format!("the exact pin, sha256 {}", source.sha256)
        };
        eprintln!("{} {arch}: source `{}` built from {from}", meta.name, source.name);
    }
    for workspace_source in
        overridden.iter().filter(|o| o.as_str() == talos_ext_model::handoff::FIRMWARE_SOURCE_OVERRIDE)
    {
        eprintln!(
            "{} {arch}: `{workspace_source}` built from a source override (a stand-in tree), not the pin",
            meta.name
        );
    }
    let prefix = format!("{}/", meta.name);
    for lib_source in overridden.iter().filter(|o| o.contains('/') && !o.starts_with(&prefix)) {
        eprintln!("{} {arch}: library source `{lib_source}` built from a source override, not the pin", meta.name);
    }
}

/// Stages library `lib` for `arch` in its shared directory (under a lock) and calls `use_it`
/// with its sysroot and overridden sources while the lock is held.
fn with_shared_library<T>(
    lib: &TestLibrary,
    arch: Arch,
    root: &Path,
    opts: &TestOptions,
    use_it: impl FnOnce(&Path, &[String]) -> Result<T>,
) -> Result<T> {
    let manifest_dir = lib.manifest_dir.canonicalize().with_context(|| format!("{}", lib.manifest_dir.display()))?;
    // Keyed by what can change the stage: the library crate and the overrides of its sources and
    // of its own libraries' (not the dependent's others, so every test linking it shares it).
    let overrides = overrides_used(lib, &opts.libraries, &opts.overrides)?;
    let mut key = crate::fresh::Key::new("test library stage");
    key.text("links", &lib.links).text("crate", &manifest_dir.display().to_string()).text("overrides", &overrides);
    let key = key.finish();
    let stages = test_stages_dir(root);
    let name = format!("{}-{}", lib.links, &key[..16]);
    let kept = KeptDir::lock(&stages, &name)?;
    let dir = kept.path().to_path_buf();
    let ctx = test_context(root, load_meta(&manifest_dir)?, manifest_dir, dir.clone(), opts)?;
    let staged = stage_arch(&ctx, arch, lib.recipe, &dir.join(arch.as_str()))
        .with_context(|| format!("staging internal library `{}` for {arch}", lib.links))?;
    use_it(&staged.dir, &staged.overridden)
}

/// Real upstream code for tests, from Debian's source archive: the upstream tarball
/// (`*.orig.tar.*`) of the source package `spec` (`nvme-cli=2.16-1`) in Debian's current suites
/// ([`talos_ext_debian::Repo::current_sources`]), checked against the sha256 of the archive's
/// signed index and cached in `<cache>/debian/pool`. Use it as a [`SourceOverride`] when the pin
/// is unreachable.
pub fn debian_orig(spec: &str) -> Result<PathBuf> {
    let spec = PackageSpec::parse(spec)?;
    let version = spec.version.as_deref().with_context(|| format!("`{spec}`: a source package needs `=<version>`"))?;
    let cache = debian_cache()?;
    Ok(Repo::current_sources(&cache).fetch_upstream_tarball(&spec.name, version, &cache.join("pool"))?)
}

/// Real upstream code for tests that Debian carries only as an additional upstream tarball of
/// another source package (`<name>_<upstream>.orig-<component>.tar.*`, e.g. zlib-ng 2.2.4 as the
/// `zlib-ng` component of `node-yarnpkg=4.1.0+dfsg-9`), checked against the sha256 of the
/// archive's signed index and cached in `<cache>/debian/pool`, like [`debian_orig`].
pub fn debian_orig_component(spec: &str, component: &str) -> Result<PathBuf> {
    let spec = PackageSpec::parse(spec)?;
    let version = spec.version.as_deref().with_context(|| format!("`{spec}`: a source package needs `=<version>`"))?;
    let cache = debian_cache()?;
    let repo = Repo::current_sources(&cache);
    let package = repo.source(&spec.name, version)?;
    let marker = format!(".orig-{component}.tar.");
    let file = package.files.iter().find(|f| f.name.contains(&marker)).with_context(|| {
        format!(
            "`{spec}` has no `{component}` component tarball among {:?}",
            package.files.iter().map(|f| &f.name).collect::<Vec<_>>()
        )
    })?;
    Ok(repo.download(file, &cache.join("pool"))?)
}

/// Real upstream bytes that Debian ships only in binary packages (firmware, microcode): the
/// `.deb` of `spec` (`intel-microcode`, `hello:arm64`, `pkg=1.2-3`; amd64 unless an arch is
/// given; without a version the newest one) in Debian's stable suites
/// ([`talos_ext_debian::Repo::current_binaries`]), checked against the sha256 of the archive's
/// signed index and cached in `<cache>/debian/pool`. [`extract_debs`] unpacks it.
pub fn debian_deb(spec: &str) -> Result<PathBuf> {
    let cache = debian_cache()?;
    let (_, deb) = Repo::current_binaries(&cache).fetch_binary(&PackageSpec::parse(spec)?, &cache.join("pool"))?;
    Ok(deb)
}

/// `<cache>/debian` of the workspace.
fn debian_cache() -> Result<PathBuf> {
    let root = find_workspace_root()?;
    Ok(talos_ext_debian::workspace_cache(&root))
}

/// Real upstream code for tests, from PyPI: runs `ci/pypi-source.sh <workspace>/.cache/pypi-src
/// <spec>` (`libnvme==1.16.2`), which checks the sha256 the index gives and caches the file, and
/// returns the path of the sdist.
pub fn pypi_sdist(spec: &str) -> Result<PathBuf> {
    ci_download("pypi-source.sh", "pypi-src", spec)
}

/// Runs a `ci/` download script and returns the last path it printed. One at a time per process:
/// parallel tests asking for the same file must not download it twice into the same place.
fn ci_download(script: &str, cache: &str, spec: &str) -> Result<PathBuf> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = find_workspace_root()?;
    let mut command = crate::step::Command::new("bash")
        .name(script)
        .arg(root.join("ci").join(script))
        .arg(root.join(".cache").join(cache))
        .arg(spec);
    // Downloads honour the user's proxy settings; nothing else of the caller's environment.
    command.env_mut().pass_through(&["HOME", "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY"]);
    let stdout = command.read().with_context(|| format!("ci/{script} {spec}"))?;
    match stdout.lines().last() {
        Some(path) => Ok(PathBuf::from(path)),
        None => anyhow::bail!("ci/{script} {spec} printed no path"),
    }
}

/// The metadata of [`scratch_stage`]'s stage.
const SCRATCH_META: &str = r#"
category = "examples"
tier = "core"
kind = "c-build"
author = "talos-ext-build tests"
description = "Scratch stage for driver tests"
arches = ["amd64", "arm64"]
version = { format = "upstream", upstream = "v0.0.0" }
license = "MPL-2.0"
"#;

/// A bare [`Stage`] for `arch` in a new temporary directory (rootfs and work dir inside it),
/// with placeholder metadata and the workspace's pin, for testing build steps and drivers
/// without an extension crate. Nothing is validated. The stage lives as long as the `TempDir`.
pub fn scratch_stage(arch: Arch) -> Result<(tempfile::TempDir, Stage)> {
    let root = find_workspace_root()?;
    let tmp = tempfile::Builder::new().prefix("talos-ext-scratch-").tempdir().context("creating a temp dir")?;
    let stage_root = tmp.path().join("stage");
    let work = tmp.path().join("work");
    for dir in [stage_root.join("rootfs"), work.clone()] {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let stage = Stage {
        arch,
        meta: ExtensionMeta::from_toml_str("scratch", SCRATCH_META)?,
        pin: Pin::load(&root)?,
        manifest_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        root: stage_root,
        work,
        source_date_epoch: TEST_EPOCH,
        fetch: FetchConfig::new(default_cache_dir(&root)),
        overrides: Vec::new(),
        overridden: Default::default(),
        fetched: Default::default(),
        kernel: Default::default(),
        binaries: Default::default(),
        libraries: Vec::new(),
        layer_test: Default::default(),
        components: Default::default(),
        go_cache: None,
        linux_firmware: None,
    };
    Ok((tmp, stage))
}

/// The overrides (sorted, one per line) of the sources of `lib` and of the test libraries (and
/// layered extensions) it depends on, transitively: what of a test's overrides can change its stage.
fn overrides_used(lib: &TestLibrary, libraries: &[TestLibrary], overrides: &[SourceOverride]) -> Result<String> {
    let uses = library_closure(lib, libraries)?;
    let mut used: Vec<String> = overrides
        .iter()
        .filter(|o| uses.contains(&o.extension))
        .map(|o| format!("{}/{}={}", o.extension, o.source.as_deref().unwrap_or("*"), o.path.display()))
        .collect();
    used.sort();
    Ok(used.join("\n"))
}

/// `lib` and the test libraries it depends on (its `[dependencies]`), transitively.
fn library_closure(lib: &TestLibrary, available: &[TestLibrary]) -> Result<std::collections::BTreeSet<String>> {
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = vec![lib.clone()];
    while let Some(next) = todo.pop() {
        if !seen.insert(next.links.clone()) {
            continue;
        }
        let path = next.manifest_dir.join("Cargo.toml");
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let manifest: toml::Table = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let deps = manifest.get("dependencies").and_then(|d| d.as_table()).into_iter().flat_map(|t| t.keys());
        for dep in deps {
            todo.extend(available.iter().filter(|l| &l.links == dep).cloned());
        }
    }
    Ok(seen)
}

/// Stages a library recipe for `dependent`'s arch (tests only) in its shared directory, with the
/// dependent's source options, and merges its sysroot with `merge` while that stage is locked.
pub(crate) fn use_shared_library(
    lib: &TestLibrary,
    dependent: &Stage,
    merge: impl FnOnce(&Path, &[String]) -> Result<()>,
) -> Result<()> {
    let root = Pin::find_workspace_root(&dependent.manifest_dir)
        .with_context(|| format!("no {PIN_PATH} above {}", dependent.manifest_dir.display()))?;
    let opts = TestOptions {
        fetch: dependent.fetch.clone(),
        overrides: dependent.overrides.clone(),
        libraries: dependent.libraries.clone(),
        work_dir: None,
        repins: Vec::new(),
        go_cache: None,
        linux_firmware: dependent.linux_firmware.clone(),
        absent_modules: Vec::new(),
    };
    with_shared_library(lib, dependent.arch, &root, &opts, merge)
}

/// The bytes of the one member of the `.tar.gz` `archive` whose path ends with `/<suffix>`
/// (a single file of an upstream source tarball, e.g. from [`debian_orig`]).
pub fn tar_gz_member(archive: &Path, suffix: &str) -> Result<Vec<u8>> {
    use std::io::Read as _;
    let file = std::fs::File::open(archive).with_context(|| format!("opening {}", archive.display()))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let want = format!("/{suffix}");
    for entry in tar.entries().with_context(|| format!("reading {}", archive.display()))? {
        let mut entry = entry.with_context(|| format!("reading {}", archive.display()))?;
        let path = entry.path().with_context(|| format!("reading {}", archive.display()))?.display().to_string();
        if path.ends_with(&want) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).with_context(|| format!("reading {path} in {}", archive.display()))?;
            return Ok(bytes);
        }
    }
    anyhow::bail!("{}: no member `*/{suffix}`", archive.display())
}

/// Unpacks the directory `subdir` of the `.tar.gz` `archive` (below its top directory, as in an
/// upstream tarball: `mstflint-4.33.0/kernel/...` for `kernel`) into `dest`, regular files only;
/// for a source whose pinned tarball is one directory of a larger upstream tree.
pub fn tar_gz_subdir(archive: &Path, subdir: &str, dest: &Path) -> Result<usize> {
    let file = std::fs::File::open(archive).with_context(|| format!("opening {}", archive.display()))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut count = 0;
    for entry in tar.entries().with_context(|| format!("reading {}", archive.display()))? {
        let mut entry = entry.with_context(|| format!("reading {}", archive.display()))?;
        let path = entry.path().with_context(|| format!("reading {}", archive.display()))?.into_owned();
        let Ok(rel) = path.components().skip(1).collect::<PathBuf>().strip_prefix(subdir).map(Path::to_path_buf) else {
            continue;
        };
        if !entry.header().entry_type().is_file() || rel.as_os_str().is_empty() {
            continue;
        }
        let out = dest.join(&rel);
        std::fs::create_dir_all(out.parent().unwrap_or(dest)).with_context(|| format!("creating {}", out.display()))?;
        entry.unpack(&out).with_context(|| format!("unpacking {} into {}", path.display(), out.display()))?;
        count += 1;
    }
    if count == 0 {
        anyhow::bail!("{}: no files under `*/{subdir}/`", archive.display());
    }
    Ok(count)
}

/// Writes a stand-in `.tar.gz` (or `.tgz`) `file` holding `members` (path, bytes, mode), with
/// the tests' fixed mtime: for sources whose real archive is not reachable offline.
pub fn write_tar_gz(file: &Path, members: &[(String, Vec<u8>, u32)]) -> Result<()> {
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    if !(name.ends_with(".tar.gz") || name.ends_with(".tgz")) {
        anyhow::bail!("{name}: stand-in archives are written as .tar.gz only");
    }
    let out = std::fs::File::create(file).with_context(|| format!("creating {}", file.display()))?;
    let gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (member, bytes, mode) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(*mode);
        header.set_mtime(TEST_EPOCH);
        header.set_cksum();
        tar.append_data(&mut header, member, bytes.as_slice())
            .with_context(|| format!("adding {member} to {}", file.display()))?;
    }
    tar.into_inner().and_then(|gz| gz.finish()).with_context(|| format!("writing {}", file.display()))?;
    Ok(())
}

/// Fails unless `archive` is a static library (`ar`) of objects for `arch`, every one of them;
/// `what` names it in messages.
pub fn check_archive_machine(archive: &[u8], arch: Arch, what: &str) {
    let machines = crate::elf::archive_machines(archive).unwrap_or_else(|e| panic!("{arch}: {what}: {e:#}"));
    assert!(!machines.is_empty(), "{arch}: {what} has no objects");
    for (member, machine) in machines {
        assert_eq!(machine, arch.elf_machine(), "{arch}: {what}: {member}");
    }
}

/// Offline with an empty cache and no mirrors, staging `recipe` fails for every arch before
/// any work ([`assert_no_work_done`]), naming one of the arch's pinned sources (`source `<name>`
/// of extension `<ext>``) and its URL. Panics with the message otherwise.
pub fn check_offline_fails_naming_a_source(manifest_dir: &str, recipe: Recipe) {
    let meta = load_meta(Path::new(manifest_dir)).expect("the recipe's metadata");
    let (cache, opts) = TestOptions::offline_empty().expect("test options");
    for arch in meta.arches.clone() {
        let err = stage_with(manifest_dir, recipe, arch, &opts).expect_err("offline, with an empty cache");
        let msg = format!("{err:#}");
        let named = meta.sources_for(arch).any(|s| {
            msg.contains(&format!("source `{}` of extension `{}`", s.name, meta.name)) && msg.contains(&s.url)
        });
        assert!(named, "{arch}: {msg}");
        assert_no_work_done(cache.path(), &[]);
    }
}

/// Panics unless `cache` (a [`TestOptions::offline_empty`] cache a staging failed with) holds
/// nothing but bookkeeping (lock files, `CACHEDIR.TAG`, `.gitignore`), module signing keys
/// (`kernel/keys/`: made first on purpose, cheap, so that a key problem shows before an hour of
/// kernel build) and what the test put there itself (`own`, paths relative to `cache`): failing
/// fast means nothing was downloaded, unpacked or prepared.
pub fn assert_no_work_done(cache: &Path, own: &[&str]) {
    let mut found = Vec::new();
    let mut dirs = vec![cache.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let entry = entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                dirs.push(entry.path());
            } else {
                found.push(entry.path());
            }
        }
    }
    let allowed: Vec<PathBuf> = own.iter().chain(&["kernel/keys"]).map(|p| cache.join(p)).collect();
    let work: Vec<_> = found
        .iter()
        .filter(|p| !allowed.iter().any(|a| p.starts_with(a)))
        .filter(|p| p.extension().is_none_or(|e| e != "lock"))
        .filter(|p| p.file_name().is_none_or(|n| n != "CACHEDIR.TAG" && n != ".gitignore"))
        .collect();
    assert!(work.is_empty(), "work was done before failing: {work:?}");
}

/// The `go.mod` of a go-build recipe's wrapper module (`go/`), checked to require the module
/// at the version its `[go]` table pins; for the recipe's own checks of its `replace` lines.
pub fn go_wrapper_requiring_the_pin(manifest_dir: &str) -> String {
    let meta = load_meta(Path::new(manifest_dir)).expect("the recipe's metadata");
    let go = meta.go.as_ref().expect("a go-build recipe has a [go] table");
    let wrapper = crate::go::wrapper_dir(Path::new(manifest_dir)).expect("the wrapper module");
    let gomod = std::fs::read_to_string(wrapper.join("go.mod")).expect("go/go.mod");
    assert!(gomod.contains(&format!("{} {}", go.module, go.version)), "{gomod}");
    gomod
}

/// Stages the extension `other` for a dependent that layers it ([`Stage::layer_extension`]), with
/// the dependent's options, in its shared directory ([`with_shared_stage`]), and hands its rootfs
/// and overridden sources to `merge` while that stage is locked.
pub(crate) fn stage_layer<T>(
    other: &TestLibrary,
    dependent: &Stage,
    merge: impl FnOnce(&Path, &[String]) -> Result<T>,
) -> Result<T> {
    let root = Pin::find_workspace_root(&dependent.manifest_dir)
        .with_context(|| format!("no {PIN_PATH} above {}", dependent.manifest_dir.display()))?;
    let arch = dependent.arch;
    let mut meta = load_meta(&other.manifest_dir)?;
    let repinned = apply_repins(&root, &mut meta, arch, &dependent.layer_test.repins)?;
    let meta = without_modules(meta, arch, &dependent.layer_test.absent_modules);
    for source in &repinned {
        eprintln!(
            "{} {arch}: source `{source}` is a STAND-IN generated by the test (see extensions/test-overrides.toml)",
            meta.name
        );
    }
    let ctx = StageContext {
        meta,
        pin: Pin::load(&root)?,
        manifest_dir: other.manifest_dir.clone(),
        out_dir: PathBuf::new(),
        source_date_epoch: dependent.source_date_epoch,
        fetch: dependent.fetch.clone(),
        overrides: dependent.overrides.clone(),
        libraries: dependent.libraries.clone(),
        layer_test: dependent.layer_test.clone(),
        go_cache: None,
        linux_firmware: dependent.linux_firmware.clone(),
    };
    with_shared_stage(&root, ctx, other.recipe, arch, |staged| merge(&staged.dir.join("rootfs"), &staged.overridden))
        .with_context(|| {
            format!("staging extension `{}` for {arch}, which `{}` layers", other.links, dependent.meta.name)
        })
}

/// Stages the extension of `ctx` (whose `out_dir` is set here) for `arch` in a directory kept
/// between tests, `<cache>/test-stages/ext-<name>-<arch>-<key>/`, under a file lock, and calls
/// `use_it` with the stage while the lock is held. The key covers what selects a build: the
/// crate, the overrides of its sources and of the libraries and layers it uses, the test's
/// repins and absent modules for its layers, the linux-firmware release. The tree is staged
/// afresh by the recipe every time; what the directory keeps is the work directory, whose
/// per-phase stamps (see `fresh`) let a restage with unchanged inputs skip the builds, whichever
/// test staged it before (a layer's dependents and the layer's own test).
fn with_shared_stage<T>(
    root: &Path,
    mut ctx: StageContext,
    recipe: Recipe,
    arch: Arch,
    use_it: impl FnOnce(crate::script::ArchStage) -> Result<T>,
) -> Result<T> {
    let manifest_dir = ctx.manifest_dir.canonicalize().with_context(|| format!("{}", ctx.manifest_dir.display()))?;
    let this = TestLibrary { links: ctx.meta.name.clone(), manifest_dir: manifest_dir.clone(), recipe };
    let overrides = overrides_used(&this, &ctx.libraries, &ctx.overrides)?;
    let mut key = crate::fresh::Key::new("test extension stage");
    key.text("name", &ctx.meta.name)
        .text("crate", &manifest_dir.display().to_string())
        .text("overrides", &overrides)
        .text("layer options", &format!("{:?}", ctx.layer_test))
        .text("linux-firmware", &format!("{:?}", ctx.linux_firmware))
        .text("epoch", &ctx.source_date_epoch.to_string());
    let key = key.finish();
    let stages = test_stages_dir(root);
    let name = format!("ext-{}-{arch}-{}", ctx.meta.name, &key[..16]);
    let kept = KeptDir::lock(&stages, &name)?;
    ctx.out_dir = kept.path().to_path_buf();
    let staged = stage_arch(&ctx, arch, recipe, &ctx.out_dir.join("staged"))?;
    use_it(staged)
}

/// [`stage_with`] in the extension's shared test directory ([`with_shared_stage`]) instead of a
/// new one: for an extension whose build is long and that other tests stage too (the glibc
/// recipe, which the NVIDIA recipes layer), so that it is built once. The staged tree is copied
/// out (into a temporary directory that lives as long as the returned [`Staged`]) while the
/// shared stage is locked.
pub fn stage_shared(manifest_dir: &str, recipe: Recipe, arch: Arch, opts: &TestOptions) -> Result<Staged> {
    let manifest_dir = Path::new(manifest_dir);
    let root = Pin::find_workspace_root(manifest_dir)
        .with_context(|| format!("no {PIN_PATH} above {}", manifest_dir.display()))?;
    let meta = load_meta(manifest_dir)?;
    if meta.is_internal() {
        anyhow::bail!("`{}` is a library: its tests share its stage already (use stage_with)", meta.name);
    }
    let (meta, repinned) = prepare_meta(&root, meta, arch, opts)?;
    let ctx = test_context(&root, meta.clone(), manifest_dir.to_path_buf(), PathBuf::new(), opts)?;
    let tmp = tempfile::Builder::new().prefix("talos-ext-test-").tempdir().context("creating a temp dir")?;
    let dest = tmp.path().join(arch.as_str());
    let (shared, overridden, fetched) = with_shared_stage(&root, ctx, recipe, arch, |staged| {
        talos_ext_fs::copy_tree(&staged.dir, &dest)?;
        let shared = staged.dir.parent().context("a shared stage has a parent")?.to_path_buf();
        Ok((shared, staged.overridden, staged.fetched))
    })?;
    let mut build_paths =
        vec![shared, tmp.path().to_path_buf(), root.clone(), opts.fetch.cache_dir.clone(), default_cache_dir(&root)];
    build_paths.sort();
    build_paths.dedup();
    let staged = Staged {
        dir: dest,
        overridden_sources: overridden,
        fetched_sources: Some(fetched),
        build_paths,
        _tmp: Some(tmp),
    };
    report_built_from(&meta, arch, &staged, &repinned);
    Ok(staged)
}

/// The workspace's pinned toolchains, read from `toolchain/` as builds read them, so tests say
/// what they expect from the pins instead of restating them.
#[derive(Debug, Clone)]
pub struct Pins {
    pub pin: Pin,
    /// The catalog's kernel toolchain (`[toolchains] default`): the pinned Talos kernel.
    pub talos: talos_ext_model::toolchain::Toolchain,
    /// The examples' kernel toolchain (`[toolchains] examples`): Debian's kernel, offline.
    pub debian: talos_ext_model::toolchain::Toolchain,
}

impl Pins {
    /// Loads `toolchain/pin.toml` and the two toolchains it names.
    pub fn load() -> Result<Pins> {
        let root = find_workspace_root()?;
        let pin = Pin::load(&root)?;
        let load = |name: Option<&str>, what: &str| -> Result<talos_ext_model::toolchain::Toolchain> {
            let name = name.with_context(|| format!("{PIN_PATH} names no {what} toolchain"))?;
            Ok(talos_ext_model::toolchain::Toolchain::load(&root, name)?)
        };
        let talos = load(pin.toolchains.default.as_deref(), "default")?;
        let debian = load(pin.toolchains.examples.as_deref(), "examples")?;
        Ok(Pins { pin, talos, debian })
    }

    /// The Talos toolchain's definition.
    pub fn talos_spec(&self) -> &talos_ext_model::toolchain::TalosToolchain {
        match &self.talos.spec {
            talos_ext_model::ToolchainSpec::Talos(t) => t,
            other => panic!("the default toolchain `{}` is not a Talos kernel: {other:?}", self.talos.name),
        }
    }

    /// The Debian toolchain's definition.
    pub fn debian_spec(&self) -> &talos_ext_model::toolchain::DebianToolchain {
        match &self.debian.spec {
            talos_ext_model::ToolchainSpec::Debian(d) => d,
            other => panic!("the examples toolchain `{}` is not a Debian kernel: {other:?}", self.debian.name),
        }
    }
}

/// An extension's metadata, as its build script reads it (`manifest_dir` is the crate).
pub fn meta(manifest_dir: &str) -> Result<ExtensionMeta> {
    load_meta(Path::new(manifest_dir))
}

/// The shared test of in-tree module recipes: with the examples' Debian toolchain (offline, from
/// Debian's linux-image package) every module the recipe lists for each arch must be staged as a
/// plain `.ko` for that arch, still carrying the kernel build's signature, with a vermagic of
/// the single release directory (of the toolchain's kernel series), next to `modules.order`,
/// `modules.builtin` and `modules.builtin.modinfo`. Panics with the reason otherwise.
pub fn check_in_tree_recipe_with_debian(manifest_dir: &str, recipe: Recipe) {
    check_in_tree_recipe_with_debian_and(manifest_dir, recipe, &TestOptions::from_env().expect("test options"));
}

/// [`check_in_tree_recipe_with_debian`] with `base` options (a mirror for a recipe's other
/// sources, ...); returns each arch's staging that installed modules, for more checks.
pub fn check_in_tree_recipe_with_debian_and(manifest_dir: &str, recipe: Recipe, base: &TestOptions) -> Vec<Staged> {
    use crate::kernel::{KernelOverrides, with_overrides};

    let meta = load_meta(Path::new(manifest_dir)).expect("the recipe's metadata");
    let pins = Pins::load().expect("the pins");
    let debian = KernelOverrides { toolchain: Some(pins.debian.name.clone()), ..Default::default() };
    let mut tested = Vec::new();
    let mut stagings = Vec::new();
    for arch in meta.arches.clone() {
        let absent = absent_from_debian(&meta, arch);
        let mut opts = base.clone();
        opts.absent_modules = absent.clone();
        if absent.len() == meta.modules_for(arch).len() {
            // Nothing to install from Debian's kernel: the recipe must fail naming the module.
            let err = with_overrides(debian.clone(), || stage_with(manifest_dir, recipe, arch, base))
                .expect_err("a module the toolchain's tree lacks fails the recipe");
            let msg = format!("{err:#}");
            assert!(msg.contains(&format!("in-tree module `{}` is not in", absent[0])), "{msg}");
            continue;
        }
        let started = std::time::Instant::now();
        let s = with_overrides(debian.clone(), || stage_with(manifest_dir, recipe, arch, &opts))
            .unwrap_or_else(|e| panic!("{}: {arch}: {e:#}", meta.name));
        eprintln!("{} {arch}: staged in {:.1?}", meta.name, started.elapsed());
        check_staged_in_tree_modules(&s, &without_modules(meta.clone(), arch, &absent), arch);
        let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).expect("manifest.yaml");
        let version = meta.version_string(&pins.pin.talos.tag);
        assert!(manifest.contains(&format!("name: {}\n  version: {version}\n", meta.name)), "{manifest}");
        tested.push(arch);
        stagings.push(s);
    }
    eprintln!(
        "{}: modules installed and checked from Debian's kernel for {tested:?}; the rest only from the Talos kernel image \
         (the full tier checks that the pinned Talos config builds every listed module as a module)",
        meta.name
    );
    stagings
}

/// The Debian toolchain's module tree for `arch` (Debian's signed `linux-image` package,
/// downloaded and unpacked into the kernel cache once).
pub fn debian_module_tree(arch: Arch) -> Result<talos_ext_kernel::ModuleTree> {
    let root = workspace_root();
    let pins = Pins::load()?;
    let tc = talos_ext_model::Toolchain::load(&root, &pins.debian.name)?;
    let ctx = talos_ext_kernel::KernelContext::from_env(&root)?;
    let (tree, notes) = talos_ext_kernel::prepare_module_tree(&ctx, &tc, arch)?;
    notes.iter().for_each(|n| eprintln!("note: {n}"));
    Ok(tree)
}

/// The modules `meta` lists for `arch` that Debian's kernel does not have as modules, each
/// printed with the reason its tree gives ([`talos_ext_kernel::ModuleTree::absence`]): they are
/// installed only from the Talos kernel image, which is not reachable offline (the full tier
/// checks that the pinned Talos configuration builds each as a module).
pub fn absent_from_debian(meta: &ExtensionMeta, arch: Arch) -> Vec<String> {
    let tree = debian_module_tree(arch).unwrap_or_else(|e| panic!("Debian's module tree for {arch}: {e:#}"));
    let mut absent = Vec::new();
    for rel in meta.modules_for(arch) {
        if let Some(why) = tree.absence(rel) {
            eprintln!("{} {arch}: `{rel}` is not tested with Debian's {}: {why}", meta.name, tree.release);
            absent.push(rel.clone());
        }
    }
    absent
}

/// `meta` without the in-tree modules `absent` for `arch`.
pub fn without_modules(mut meta: ExtensionMeta, arch: Arch, absent: &[String]) -> ExtensionMeta {
    if let Some(list) = meta.modules.get_mut(&arch) {
        list.retain(|m| !absent.contains(m));
    }
    meta
}

/// The workspace root above this crate (the directory with [`PIN_PATH`]).
fn find_workspace_root() -> Result<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    Pin::find_workspace_root(here).with_context(|| format!("no {PIN_PATH} above {}", here.display()))
}

fn workspace_root() -> PathBuf {
    find_workspace_root().unwrap_or_else(|e| panic!("{e}"))
}

/// Checks the in-tree modules a recipe staged with the Debian toolchain for `arch`: one release
/// directory (of the toolchain's kernel series, for `arch`), every module the metadata lists
/// for `arch` a plain `.ko` for that arch that keeps the kernel build's signature and names that
/// release, and the index files beside them. Returns the rootfs paths of the modules and index
/// files. Panics with the reason otherwise.
pub fn check_staged_in_tree_modules(s: &Staged, meta: &ExtensionMeta, arch: Arch) -> Vec<String> {
    use crate::kernel::kmod::{ModuleSignature, elf_machine, modinfo};

    let pins = Pins::load().expect("the pins");
    let series = format!("{}.", pins.debian_spec().debian.series);
    let modules = s.rootfs("usr/lib/modules");
    let releases: Vec<String> = std::fs::read_dir(&modules)
        .expect("usr/lib/modules exists")
        .map(|e| e.expect("a directory entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(releases.len(), 1, "one release directory: {releases:?}");
    let release = &releases[0];
    assert!(release.starts_with(&series) && release.ends_with(&format!("-{arch}")), "{release}");
    let listed = meta.modules_for(arch);
    assert!(!listed.is_empty(), "{} lists no modules for {arch}", meta.name);
    let mut staged = Vec::new();
    for rel in listed {
        let path = modules.join(release).join(rel);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(&bytes[..4], b"\x7fELF", "{} must be a plain .ko", path.display());
        assert_eq!(elf_machine(&bytes).expect("an ELF machine").talos_arch(), Some(arch.as_str()));
        let sig = ModuleSignature::parse(&bytes).expect("a readable signature").expect("keeps its signature");
        assert!(sig.signer_name().is_some_and(|s| !s.is_empty()), "{}: no signer", path.display());
        let info = modinfo(&bytes).expect(".modinfo");
        assert_eq!(info.kernel_release(), Some(release.as_str()), "{}", path.display());
        staged.push(format!("usr/lib/modules/{release}/{rel}"));
    }
    for index in ["modules.order", "modules.builtin", "modules.builtin.modinfo"] {
        assert!(modules.join(release).join(index).is_file(), "{index}");
        staged.push(format!("usr/lib/modules/{release}/{index}"));
    }
    staged
}

/// Checks out-of-tree modules a recipe built and staged for `arch` with kernel toolchain
/// `toolchain` (Debian's here: its release is `<series>.*-<arch>`): one release directory, and
/// for each of `modules` (paths below it, `extras/zfs.ko`) with kmod's own `modinfo`: mode 0644,
/// the module name, a vermagic of that release with the arch's flags, a PKCS#7 sha512 signature
/// by the toolchain's signing key (the one in `cache`, where the test's build made it), stripped
/// of debug info, the arch's ELF machine, and no build paths. Returns the release and each
/// module's `modinfo -F version` (empty when it declares none). Panics with the reason.
pub fn check_out_of_tree_modules(
    s: &Staged,
    arch: Arch,
    toolchain: &str,
    cache: &Path,
    modules: &[&str],
) -> (String, Vec<String>) {
    use crate::kernel::kmod;
    let pins = Pins::load().expect("the pins");
    let series = format!("{}.", pins.debian_spec().debian.series);
    let dir = s.rootfs("usr/lib/modules");
    let releases: Vec<String> = std::fs::read_dir(&dir)
        .expect("usr/lib/modules exists")
        .map(|e| e.expect("a directory entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(releases.len(), 1, "one release directory: {releases:?}");
    let release = releases[0].clone();
    assert!(release.starts_with(&series) && release.ends_with(&format!("-{arch}")), "{release}");
    let mut ctx = talos_ext_kernel::KernelContext::from_env(&workspace_root()).expect("the kernel context");
    ctx.fetch.cache_dir = cache.to_path_buf();
    let key = ctx.module_key(toolchain).expect("the toolchain's signing key");
    let modinfo = |field: &str, ko: &Path| -> String {
        let out = crate::step::Command::new("modinfo").args(["-F", field]).arg(ko).hint("apt-get install kmod").read();
        out.unwrap_or_else(|e| panic!("{e}")).trim().to_string()
    };
    let mut versions = Vec::new();
    for rel in modules {
        let ko = dir.join(&release).join(rel);
        let file = rel.rsplit('/').next().unwrap_or(rel);
        assert!(ko.is_file(), "usr/lib/modules/{release}/{rel}");
        assert_eq!(mode(&ko), 0o644, "{rel}");
        assert_eq!(modinfo("name", &ko), talos_ext_kernel::module_name(file), "{rel}");
        let vermagic = modinfo("vermagic", &ko);
        assert_eq!(vermagic.split_whitespace().next(), Some(release.as_str()), "{rel}: {vermagic}");
        let flag = if arch == Arch::Arm64 { "aarch64" } else { "modversions" };
        assert!(vermagic.trim_end().ends_with(flag), "{rel}: {vermagic}");
        assert_eq!(modinfo("sig_id", &ko), "PKCS#7", "{rel}");
        assert_eq!(modinfo("sig_hashalgo", &ko), "sha512", "{rel}");
        assert_eq!(modinfo("signer", &ko), key.key.signer().expect("a signer name"), "{rel}");
        let bytes = std::fs::read(&ko).expect("the module");
        let sig = kmod::ModuleSignature::parse(&bytes).expect("a readable signature").expect("signed");
        assert_eq!(sig.sig_key(), &key.key.key_id(), "{rel} signed with the toolchain key");
        assert!(!bytes.windows(12).any(|w| w == b".debug_info\0"), "{rel} is stripped before signing");
        let machine = kmod::elf_machine(&bytes).expect("an ELF machine");
        assert_eq!(machine, kmod::ElfMachine::from_e_machine(arch.elf_machine()), "{rel}");
        s.check_no_build_paths(&format!("usr/lib/modules/{release}/{rel}")).expect("no build paths");
        versions.push(modinfo("version", &ko));
    }
    (release, versions)
}

/// The shared test that an in-tree module recipe fails offline with the pinned Talos toolchain
/// before doing any work, naming the kernel image that carries the signed modules and the module
/// directory it needs from it.
pub fn check_in_tree_recipe_fails_fast_with_talos(manifest_dir: &str, recipe: Recipe) {
    use crate::kernel::{KernelOverrides, with_overrides};

    let meta = load_meta(Path::new(manifest_dir)).expect("the recipe's metadata");
    let pins = Pins::load().expect("the pins");
    let kernel = &pins.talos_spec().kernel;
    let arch = meta.arches[0];
    let talos = KernelOverrides { toolchain: Some(pins.talos.name.clone()), ..Default::default() };
    let err = with_overrides(talos, || stage(manifest_dir, recipe, arch)).expect_err("no Talos kernel image offline");
    let msg = format!("{err:#}");
    assert!(msg.contains(&kernel.image), "{msg}");
    let modules = format!("usr/lib/modules/{}", kernel.release);
    assert!(msg.contains("not available offline") && msg.contains(&modules), "{msg}");
}

/// The tests of a recipe that uses [`crate::default_recipe`] for `kmod-in-tree`: its whole
/// `tests/in_tree.rs` is `talos_ext_build::in_tree_recipe_tests!();` (or, for a recipe that adds
/// files to the default, `in_tree_recipe_tests!(build::recipe)` with its `build.rs` as a module). With the Debian toolchain
/// (offline, from the Debian linux-image package) every listed module must be installed as a
/// plain, still signed `.ko` under its own path with the index files
/// ([`check_in_tree_recipe_with_debian`]); with the pinned Talos toolchain (the default) staging
/// must fail at once, naming the kernel image it needs
/// ([`check_in_tree_recipe_fails_fast_with_talos`]).
#[macro_export]
macro_rules! in_tree_recipe_tests {
    () => {
        $crate::in_tree_recipe_tests!($crate::default_recipe);
    };
    ($recipe:path) => {
        #[test]
        fn tier_kinds_debian_toolchain_installs_the_listed_signed_modules() {
            $crate::testing::check_in_tree_recipe_with_debian(env!("CARGO_MANIFEST_DIR"), $recipe);
        }

        #[test]
        fn talos_toolchain_fails_fast_naming_the_kernel_image() {
            $crate::testing::check_in_tree_recipe_fails_fast_with_talos(env!("CARGO_MANIFEST_DIR"), $recipe);
        }
    };
}

/// The tests of a `firmware` recipe (its `build.rs` is [`crate::default_build_script`]): its whole
/// `tests/firmware.rs` is `talos_ext_build::firmware_recipe_tests!("<debian package>=<version>",
/// ...);`, naming the Debian packages that hold its paths. In the smoke tier, the version date is
/// the pinned release's and staging without the release fails naming it
/// ([`firmware::check_firmware_recipe_needs_the_pinned_release`]); in the default tier, each arch
/// is staged from Debian's firmware and compared with it ([`firmware::check_firmware_recipe_with_debian`]).
/// Without packages (a scaffold), only the smoke test.
#[macro_export]
macro_rules! firmware_recipe_tests {
    () => {
        #[test]
        fn needs_the_pinned_linux_firmware_release() {
            $crate::testing::firmware::check_firmware_recipe_needs_the_pinned_release(
                env!("CARGO_MANIFEST_DIR"),
                $crate::default_recipe,
            );
        }
    };
    ($($package:literal),+ $(,)?) => {
        $crate::firmware_recipe_tests!();

        #[test]
        fn tier_kinds_amd64_staged_from_debian_firmware() {
            $crate::testing::firmware::check_firmware_recipe_with_debian(
                env!("CARGO_MANIFEST_DIR"),
                $crate::default_recipe,
                $crate::Arch::Amd64,
                &[$($package),+],
            );
        }

        #[test]
        fn tier_kinds_arm64_staged_from_debian_firmware() {
            $crate::testing::firmware::check_firmware_recipe_with_debian(
                env!("CARGO_MANIFEST_DIR"),
                $crate::default_recipe,
                $crate::Arch::Arm64,
                &[$($package),+],
            );
        }
    };
}

/// The tests of a `mixed` recipe that pairs in-tree modules with their firmware and uses
/// [`crate::default_recipe`]: its whole `tests/modules_and_firmware.rs` is
/// `talos_ext_build::modules_and_firmware_recipe_tests!("<debian package>=<version>", ...);`,
/// naming the Debian firmware packages that hold its firmware paths. In the smoke tier, staging
/// without the pinned linux-firmware release fails naming it (the default recipe installs the
/// firmware first); in the default tier, every arch is staged with the Debian toolchain's signed
/// modules and Debian's firmware ([`firmware::check_modules_and_firmware_recipe_with_debian`]).
/// The Talos toolchain's fail-fast without its kernel image is the in-tree recipes' test (the
/// same step).
#[macro_export]
macro_rules! modules_and_firmware_recipe_tests {
    ($($package:literal),+ $(,)?) => {
        $crate::firmware_recipe_tests!();

        #[test]
        fn tier_kinds_debian_modules_and_firmware() {
            $crate::testing::firmware::check_modules_and_firmware_recipe_with_debian(
                env!("CARGO_MANIFEST_DIR"),
                $crate::default_recipe,
                &[$($package),+],
            );
        }
    };
}

/// A STAND-IN for NVIDIA's redistributable driver archive (`nvidia_driver-linux-*-archive`),
/// not the vendor's bytes (they are not reachable offline): a `.tar.gz` at `dir/<name>.tar.gz`
/// in the archive's layout below one top directory, with glibc programs for `arch` built by
/// Debian's gcc (`bin/nvidia-smi`, `nvidia-persistenced`, `nvidia-modprobe`; each prints
/// `stand-in <name>, not the vendor bytes`), two shared libraries with NVIDIA's sonames
/// (`lib/libnvidia-ml.so.<version>` as `libnvidia-ml.so.1`, `lib/libcuda.so.<version>` as
/// `libcuda.so.1`), a GSP firmware file and the Vulkan ICD and EGL vendor JSON files.
pub fn nvidia_driver_stand_in(arch: Arch, dir: &Path, version: &str) -> Result<PathBuf> {
    let cc = format!("/usr/bin/{}-linux-gnu-gcc", arch.gnu_machine());
    let work = dir.join(format!("driver-{arch}"));
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let top = format!("nvidia_driver-linux-{}-{version}-archive", arch.gnu_machine());
    let mut members = Vec::new();
    for name in ["nvidia-smi", "nvidia-persistenced", "nvidia-modprobe"] {
        let c = work.join(format!("{name}.c"));
        std::fs::write(
            &c,
            format!(
                "#include <stdio.h>\nint main(void) {{ puts(\"stand-in {name}, not the vendor bytes\"); return 0; }}\n"
            ),
        )
        .with_context(|| format!("writing {}", c.display()))?;
        let out = work.join(name);
        crate::step::Command::new(&cc)
            .name(&format!("{name}-stand-in"))
            .args(["-O2", "-s", "-o"])
            .arg(&out)
            .arg(&c)
            .dir(&work)
            .run()?;
        members.push((format!("{top}/bin/{name}"), std::fs::read(&out)?, 0o755));
    }
    for (lib, soname) in [("libnvidia-ml", "libnvidia-ml.so.1"), ("libcuda", "libcuda.so.1")] {
        let c = work.join(format!("{lib}.c"));
        std::fs::write(
            &c,
            format!("const char *stand_in_{}(void) {{ return \"stand-in {lib}\"; }}\n", lib.replace('-', "_")),
        )
        .with_context(|| format!("writing {}", c.display()))?;
        let out = work.join(format!("{lib}.so.{version}"));
        crate::step::Command::new(&cc)
            .name(&format!("{lib}-stand-in"))
            .args(["-O2", "-s", "-shared", "-fPIC"])
            .arg(format!("-Wl,-soname,{soname}"))
            .arg("-o")
            .arg(&out)
            .arg(&c)
            .dir(&work)
            .run()?;
        members.push((format!("{top}/lib/{lib}.so.{version}"), std::fs::read(&out)?, 0o755));
    }
    members.push((format!("{top}/firmware/gsp_ga10x.bin"), b"stand-in GSP firmware\n".to_vec(), 0o644));
    members.push((
        format!("{top}/etc/vulkan/icd.d/nvidia_icd.json"),
        b"{\"file_format_version\": \"1.0.1\", \"ICD\": {\"library_path\": \"libGLX_nvidia.so.0\"}}\n".to_vec(),
        0o644,
    ));
    members.push((
        format!("{top}/share/glvnd/egl_vendor.d/10_nvidia.json"),
        b"{\"file_format_version\": \"1.0.0\", \"ICD\": {\"library_path\": \"libEGL_nvidia.so.0\"}}\n".to_vec(),
        0o644,
    ));
    members.push((format!("{top}/README"), b"stand-in driver archive, not the vendor bytes\n".to_vec(), 0o644));
    let archive = dir.join(format!("{top}.tar.gz"));
    write_tar_gz(&archive, &members)?;
    Ok(archive)
}

/// Checks an `nvidia-container-toolkit-*` recipe's pins: NVIDIA's toolkit module at v1.19.1
/// built with cgo against glibc (its seven programs), the version `<driver>-v1.19.1`, the driver
/// archive of `driver` for both arches, and the wrapper module requiring the pin.
pub fn check_nvidia_container_toolkit_pins(manifest_dir: &str, driver: &str) {
    let m = meta(manifest_dir).unwrap();
    let go = m.go.as_ref().unwrap();
    assert_eq!((go.module.as_str(), go.version.as_str()), ("github.com/NVIDIA/nvidia-container-toolkit", "v1.19.1"));
    assert_eq!(go.libc, talos_ext_model::GoLibc::Glibc);
    assert_eq!(go.programs().len(), 7);
    assert_eq!(m.version.upstream_part(), format!("{driver}-v1.19.1"));
    for arch in [Arch::Amd64, Arch::Arm64] {
        let src = m.source("nvidia-driver", arch).unwrap();
        assert!(src.url.ends_with(&format!("-{driver}-archive.tar.xz")), "{}", src.url);
    }
    go_wrapper_requiring_the_pin(manifest_dir);
}

/// Test options for an `nvidia-container-toolkit-*` recipe for `arch`: the toolkit from its
/// real Go module (the exact pin, through the module proxy or the mirrors) and the driver
/// archive replaced by [`nvidia_driver_stand_in`], re-pinned by the test (`Repin::of_file`) and
/// served through a directory mirror in the returned temporary directory (keep it while staging).
pub fn nvidia_container_toolkit_options(manifest_dir: &str, arch: Arch) -> Result<(tempfile::TempDir, TestOptions)> {
    use crate::nvidia_container_toolkit as nct;
    let meta = load_meta(Path::new(manifest_dir))?;
    let version = nct::driver_version(meta.version.upstream_part())?.to_string();
    let tmp = tempfile::tempdir().context("a temp dir")?;
    let archive = nvidia_driver_stand_in(arch, tmp.path(), &version)?;
    let mut opts = TestOptions::from_env()?;
    let repin = Repin::of_file(nct::DRIVER_SOURCE, arch, &archive)?;
    let by_sha = tmp.path().join("mirror/sha256");
    std::fs::create_dir_all(&by_sha).with_context(|| format!("creating {}", by_sha.display()))?;
    std::fs::copy(&archive, by_sha.join(repin.sha256.as_str())).context("mirroring the stand-in")?;
    opts.fetch.mirrors.insert(0, talos_ext_fetch::Mirror::Dir(tmp.path().join("mirror")));
    opts.repins = vec![repin];
    opts.libraries.push(glibc_stand_in_library(Path::new(manifest_dir))?);
    Ok((tmp, opts))
}

/// Checks an `nvidia-container-toolkit-*` extension staged for `arch` with
/// [`nvidia_container_toolkit_options`]: the `glibc` layer is in the image (the stand-in's, and
/// the image is marked so); the seven toolkit programs are glibc programs declaring the `glibc`
/// extension's loader, which resolves inside the image, with every library they need in the
/// layer's library directory; two of them report the pinned release run by the image's own
/// loader and libraries ([`staged_glibc_command`]; arm64 under qemu); none holds a build path;
/// the layer's `ld.so.cache` lists NVIDIA's libraries; NVIDIA's libraries, soname links,
/// utilities, firmware, JSON files, the static wrapper, the services, the CRI part, the udev rule
/// and the SBOM.
pub fn check_staged_nvidia_container_toolkit(manifest_dir: &str, s: &Staged, arch: Arch) {
    use crate::nvidia_container_toolkit as nct;
    let meta = load_meta(Path::new(manifest_dir)).expect("the recipe's metadata");
    let version = nct::driver_version(meta.version.upstream_part()).expect("the version").to_string();
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).expect("manifest.yaml");
    assert!(manifest.contains(&format!("  version: {version}-v1.19.1\n")), "{manifest}");
    assert!(
        s.overridden_sources.iter().any(|o| o == "glibc/glibc"),
        "the stand-in glibc layer marks the image: {:?}",
        s.overridden_sources
    );
    let rootfs = s.dir.join("rootfs");
    let go = meta.go.as_ref().expect("a [go] table");
    for name in go.programs() {
        let rel = format!("usr/local/bin/{name}");
        let path = s.rootfs(&rel);
        assert_eq!(mode(&path), 0o755, "{rel}");
        let loader = check_glibc_program(arch, &path).unwrap_or_else(|e| panic!("{e:#}"));
        resolve_in_rootfs(&rootfs, loader).unwrap_or_else(|e| panic!("{rel}'s loader is not in the image: {e:#}"));
        for needed in crate::elf::ElfInfo::read(&path).expect("an ELF file").needed {
            let lib = s.rootfs(&format!("{}/{needed}", nct::LIB_DIR));
            assert!(lib.is_file(), "{rel} needs {needed}, which the glibc layer lacks");
        }
        s.check_no_build_paths(&rel).unwrap_or_else(|e| panic!("{e:#}"));
        eprintln!(
            "{} {arch}: {rel} declares the loader {loader}, {} bytes",
            meta.name,
            std::fs::metadata(&path).unwrap().len()
        );
    }
    // `nvidia-container-runtime --version` needs a runc on the machine; these two do not.
    for name in ["nvidia-ctk", "nvidia-cdi-hook"] {
        let cmd = staged_glibc_command(s, arch, &format!("usr/local/bin/{name}")).unwrap_or_else(|e| panic!("{e:#}"));
        let out = cmd.arg("--version").read().unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert!(out.contains("1.19.1"), "{name} --version: {out}");
    }
    // The layer's loader cache, rewritten by its ldconfig, names NVIDIA's libraries.
    let cache = std::fs::read(s.rootfs(&nct::LD_SO_CACHE[1..])).expect("the glibc layer's ld.so.cache");
    let text = String::from_utf8_lossy(&cache);
    for soname in ["libnvidia-ml.so.1", "libcuda.so.1", "libc.so.6"] {
        let path = format!("/{}/{soname}", nct::LIB_DIR);
        assert!(text.contains(&path), "{} lacks {path}", nct::LD_SO_CACHE);
    }
    for name in nct::USR_BIN_LINKS {
        let link = std::fs::read_link(s.rootfs(&format!("usr/bin/{name}"))).expect("a /usr/bin link");
        assert_eq!(link, Path::new(&format!("/usr/local/bin/{name}")));
    }
    for (lib, soname) in [("libnvidia-ml", "libnvidia-ml.so.1"), ("libcuda", "libcuda.so.1")] {
        let file = format!("{lib}.so.{version}");
        let info = crate::elf::ElfInfo::read(&s.rootfs(&format!("{}/{file}", nct::LIB_DIR))).expect("the library");
        assert_eq!((info.machine, info.soname.as_deref()), (arch.elf_machine(), Some(soname)));
        let link = std::fs::read_link(s.rootfs(&format!("{}/{soname}", nct::LIB_DIR))).expect("the soname link");
        assert_eq!(link, Path::new(&file));
    }
    for name in ["nvidia-smi", "nvidia-persistenced", "nvidia-modprobe"] {
        let path = s.rootfs(&format!("usr/local/bin/{name}"));
        assert_eq!(mode(&path), 0o755, "{name}");
        let info = crate::elf::ElfInfo::read(&path).expect("a utility");
        assert!(info.interpreter.is_some() && info.machine == arch.elf_machine(), "{name}: {info:?}");
    }
    assert!(s.rootfs(&format!("usr/lib/firmware/nvidia/{version}/gsp_ga10x.bin")).is_file());
    assert!(s.rootfs("etc/vulkan/icd.d/nvidia_icd.json").is_file());
    assert!(s.rootfs("usr/share/glvnd/egl_vendor.d/10_nvidia.json").is_file());
    let wrapper = s.rootfs(nct::PERSISTENCED_WRAPPER);
    check_static_program(arch, &wrapper).unwrap_or_else(|e| panic!("{e:#}"));
    s.check_no_build_paths(nct::PERSISTENCED_WRAPPER).unwrap_or_else(|e| panic!("{e:#}"));
    for (name, spec) in nct::SERVICES {
        let staged = std::fs::read_to_string(s.rootfs(&format!("usr/local/etc/containers/{name}.yaml"))).expect("spec");
        assert_eq!(staged, spec);
        assert!(s.rootfs(&format!("usr/local/lib/containers/{name}")).is_dir(), "{name}'s container root");
    }
    let part = std::fs::read_to_string(s.rootfs(&format!("etc/cri/conf.d/{}", nct::CRI_PART_NAME))).expect("CRI part");
    assert_eq!(part, nct::CRI_PART);
    assert_eq!(std::fs::read_to_string(s.rootfs(nct::UDEV_RULES_PATH)).expect("udev rule"), nct::UDEV_RULES);
    let packages = s.sbom_packages(&meta.name).expect("the SBOM");
    for (name, v) in [("github.com/NVIDIA/nvidia-container-toolkit", "v1.19.1"), ("go", "1.26.8")] {
        assert!(packages.iter().any(|(n, pv)| n == name && pv == v), "{name} {v} in {packages:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rootfs shaped like the glibc extension's, with the test runner (a host glibc program)
    /// standing in for the loader: links resolve inside the rootfs, and a program that needs
    /// another loader, or a loader the tree lacks, fails.
    #[test]
    fn own_glibc_programs_need_the_loader_their_tree_ships() {
        use std::os::unix::fs::symlink;
        let tmp = tempfile::tempdir().unwrap();
        let rootfs = tmp.path().join("rootfs");
        let glibc = rootfs.join("usr/local/glibc");
        std::fs::create_dir_all(glibc.join("usr/lib")).unwrap();
        std::fs::create_dir_all(rootfs.join("usr/bin")).unwrap();
        symlink("usr/lib/", glibc.join("lib")).unwrap();
        let exe = std::env::current_exe().unwrap();
        std::fs::copy(&exe, glibc.join("usr/lib/ld-linux-test.so.2")).unwrap();
        std::fs::create_dir_all(rootfs.join("usr/lib")).unwrap();
        symlink("/usr/local/glibc/lib/ld-linux-test.so.2", rootfs.join("usr/lib/ld-linux-test.so.2")).unwrap();
        std::fs::copy(&exe, rootfs.join("usr/bin/prog")).unwrap();
        let s = Staged {
            dir: tmp.path().to_path_buf(),
            overridden_sources: Vec::new(),
            fetched_sources: None,
            build_paths: Vec::new(),
            _tmp: None,
        };

        let resolved = resolve_in_rootfs(&rootfs, "/usr/lib/ld-linux-test.so.2").unwrap();
        assert_eq!(resolved, rootfs.join("usr/local/glibc/usr/lib/ld-linux-test.so.2"));
        assert!(resolve_in_rootfs(&rootfs, "/usr/local/glibc/lib/../lib/ld-linux-test.so.2").is_ok());
        let err = resolve_in_rootfs(&rootfs, "/usr/local/glibc/lib/missing.so").unwrap_err();
        assert!(format!("{err:#}").contains("no "), "{err:#}");

        let arch = if cfg!(target_arch = "aarch64") { Arch::Arm64 } else { Arch::Amd64 };
        let interp = crate::elf::ElfInfo::read(&exe).unwrap().interpreter.unwrap();
        // The runner needs the host's loader: not one this tree ships under that path.
        let err = s.check_own_glibc_program(arch, "usr/bin/prog", &interp).unwrap_err();
        assert!(format!("{err:#}").contains("is not in the extension's own tree"), "{err:#}");
        // With the host's loader path present in the tree, the same program passes.
        let host_loader = rootfs.join(interp.trim_start_matches('/'));
        std::fs::create_dir_all(host_loader.parent().unwrap()).unwrap();
        symlink("/usr/lib/ld-linux-test.so.2", &host_loader).unwrap();
        s.check_own_glibc_program(arch, "usr/bin/prog", &interp).unwrap();
        // Another loader than the program's own is refused.
        let err = s.check_own_glibc_program(arch, "usr/bin/prog", "/usr/lib/ld-linux-test.so.2").unwrap_err();
        assert!(format!("{err:#}").contains("not the extension's own glibc loader"), "{err:#}");
        // And it is still no Talos (musl) program.
        assert!(check_static_program(arch, &rootfs.join("usr/bin/prog")).is_err());
    }

    #[test]
    fn build_paths_in_staged_files_are_found() {
        let tmp = tempfile::tempdir().unwrap();
        let work = tmp.path().join("work");
        std::fs::create_dir_all(tmp.path().join("rootfs/bin")).unwrap();
        let leaky = format!("\0main.c\0{}/src/main.c\0", work.display());
        std::fs::write(tmp.path().join("rootfs/bin/leaky"), leaky).unwrap();
        std::fs::write(tmp.path().join("rootfs/bin/clean"), "\0/build/src/main.c\0").unwrap();
        let s = Staged {
            dir: tmp.path().to_path_buf(),
            overridden_sources: Vec::new(),
            fetched_sources: None,
            build_paths: vec![work.clone()],
            _tmp: None,
        };
        s.check_no_build_paths("bin/clean").unwrap();
        let err = s.check_no_build_paths("bin/leaky").unwrap_err().to_string();
        assert!(err.contains("bin/leaky") && err.contains(&work.display().to_string()), "{err}");
    }

    #[test]
    fn offline_mirror_holds_the_files_under_their_pins_and_refuses_others() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("release.tar.gz");
        std::fs::write(&file, b"release").unwrap();
        // sha256 of b"release"
        let pinned = "a4e2d84a5cbd8eba9fbff9bff4a7f1d06b1a1a1b1d0e6d8fe0c4dca6d4e1b9c0";
        let err = TestOptions::offline_mirror(&tmp.path().join("a"), &[(&file, pinned)]).unwrap_err().to_string();
        assert!(err.contains("is not the pinned file") && err.contains(pinned), "{err}");

        use sha2::Digest as _;
        let actual = hex::encode(sha2::Sha256::digest(b"release"));
        let opts = TestOptions::offline_mirror(&tmp.path().join("b"), &[(&file, &actual)]).unwrap();
        assert!(opts.fetch.offline);
        let talos_ext_fetch::Mirror::Dir(mirror) = &opts.fetch.mirrors[0] else { panic!("a directory mirror") };
        assert_eq!(std::fs::read(mirror.join("sha256").join(&actual)).unwrap(), b"release");
        assert!(!opts.fetch.cache_dir.exists() || std::fs::read_dir(&opts.fetch.cache_dir).unwrap().next().is_none());
    }
}
