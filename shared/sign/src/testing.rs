//! Test support: the real `cosign` binary, for interoperability tests of this crate and of the
//! registry code that pushes signatures.
//!
//! cosign is not in Debian bookworm, but trixie's build (2.5.0, static Go, needs only libc) runs
//! here. [`fetch_cosign`] downloads it once with `apt-get download` through a private apt list
//! directory (the system's apt state is not touched), unpacks it with `dpkg -x` and caches it under
//! `<workspace>/target/talos-ext-test/cosign/`. Nothing here is used by the signing code itself.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Env var naming an explicit `cosign` binary to use instead of the fetched one.
pub const COSIGN_ENV: &str = "TALOS_EXT_COSIGN";

/// The Debian suite cosign is taken from.
const SUITE: &str = "trixie";
/// Used when no Debian mirror can be read from the system's apt sources.
const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";

/// Why cosign could not be fetched.
#[derive(Debug, thiserror::Error)]
#[error("cannot fetch cosign from debian {SUITE}: {step}: {detail}")]
pub struct FetchCosignError {
    pub step: String,
    pub detail: String,
}

fn fail(step: &str, detail: impl Into<String>) -> FetchCosignError {
    FetchCosignError { step: step.to_string(), detail: detail.into() }
}

/// `<workspace>/target/talos-ext-test/cosign`.
pub fn cosign_cache_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/talos-ext-test/cosign")
}

/// The `cosign` binary: `$TALOS_EXT_COSIGN`, else the cached download, else downloaded now.
///
/// # Panics
///
/// When cosign cannot be fetched (no network to the Debian mirror, no `apt-get`/`dpkg`), with a
/// message naming the failed step; tests that need cosign fail rather than skip.
pub fn fetch_cosign() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| match try_fetch_cosign() {
        Ok(path) => path,
        Err(e) => panic!("{e}\nhint: set {COSIGN_ENV} to a cosign 2.x binary to use instead"),
    })
    .clone()
}

/// [`fetch_cosign`] without the panic.
pub fn try_fetch_cosign() -> Result<PathBuf, FetchCosignError> {
    if let Some(path) = std::env::var_os(COSIGN_ENV) {
        return Ok(PathBuf::from(path));
    }
    let cache = cosign_cache_dir();
    let bin = cache.join("root/usr/bin/cosign");
    if bin.is_file() {
        return Ok(bin);
    }
    std::fs::create_dir_all(&cache).map_err(|e| fail("creating the cache dir", format!("{}: {e}", cache.display())))?;
    // A private work dir per process, renamed into place: concurrent test binaries may race here.
    let work = tempfile_in(&cache)?;
    let result = download_into(&work);
    let outcome = result.and_then(|()| {
        match std::fs::rename(work.join("root"), cache.join("root")) {
            Ok(()) => Ok(()),
            // Another process won the race: use its copy.
            Err(_) if bin.is_file() => Ok(()),
            Err(e) => Err(fail("moving the unpacked package into place", e.to_string())),
        }
    });
    let _ = std::fs::remove_dir_all(&work);
    outcome?;
    Ok(bin)
}

fn tempfile_in(dir: &Path) -> Result<PathBuf, FetchCosignError> {
    let work = dir.join(format!("work-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    for sub in ["parts", "lists/partial", "cache/archives/partial", "deb"] {
        std::fs::create_dir_all(work.join(sub)).map_err(|e| fail("creating the work dir", e.to_string()))?;
    }
    Ok(work)
}

/// The first Debian (not -security) mirror URI of the system's deb822 or one-line apt sources.
fn debian_mirror() -> String {
    let mut texts = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        texts.extend(paths.iter().filter(|p| p.extension().is_some_and(|x| x == "sources" || x == "list")).cloned());
    }
    texts.push(PathBuf::from("/etc/apt/sources.list"));
    for path in texts {
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
            let uris: Vec<&str> = if let Some(rest) = line.strip_prefix("URIs:") {
                rest.split_whitespace().collect()
            } else if line.starts_with("deb ") {
                line.split_whitespace().filter(|w| w.starts_with("http")).take(1).collect()
            } else {
                Vec::new()
            };
            if let Some(uri) = uris.into_iter().find(|u| u.starts_with("http") && !u.contains("security")) {
                return uri.trim_end_matches('/').to_string();
            }
        }
    }
    DEFAULT_MIRROR.to_string()
}

fn run(step: &str, cmd: &mut Command) -> Result<(), FetchCosignError> {
    let out = cmd.output().map_err(|e| fail(step, format!("cannot run {cmd:?}: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(fail(step, format!("{cmd:?}: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr).trim())))
    }
}

fn download_into(work: &Path) -> Result<(), FetchCosignError> {
    let sources = format!(
        "Types: deb\nURIs: {}\nSuites: {SUITE}\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
        debian_mirror()
    );
    std::fs::write(work.join(format!("parts/{SUITE}.sources")), sources)
        .map_err(|e| fail("writing the private apt list", e.to_string()))?;
    let opts = [
        "-o".to_string(),
        "Dir::Etc::SourceList=/dev/null".to_string(),
        "-o".to_string(),
        format!("Dir::Etc::SourceParts={}", work.join("parts").display()),
        "-o".to_string(),
        format!("Dir::State::Lists={}", work.join("lists").display()),
        "-o".to_string(),
        format!("Dir::Cache={}", work.join("cache").display()),
        "-o".to_string(),
        "APT::Architectures=amd64".to_string(),
        "-o".to_string(),
        "APT::Sandbox::User=root".to_string(),
        "-q".to_string(),
    ];
    run("apt-get update (private trixie list)", Command::new("apt-get").args(&opts).arg("update"))?;
    run(
        "apt-get download cosign",
        Command::new("apt-get").args(&opts).args(["download", "cosign"]).current_dir(work.join("deb")),
    )?;
    let deb = std::fs::read_dir(work.join("deb"))
        .map_err(|e| fail("finding the downloaded .deb", e.to_string()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| fail("finding the downloaded .deb", "apt-get download wrote no .deb"))?;
    run("dpkg -x", Command::new("dpkg").arg("-x").arg(&deb).arg(work.join("root")))?;
    let bin = work.join("root/usr/bin/cosign");
    run("running the unpacked cosign", Command::new(&bin).arg("version"))
}
