//! The Talos toolchain: the pinned kernel source tarball, configured with the pinned per-arch
//! config and `LLVM=1`, prepared for external modules (`make olddefconfig modules_prepare`).
//!
//! Sources come through `talos-ext-fetch` (cache, mirrors, then upstream unless
//! `TALOS_EXT_OFFLINE=1`); a missing one fails at once, naming the toolchain, URL and sha256,
//! before anything heavy runs. The config pin has only a sha256, so it is looked up, content
//! addressed, in the fetch cache and the directory mirrors (`<dir>/sha256/<hex>`).
//!
//! `modules_prepare` gives a tree that compiles external modules, but no `Module.symvers`:
//! modpost then cannot check symbols or record modversions CRCs, so the modules do not load on a
//! `CONFIG_MODVERSIONS=y` kernel. Only a full build (`PrepareOptions::full_build`, `make vmlinux
//! modules`, about an hour or more on 2 cores) gives the CRCs of the real kernel.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use talos_ext_fetch::{FetchConfig, Mirror, NoReporter};
use talos_ext_model::Arch;
use talos_ext_model::toolchain::TalosToolchain;

use crate::cache::Slot;
use crate::error::{KernelError, MissingSource};
use talos_ext_process::{Command, Jobs, Log};

/// Programs `LLVM=1` needs (with the compiler's suffix, `clang-22`, for `LLVM=-22`).
const LLVM_TOOLS: [&str; 6] = ["clang", "ld.lld", "llvm-ar", "llvm-nm", "llvm-objcopy", "llvm-strip"];

/// How to get the pinned compiler.
fn llvm_hint(t: &TalosToolchain) -> String {
    match &t.compiler.debian {
        Some(d) => format!(
            "run `ci/setup.sh` as root: it installs {} at Debian version {} (from {})",
            d.packages.join(", "),
            d.version,
            d.suite
        ),
        None => format!("install clang, lld and llvm {}; Talos builds with clang/LLVM", t.compiler.version),
    }
}

/// A stand-in kernel source archive (see `PrepareOptions::stand_in_source`).
#[derive(Debug, Clone)]
pub(crate) struct StandIn {
    pub path: PathBuf,
    pub sha256: String,
}

impl StandIn {
    /// Checks the archive exists and hashes it (the cache keeps stand-in trees apart by it).
    pub fn identify(toolchain: &str, path: &Path) -> Result<StandIn, KernelError> {
        if !path.is_file() {
            return Err(KernelError::Layout {
                toolchain: toolchain.into(),
                path: path.to_path_buf(),
                message: "the stand-in kernel source must be an archive of a Linux source tree (`linux_6.18.15.orig.tar.xz`), and this is not a file".into(),
            });
        }
        let mut file = fs::File::open(path).map_err(KernelError::io("open", path))?;
        let mut hash = Sha256::new();
        std::io::copy(&mut file, &mut hash).map_err(KernelError::io("read", path))?;
        Ok(StandIn { path: path.to_path_buf(), sha256: hex::encode(hash.finalize()) })
    }

    pub fn describe(&self) -> String {
        format!("stand-in kernel source {} (sha256 {})", self.path.display(), self.sha256)
    }
}

/// A prepared tree: the `make -C` directory, the release kbuild gave it, notes.
pub(crate) struct Prepared {
    pub dir: PathBuf,
    pub release: String,
    pub notes: Vec<String>,
}

/// The configured kernel source tree of one arch: the pinned source (or a stand-in), the pinned
/// config, `olddefconfig`, the config check, `modules_prepare`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn source_tree(
    name: &str,
    t: &TalosToolchain,
    arch: Arch,
    fetch: &FetchConfig,
    opts: &crate::PrepareOptions,
    stand_in: Option<&StandIn>,
    jobs: usize,
    slot: &Slot,
) -> Result<Prepared, KernelError> {
    let full_build = opts.full_build;
    let mut notes = Vec::new();
    if let Some(s) = stand_in {
        notes.push(format!(
            "toolchain `{name}`: prepared from a {}, not the pinned linux-{}: modules built against it are for its own release and do not load on the Talos kernel",
            s.describe(),
            t.kernel.version
        ));
    }
    if slot.is_ready("src") {
        return finish(name, &slot.part("src"), stand_in.is_some(), notes);
    }
    // Everything that can fail fast, first: the pinned inputs, then the compiler.
    let tarball = match stand_in {
        Some(s) => s.path.clone(),
        None => kernel_tarball(name, t, arch, fetch)?,
    };
    let config = config_file(name, t, arch, fetch)?;
    check_compiler(name, t)?;
    if !full_build {
        notes.push(format!(
            "toolchain `{name}`: prepared with `modules_prepare` only: no Module.symvers, so modules get no modversions CRCs and will not load on the Talos kernel; prepare with a full build for that"
        ));
    }
    let karch = arch.kernel_arch();
    let llvm = t.compiler.llvm_make_value().unwrap_or_else(|| "1".into());
    let dir = slot.ensure("src", |partial, _| {
        let src = partial.join("linux");
        talos_ext_archive::unpack(&tarball, &src, &talos_ext_archive::UnpackOptions { strip_components: 1 }).map_err(
            |e| KernelError::Layout { toolchain: name.into(), path: tarball.clone(), message: e.to_string() },
        )?;
        let dot_config = src.join(".config");
        fs::copy(&config, &dot_config).map_err(KernelError::io("copy the kernel config to", &dot_config))?;
        let log = partial.join(".prepare.log");
        let make = |targets: &[&str]| -> Result<(), KernelError> {
            let jobs = Jobs { count: jobs, ..Jobs::from_env() };
            let mut make = Command::new("make")
                .name(&format!("kernel-{}", targets.join("-")))
                .args(jobs.make_args())
                .arg(format!("ARCH={karch}"))
                .arg(format!("LLVM={llvm}"))
                .args(targets)
                .dir(&src)
                .log(Log::File(log.clone()))
                .hint(&llvm_hint(t));
            jobs.apply(make.env_mut());
            make.run().map(drop).map_err(KernelError::process(name))
        };
        make(&["olddefconfig"])?;
        let defined = match stand_in {
            Some(_) => Some(crate::config::kconfig_symbols(&src).map_err(KernelError::io("read the Kconfig files of", &src))?),
            None => None,
        };
        let allowed = check_config(name, &config, &dot_config, defined.as_ref())?;
        write_config_report(partial, &allowed)?;
        let release_file = src.join("include/config/kernel.release");
        make(&["modules_prepare"])?;
        let release = fs::read_to_string(&release_file).map_err(KernelError::io("read", &release_file))?.trim().to_string();
        let pinned_version = release.strip_prefix(&t.kernel.version).is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()));
        match stand_in {
            None if release != t.kernel.release => {
                return Err(KernelError::Layout {
                    toolchain: name.into(),
                    path: release_file,
                    message: format!("kernel release is `{release}`, the toolchain pins `{}`", t.kernel.release),
                });
            }
            Some(s) if pinned_version => {
                return Err(KernelError::Layout {
                    toolchain: name.into(),
                    path: s.path.clone(),
                    message: format!("this stand-in is the pinned release itself (`{release}`): fetch it as the pinned source instead, so it is checked against its sha256"),
                });
            }
            _ => {}
        }
        if full_build {
            make(&["vmlinux", "modules"])?;
        }
        Ok(serde_json::json!({ "full_build": full_build, "stand_in": stand_in.map(StandIn::describe) }))
    })?;
    finish(name, &dir, stand_in.is_some(), notes)
}

/// The prepared tree in a slot part (`<part>/linux`), its release, and for a stand-in the
/// config check's allowances as a note.
fn finish(name: &str, part: &Path, stand_in: bool, mut notes: Vec<String>) -> Result<Prepared, KernelError> {
    let report = part.join(CONFIG_REPORT);
    if stand_in
        && let Ok(text) = fs::read_to_string(&report)
        && !text.is_empty()
    {
        notes.push(format!(
            "toolchain `{name}`: the config check allowed ({}):\n{}",
            report.display(),
            text.trim_end()
        ));
    }
    let dir = part.join("linux");
    let file = dir.join("include/config/kernel.release");
    let release = fs::read_to_string(&file).map_err(KernelError::io("read", &file))?.trim().to_string();
    Ok(Prepared { release, dir, notes })
}

/// The LLVM programs kbuild will call exist, and clang is exactly the pinned release: the
/// kernel's `CONFIG_CC_VERSION_TEXT`, and with it every module's compile, depends on it.
fn check_compiler(name: &str, t: &TalosToolchain) -> Result<(), KernelError> {
    for tool in LLVM_TOOLS.map(|tool| t.compiler.llvm_program(tool)) {
        if Command::new(&tool).arg("--version").output().is_err() {
            return Err(KernelError::MissingTool {
                toolchain: name.to_string(),
                program: tool,
                why: format!("the Talos kernel and its modules are built with clang/LLVM {}", t.compiler.version),
                hint: llvm_hint(t),
            });
        }
    }
    let clang = t.compiler.llvm_program("clang");
    let text = Command::new(&clang).arg("--version").hint(&llvm_hint(t)).read().map_err(KernelError::process(name))?;
    let found = clang_release(&text);
    if found.as_deref() != Some(t.compiler.version.as_str()) {
        return Err(KernelError::MissingTool {
            toolchain: name.to_string(),
            program: clang,
            why: format!(
                "it is clang {}, the toolchain pins clang {} (the release the Talos kernel was built with)",
                found.as_deref().unwrap_or("of an unknown release"),
                t.compiler.version
            ),
            hint: llvm_hint(t),
        });
    }
    Ok(())
}

/// The release in `clang --version`'s first line (`Debian clang version 22.1.8 (1~deb12u1)`).
fn clang_release(version_text: &str) -> Option<String> {
    let line = version_text.lines().next()?;
    let rest = &line[line.find("clang version ")? + "clang version ".len()..];
    let release: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    (!release.is_empty()).then_some(release)
}

/// The configuration `olddefconfig` left must be the pinned one but for the machine's toolchain
/// probes (see [`crate::config`]); from the pinned source every option must match, from a
/// stand-in (`defined`: the options its Kconfig defines) options it does not define may be
/// missing or new, but a changed value of an option both define is an error.
fn check_config(
    name: &str,
    pinned: &Path,
    prepared: &Path,
    defined: Option<&crate::config::KconfigSymbols>,
) -> Result<crate::config::Allowed, KernelError> {
    let read = |p: &Path| fs::read_to_string(p).map_err(KernelError::io("read", p));
    let (diffs, allowed) =
        crate::config::compare(&crate::config::parse(&read(pinned)?), &crate::config::parse(&read(prepared)?), defined);
    if diffs.is_empty() {
        return Ok(allowed);
    }
    Err(KernelError::Layout {
        toolchain: name.into(),
        path: prepared.to_path_buf(),
        message: format!(
            "`make olddefconfig` changed {} option(s) of the pinned config {}, so modules built here may not fit the published kernel:\n  {}",
            diffs.len(),
            pinned.display(),
            diffs.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  ")
        ),
    })
}

/// Where a prepared tree records what its config check allowed (`config-check.txt` beside
/// `linux/`), and reads it back for the notes of later runs.
const CONFIG_REPORT: &str = "config-check.txt";

fn write_config_report(dir: &Path, allowed: &crate::config::Allowed) -> Result<(), KernelError> {
    let mut text = String::new();
    let mut section = |title: &str, lines: Vec<String>| {
        if !lines.is_empty() {
            text.push_str(&format!("{title} ({}):\n", lines.len()));
            for l in lines {
                text.push_str(&format!("  {l}\n"));
            }
        }
    };
    section("toolchain probes that differ", allowed.probes.iter().map(|o| format!("CONFIG_{o}")).collect());
    section(
        "options the stand-in source does not define",
        allowed.undefined.iter().map(|o| format!("CONFIG_{o}")).collect(),
    );
    section(
        "options without a prompt that the stand-in source derives differently",
        allowed.derived.iter().map(ToString::to_string).collect(),
    );
    let path = dir.join(CONFIG_REPORT);
    fs::write(&path, text).map_err(KernelError::io("write", &path))
}

/// The verified kernel tarball from the fetch cache, a mirror or upstream.
fn kernel_tarball(name: &str, t: &TalosToolchain, arch: Arch, fetch: &FetchConfig) -> Result<PathBuf, KernelError> {
    talos_ext_fetch::fetch(fetch, name, &t.kernel.source, &NoReporter).map_err(|e| KernelError::MissingSource(Box::new(MissingSource {
        toolchain: name.to_string(),
        arch,
        what: format!("kernel source `{}`", t.kernel.source.file_name()),
        url: t.kernel.source.url.clone(),
        sha256: t.kernel.source.sha256.to_string(),
        cause: e.to_string().lines().next().unwrap_or_default().to_string(),
        hint: format!(
            "fetch it where there is network (`cargo xtask toolchain prepare --toolchain {name} --arch {arch}`) and reuse that cache, or put it into a mirror as sha256/{} (TALOS_EXT_MIRRORS)",
            t.kernel.source.sha256
        ),
    })))
}

/// The pinned config from the fetch cache or a directory mirror, checked against its sha256.
fn config_file(name: &str, t: &TalosToolchain, arch: Arch, fetch: &FetchConfig) -> Result<PathBuf, KernelError> {
    let Some(pin) = t.kernel.config.get(&arch) else {
        return Err(KernelError::Layout {
            toolchain: name.into(),
            path: PathBuf::from(format!("kernel.config.{arch}")),
            message: "no config pinned".into(),
        });
    };
    let cached = fetch.cache_path(&pin.sha256);
    let mut candidates = vec![cached.clone()];
    candidates.extend(fetch.mirrors.iter().filter_map(|m| match m {
        Mirror::Dir(d) => Some(d.join("sha256").join(pin.sha256.as_str())),
        Mirror::Http(_) => None,
    }));
    for path in candidates {
        if let Ok(bytes) = fs::read(&path)
            && hex::encode(Sha256::digest(&bytes)) == pin.sha256.as_str()
        {
            return Ok(path);
        }
    }
    Err(KernelError::MissingSource(Box::new(MissingSource {
        toolchain: name.to_string(),
        arch,
        what: format!("kernel config for {arch}"),
        url: pin.url.clone(),
        sha256: pin.sha256.to_string(),
        cause: format!("not in the fetch cache ({}) nor a directory mirror", display(&cached)),
        hint: format!("download it and store it as {} (it is checked against the sha256)", display(&cached)),
    })))
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::clang_release;

    #[test]
    fn the_clang_release_is_read_from_version_lines() {
        assert_eq!(clang_release("Debian clang version 22.1.8 (1~deb12u1)\nTarget: x86_64").as_deref(), Some("22.1.8"));
        assert_eq!(clang_release("clang version 22.1.8-rc1\n").as_deref(), Some("22.1.8"));
        assert_eq!(clang_release("Ubuntu clang version 14.0.0-1ubuntu1").as_deref(), Some("14.0.0"));
        assert_eq!(clang_release("gcc (Debian 12.2.0-14) 12.2.0"), None);
    }
}
