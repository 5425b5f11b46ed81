//! The per-arch C toolchain for userland code that runs on Talos: musl, never the host's glibc.
//!
//! This is the one place that knows how each arch is compiled from the x86_64 host. Both arches
//! use Debian's gcc driver with musl's `musl-gcc.specs` (what `musl-gcc` itself does for amd64):
//! `x86_64-linux-gnu-gcc` from `musl-tools`, and `aarch64-linux-gnu-gcc` from
//! `gcc-aarch64-linux-gnu` with `musl-dev:arm64`. Flags follow Talos' toolchain conventions
//! (`-O2 -g0`, `-march=x86-64-v2 -mtune=generic` on amd64).

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use talos_ext_model::Arch;
use talos_ext_model::handoff::ENV_CC_WRAPPER;
use talos_ext_process::DEFAULT_PATH;

/// A toolchain that is not installed.
#[derive(Debug, thiserror::Error)]
pub enum ToolchainError {
    #[error(
        "the {arch} musl toolchain is missing: {path} does not exist\nhint: run `ci/setup.sh` as root (it installs {packages})"
    )]
    Missing { arch: Arch, path: PathBuf, packages: &'static str },
    #[error("creating the {arch} Linux uapi header links in {dir}: {cause}")]
    Uapi { arch: Arch, dir: PathBuf, cause: io::Error },
    #[error(
        "{ENV_CC_WRAPPER}=`{value}`: {why}\nhint: install it (Debian: `apt-get install ccache`), name it by its path, or unset {ENV_CC_WRAPPER}"
    )]
    Wrapper { value: String, why: String },
}

/// Directories of `/usr/include` (from `linux-libc-dev`) that make up the Linux uapi headers,
/// besides the per-arch `asm`. Each is linked when present.
const UAPI_DIRS: &[&str] = &["linux", "asm-generic", "mtd", "rdma", "scsi", "sound", "video", "drm", "misc", "xen"];

/// Compiler, binutils and flags for one target arch.
#[derive(Debug, Clone)]
pub struct CrossToolchain {
    pub arch: Arch,
    /// The gcc driver.
    pub cc: PathBuf,
    /// Flags that make the driver target musl (`-specs ...`); part of every compile and link.
    pub cc_musl_flags: Vec<String>,
    pub ar: PathBuf,
    pub strip: PathBuf,
    /// Optimisation and target flags (`CFLAGS`), without the musl and prefix-map flags.
    pub cflags: Vec<String>,
    /// The compiler launcher of [`ENV_CC_WRAPPER`] (ccache, sccache), resolved to a path. Not
    /// part of [`CrossToolchain::identity`]: it never changes what is compiled.
    pub launcher: Option<PathBuf>,
}

impl CrossToolchain {
    /// What identifies this toolchain for build stamps (see `fresh`): its settings, the
    /// compiler's version, musl's specs file and the size of the musl `libc.a` it links.
    pub fn identity(&self) -> Result<String, crate::step::ProcessError> {
        let settings = CrossToolchain { launcher: None, ..self.clone() };
        let version = crate::step::Command::new(&self.cc).arg("--version").read()?;
        let libc =
            crate::step::Command::new(&self.cc).args(&self.cc_musl_flags).arg("-print-file-name=libc.a").read()?;
        let libc = libc.trim();
        let libc_size = fs::metadata(libc).map(|m| m.len()).unwrap_or(0);
        let specs = self.cc_musl_flags.get(1).and_then(|p| fs::read_to_string(p).ok()).unwrap_or_default();
        Ok(format!(
            "{settings:?}\n{}\nspecs {specs}\nlibc {libc} {libc_size}",
            version.lines().next().unwrap_or_default()
        ))
    }

    /// The toolchain for an arch, checked to be installed, with the launcher that
    /// [`ENV_CC_WRAPPER`] names (if it is set and not empty).
    pub fn for_arch(arch: Arch) -> Result<CrossToolchain, ToolchainError> {
        let wrapper = WRAPPER_OVERRIDE.with(|o| o.borrow().clone()).unwrap_or_else(|| std::env::var_os(ENV_CC_WRAPPER));
        let launcher = match wrapper {
            Some(value) if !value.is_empty() => Some(resolve_launcher(&value.to_string_lossy())?),
            _ => None,
        };
        Ok(CrossToolchain { launcher, ..CrossToolchain::installed(arch)? })
    }

    /// The toolchain for an arch without a launcher, checked to be installed.
    pub fn installed(arch: Arch) -> Result<CrossToolchain, ToolchainError> {
        let (prefix, packages, cflags): (&str, &str, &[&str]) = match arch {
            Arch::Amd64 => ("x86_64-linux-gnu", "musl-tools", &["-O2", "-g0", "-march=x86-64-v2", "-mtune=generic"]),
            Arch::Arm64 => ("aarch64-linux-gnu", "gcc-aarch64-linux-gnu musl-dev:arm64", &["-O2", "-g0"]),
        };
        let specs = PathBuf::from(format!("/usr/lib/{}/musl-gcc.specs", arch.musl_triple()));
        let bin = |tool: &str| PathBuf::from(format!("/usr/bin/{prefix}-{tool}"));
        let tc = CrossToolchain {
            arch,
            cc: bin("gcc"),
            cc_musl_flags: vec!["-specs".into(), specs.display().to_string()],
            ar: bin("ar"),
            strip: bin("strip"),
            cflags: cflags.iter().map(|s| s.to_string()).collect(),
            launcher: None,
        };
        for path in [&tc.cc, &specs, &tc.ar, &tc.strip] {
            if !path.exists() {
                return Err(ToolchainError::Missing { arch, path: path.clone(), packages });
            }
        }
        Ok(tc)
    }

    /// The compiler as a command: the launcher (if any), the gcc driver and musl's specs flags.
    pub fn cc_command(&self) -> Vec<String> {
        let mut cc: Vec<String> = self.launcher.iter().map(|l| l.display().to_string()).collect();
        cc.push(self.cc.display().to_string());
        cc.extend(self.cc_musl_flags.iter().cloned());
        cc
    }

    /// `-ffile-prefix-map` flags so build paths do not leak into binaries.
    pub fn prefix_map_flags(maps: &[(&Path, &str)]) -> Vec<String> {
        maps.iter().map(|(from, to)| format!("-ffile-prefix-map={}={to}", from.display())).collect()
    }

    /// A `cc::Build` for this arch with all of cc's own defaults off: the flags are exactly ours.
    pub fn cc_build(&self, out_dir: &Path, extra_flags: &[String]) -> cc::Build {
        let mut b = cc::Build::new();
        b.compiler(&self.cc)
            .archiver(&self.ar)
            .no_default_flags(true)
            .cargo_metadata(false)
            .cargo_warnings(false)
            .cargo_debug(false)
            .emit_rerun_if_env_changed(false)
            .target(match self.arch {
                Arch::Amd64 => "x86_64-unknown-linux-musl",
                Arch::Arm64 => "aarch64-unknown-linux-musl",
            })
            .host("x86_64-unknown-linux-gnu")
            .opt_level(2)
            .debug(false)
            .out_dir(out_dir);
        for f in self.cc_musl_flags.iter().chain(&self.cflags).chain(extra_flags) {
            b.flag(f);
        }
        b
    }

    /// Environment for build systems driven by this toolchain (`CC`, `AR`, `STRIP`, `CFLAGS`).
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        let cc = self.cc_command().join(" ");
        vec![
            ("CC", cc.into()),
            ("AR", self.ar.clone().into()),
            ("STRIP", self.strip.clone().into()),
            ("CFLAGS", self.cflags.join(" ").into()),
        ]
    }

    /// The GNU triple of the host-side gcc driver and binutils (`x86_64-linux-gnu`,
    /// `aarch64-linux-gnu`); not the target triple, which is [`Arch::musl_triple`].
    pub fn gnu_prefix(&self) -> String {
        format!("{}-linux-gnu", self.arch.gnu_machine())
    }

    /// A binutils program of this arch (`ranlib`, `nm`, `ld`, `objcopy`, ...).
    pub fn binutil(&self, tool: &str) -> PathBuf {
        PathBuf::from(format!("/usr/bin/{}-{tool}", self.gnu_prefix()))
    }

    /// The CPU name build systems want: meson's `cpu_family` and `cpu`, cmake's
    /// `CMAKE_SYSTEM_PROCESSOR` (`x86_64`, `aarch64`).
    pub fn cpu(&self) -> &'static str {
        self.arch.gnu_machine()
    }

    /// Byte order of the target (both arches are little-endian).
    pub fn endian(&self) -> &'static str {
        "little"
    }

    /// The per-arch `asm` directory of `linux-libc-dev:<arch>`.
    pub fn uapi_asm_dir(&self) -> PathBuf {
        PathBuf::from(format!("/usr/include/{}/asm", self.gnu_prefix()))
    }

    /// Makes (or reuses) `<parent>/uapi-<arch>`: symlinks to the Linux uapi headers of the host's
    /// `linux-libc-dev` (`linux`, `asm-generic`, ...) and this arch's `asm`. musl's include
    /// directory has none of them; pass the result with `-idirafter` so musl's own headers win.
    pub fn uapi_include_dir(&self, parent: &Path) -> Result<PathBuf, ToolchainError> {
        let asm = self.uapi_asm_dir();
        if !asm.is_dir() {
            let packages = match self.arch {
                Arch::Amd64 => "linux-libc-dev",
                Arch::Arm64 => "linux-libc-dev:arm64",
            };
            return Err(ToolchainError::Missing { arch: self.arch, path: asm, packages });
        }
        let dir = parent.join(format!("uapi-{}", self.arch));
        let err = |cause| ToolchainError::Uapi { arch: self.arch, dir: dir.clone(), cause };
        if fs::read_link(dir.join("asm")).is_ok_and(|t| t == asm) {
            return Ok(dir);
        }
        // Built beside the final name and renamed, so a half-made directory is never used.
        let tmp = parent.join(format!(".uapi-{}.tmp", self.arch));
        for stale in [&tmp, &dir] {
            match fs::remove_dir_all(stale) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(err(e)),
                _ => {}
            }
        }
        fs::create_dir_all(&tmp).map_err(err)?;
        for name in UAPI_DIRS {
            let target = Path::new("/usr/include").join(name);
            if target.is_dir() {
                std::os::unix::fs::symlink(&target, tmp.join(name)).map_err(err)?;
            }
        }
        std::os::unix::fs::symlink(&asm, tmp.join("asm")).map_err(err)?;
        fs::rename(&tmp, &dir).map_err(err)?;
        Ok(dir)
    }
}

thread_local! {
    static WRAPPER_OVERRIDE: std::cell::RefCell<Option<Option<OsString>>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `wrapper` instead of [`ENV_CC_WRAPPER`] for the toolchains made on this thread
/// (`None`: no launcher), restored afterwards. For tests, which cannot change the environment.
pub fn with_cc_wrapper<T>(wrapper: Option<OsString>, f: impl FnOnce() -> T) -> T {
    let old = WRAPPER_OVERRIDE.with(|o| o.replace(Some(wrapper)));
    let out = f();
    WRAPPER_OVERRIDE.with(|o| *o.borrow_mut() = old);
    out
}

/// The launcher [`ENV_CC_WRAPPER`] names: a path, or a program on the steps' `PATH`
/// ([`DEFAULT_PATH`], which is what the compile steps search).
fn resolve_launcher(value: &str) -> Result<PathBuf, ToolchainError> {
    let err = |why: String| ToolchainError::Wrapper { value: value.to_string(), why };
    if value.contains(char::is_whitespace) {
        return Err(err("must be one program (a name or a path), without arguments".into()));
    }
    let candidates: Vec<PathBuf> = if value.contains('/') {
        vec![PathBuf::from(value)]
    } else {
        DEFAULT_PATH.split(':').map(|dir| Path::new(dir).join(value)).collect()
    };
    let executable = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    match candidates.into_iter().find(|p| executable(p)) {
        Some(path) if path.is_absolute() => Ok(path),
        Some(path) => std::path::absolute(&path).map_err(|e| err(format!("{}: {e}", path.display()))),
        None if value.contains('/') => Err(err("no such executable file".into())),
        None => Err(err(format!("not found on PATH ({DEFAULT_PATH})"))),
    }
}
