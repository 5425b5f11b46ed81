//! [`Stage`]: one arch's staging area and the named steps recipes call on it.
//!
//! Paths a recipe installs to are relative to the rootfs (`usr/local/...`) and are checked here:
//! no absolute paths, no `..`. Parent directories are created `0755`; files get exactly the mode
//! the recipe asks for. Nothing here packs or validates; that happens after the recipe returns.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};
use talos_ext_model::{Arch, ExtensionMeta, Pin};

use crate::step::Command;
use crate::toolchain::CrossToolchain;

/// One arch's staging area: the extension tree being built and a scratch directory.
#[derive(Debug)]
pub struct Stage {
    pub(crate) arch: Arch,
    pub(crate) meta: ExtensionMeta,
    pub(crate) pin: Pin,
    pub(crate) manifest_dir: PathBuf,
    pub(crate) root: PathBuf,
    pub(crate) work: PathBuf,
    pub(crate) source_date_epoch: u64,
    pub(crate) fetch: talos_ext_fetch::FetchConfig,
    pub(crate) overrides: Vec<crate::SourceOverride>,
    /// Names of sources taken from overrides so far.
    pub(crate) overridden: std::cell::RefCell<Vec<String>>,
    /// Names of pinned sources fetched (and verified against their pin) so far.
    pub(crate) fetched: std::cell::RefCell<Vec<String>>,
    /// The kernel the staged modules are for, once a kernel step ran: the pre-boot checks of
    /// the staged tree's validation (release, signer, arch, vermagic flags, CRCs).
    pub(crate) kernel: std::cell::RefCell<Option<talos_ext_validate::KernelExpectation>>,
    /// The prebuilt payloads installed so far, as SBOM binary components.
    pub(crate) binaries: std::cell::RefCell<Vec<talos_ext_sbom::Component>>,
    /// Library recipes to stage on demand (tests only; build scripts get sysroots from cargo).
    #[cfg(feature = "testing")]
    pub(crate) libraries: Vec<crate::library::TestLibrary>,
    /// Repins and absent modules for the extensions layered in (tests only).
    #[cfg(feature = "testing")]
    pub(crate) layer_test: crate::testing::LayerTestOptions,
    /// SBOM components the recipe's steps built in besides the libraries (the Go toolchain and
    /// modules of [`Stage::go_build`]).
    pub(crate) components: std::cell::RefCell<Vec<talos_ext_sbom::Component>>,
    /// The Go build cache of this stage; `None` is the shared `<cache>/go/build`.
    pub(crate) go_cache: Option<PathBuf>,
    /// The linux-firmware release of [`Stage::install_firmware`]; `None` is `toolchain/firmware.toml`'s.
    pub(crate) linux_firmware: Option<talos_ext_model::LinuxFirmware>,
}

impl Stage {
    /// The arch being staged.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The extension's declared metadata.
    pub fn meta(&self) -> &ExtensionMeta {
        &self.meta
    }

    /// The workspace's Talos pin.
    pub fn pin(&self) -> &Pin {
        &self.pin
    }

    /// The rootfs directory being filled (`<stage>/rootfs`).
    pub fn rootfs(&self) -> PathBuf {
        self.root.join("rootfs")
    }

    /// A scratch directory for this arch (objects, unpacked sources, logs).
    pub fn work_dir(&self) -> &Path {
        &self.work
    }

    /// `SOURCE_DATE_EPOCH` for this build.
    pub fn source_date_epoch(&self) -> u64 {
        self.source_date_epoch
    }

    /// Records for the SBOM an upstream project the recipe builds in from one of its own pinned
    /// sources, besides the project the extension is named for (a recipe bundling programs of
    /// several projects, as trident-iscsi-tools does): a package `source` at `version` with its
    /// license and CPEs, built from that source as pinned for this arch.
    pub fn bundled_component(&self, source: &str, version: &str, license: &str, cpes: &[&str]) -> Result<()> {
        let pinned = self.meta.source(source, self.arch).with_context(|| {
            format!("`{}` has no source `{source}` for {} (its SBOM component)", self.meta.name, self.arch)
        })?;
        self.components.borrow_mut().push(talos_ext_sbom::Component {
            name: source.to_string(),
            version: version.to_string(),
            license: Some(license.to_string()),
            cpes: cpes.iter().map(|c| c.to_string()).collect(),
            purl: Some(format!("pkg:generic/{source}@{version}")),
            sources: vec![pinned.clone()],
            binary: None,
        });
        Ok(())
    }

    /// A file of the extension crate (`native/x.c`, `files/x.yaml`), checked to exist.
    pub fn input(&self, rel: &str) -> Result<PathBuf> {
        let path = self.manifest_dir.join(rel);
        if !path.is_file() {
            bail!("recipe input {} does not exist", path.display());
        }
        Ok(path)
    }

    /// The C toolchain for this arch (musl, static by default).
    pub fn toolchain(&self) -> Result<CrossToolchain> {
        Ok(CrossToolchain::for_arch(self.arch)?)
    }

    /// Compiles in-tree C sources into one statically linked, stripped musl program for this
    /// arch with the `cc` crate, and returns the program's path in the scratch directory.
    pub fn compile_program(&self, name: &str, sources: &[&str]) -> Result<PathBuf> {
        let files = sources.iter().map(|src| self.input(src)).collect::<Result<Vec<_>>>()?;
        self.compile(name, &files, &[])
    }

    /// Like [`Stage::compile_program`], for C files of an unpacked source (`dir`, e.g. a
    /// directory of [`Stage::source`]), with the Linux uapi headers (`<linux/...>`) after musl's
    /// own: for programs upstream builds from a tree with a bare `cc -static` (the kernel's
    /// `tools/hv` daemons).
    pub fn compile_source_program(&self, name: &str, dir: &Path, sources: &[&str]) -> Result<PathBuf> {
        let files = sources
            .iter()
            .map(|src| {
                let path = dir.join(src);
                if path.is_file() {
                    Ok(path)
                } else {
                    bail!("{}: no C file `{src}` to compile {name} from", dir.display())
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let uapi = self.toolchain()?.uapi_include_dir(&self.work)?;
        self.compile(name, &files, &["-idirafter".to_string(), uapi.display().to_string()])
    }

    fn compile(&self, name: &str, files: &[PathBuf], extra_flags: &[String]) -> Result<PathBuf> {
        let tc = self.toolchain()?;
        let out = self.work.join("cc").join(name);
        fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
        let mut flags = CrossToolchain::prefix_map_flags(&[(&self.manifest_dir, "."), (&self.work, "/build")]);
        flags.extend(extra_flags.iter().cloned());
        let mut build = tc.cc_build(&out, &flags);
        for file in files {
            build.file(file);
        }
        let objects =
            build.try_compile_intermediates().with_context(|| format!("compiling {name} for {}", self.arch))?;
        let program = out.join(name);
        Command::new(&tc.cc)
            .name(&format!("{name}-link"))
            .args(&tc.cc_musl_flags)
            .args(&tc.cflags)
            .args(["-static", "-s", "-Wl,--build-id=sha1", "-o"])
            .arg(&program)
            .args(&objects)
            .dir(&out)
            .env("SOURCE_DATE_EPOCH", self.source_date_epoch.to_string())
            .log_dir(self.work.join("logs"))
            .run()
            .with_context(|| format!("linking {name} for {}", self.arch))?;
        Ok(program)
    }

    /// Installs a file into the rootfs at `dest` (relative, e.g. `usr/local/bin/x`) with `mode`.
    pub fn install(&self, src: &Path, dest: &str, mode: u32) -> Result<()> {
        let target = self.rootfs_path(dest)?;
        let tmp = target.with_file_name(format!(".{}.tmp", file_name(&target)));
        fs::copy(src, &tmp).with_context(|| format!("copying {} to {}", src.display(), tmp.display()))?;
        self.finish_file(&tmp, &target, mode)
    }

    /// Writes `bytes` into the rootfs at `dest` with `mode`.
    pub fn install_bytes(&self, dest: &str, bytes: &[u8], mode: u32) -> Result<()> {
        let target = self.rootfs_path(dest)?;
        let tmp = target.with_file_name(format!(".{}.tmp", file_name(&target)));
        fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
        self.finish_file(&tmp, &target, mode)
    }

    /// Installs every file below the directory `src` into the rootfs under `dest`, in sorted
    /// order, for a program set upstream installs into one directory (`sbin`, `libexec/zfs`):
    /// regular files get `0755` when any execute bit is set, else `0644`; symbolic links stay
    /// links with their target (an absolute target names the node's path, as upstream's
    /// `make install DESTDIR=...` wrote it; the validator checks where it resolves);
    /// directories are `0755`. Returns the rootfs-relative paths of files and links.
    pub fn install_tree(&self, src: &Path, dest: &str) -> Result<Vec<String>> {
        let mut installed = Vec::new();
        self.mkdir(dest)?;
        let mut entries: Vec<fs::DirEntry> = fs::read_dir(src)
            .with_context(|| format!("reading {}", src.display()))?
            .collect::<std::io::Result<_>>()
            .with_context(|| format!("reading {}", src.display()))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let rel = format!("{dest}/{name}");
            let meta = fs::symlink_metadata(&path).with_context(|| format!("reading {}", path.display()))?;
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).with_context(|| format!("reading link {}", path.display()))?;
                let at = self.rootfs_path(&rel)?;
                std::os::unix::fs::symlink(&target, &at).with_context(|| format!("linking {}", at.display()))?;
                installed.push(rel);
            } else if meta.is_dir() {
                installed.extend(self.install_tree(&path, &rel)?);
            } else if meta.is_file() {
                let mode = if meta.permissions().mode() & 0o111 != 0 { 0o755 } else { 0o644 };
                self.install(&path, &rel, mode)?;
                installed.push(rel);
            } else {
                bail!("{} is neither a file, a directory nor a link: not installed as {rel}", path.display());
            }
        }
        Ok(installed)
    }

    /// Creates the symbolic link `dest` (rootfs-relative, its parent directories made) pointing
    /// to `target` as written (relative to the link's directory, or absolute as the node sees
    /// it), replacing a file or link already there.
    pub fn symlink(&self, target: &str, dest: &str) -> Result<()> {
        let at = self.rootfs_path(dest)?;
        if fs::symlink_metadata(&at).is_ok() {
            fs::remove_file(&at).with_context(|| format!("removing {} to link it", at.display()))?;
        }
        std::os::unix::fs::symlink(target, &at).with_context(|| format!("linking {} to {target}", at.display()))
    }

    /// Creates a directory (and its parents) in the rootfs, `0755`.
    pub fn mkdir(&self, dest: &str) -> Result<PathBuf> {
        let target = self.target(dest)?;
        create_dirs(&self.rootfs(), &target)?;
        Ok(target)
    }

    fn finish_file(&self, tmp: &Path, target: &Path, mode: u32) -> Result<()> {
        fs::set_permissions(tmp, fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting mode {mode:o} on {}", tmp.display()))?;
        fs::rename(tmp, target).with_context(|| format!("renaming {} to {}", tmp.display(), target.display()))
    }

    /// Checks a rootfs-relative destination and creates its parent directories.
    fn rootfs_path(&self, dest: &str) -> Result<PathBuf> {
        let target = self.target(dest)?;
        if let Some(parent) = target.parent() {
            create_dirs(&self.rootfs(), parent)?;
        }
        Ok(target)
    }

    /// The absolute path of a checked rootfs-relative destination.
    fn target(&self, dest: &str) -> Result<PathBuf> {
        Ok(self.rootfs().join(check_relative(dest)?))
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Creates `dir` and every missing parent below `root` with mode 0755.
fn create_dirs(root: &Path, dir: &Path) -> Result<()> {
    let rel = dir.strip_prefix(root).with_context(|| format!("{} is not below {}", dir.display(), root.display()))?;
    let mut cur = root.to_path_buf();
    for comp in rel.components() {
        cur.push(comp);
        if !cur.is_dir() {
            fs::create_dir(&cur).with_context(|| format!("creating {}", cur.display()))?;
            fs::set_permissions(&cur, fs::Permissions::from_mode(0o755))
                .with_context(|| format!("setting mode 755 on {}", cur.display()))?;
        }
    }
    Ok(())
}

/// Checks that `dest` is a plain relative path (no root, no `..`, not empty).
pub(crate) fn check_relative(dest: &str) -> Result<&Path> {
    let path = Path::new(dest);
    if dest.is_empty() || !path.components().all(|c| matches!(c, Component::Normal(_))) {
        bail!("install destination `{dest}` must be a relative path inside the rootfs (like `usr/local/bin/x`)");
    }
    Ok(path)
}
