//! Test support: the real `cosign` binary, for interoperability tests of this crate and of the
//! registry code that pushes signatures.
//!
//! cosign is not in Debian bookworm, but trixie's build (2.5.0, static Go, needs only libc) runs
//! here. [`fetch_cosign`] downloads it once with `talos-ext-debian` (a private apt state in the
//! workspace cache, the `.deb` checked against the signed index and extracted in Rust; the
//! machine's apt state is not touched) and caches the unpacked package under
//! `<workspace>/target/talos-ext-test/cosign/`. Nothing here is used by the signing code itself.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use talos_ext_debian::{PackageSpec, Repo, extract_debs};
use talos_ext_process::Command;

/// Env var naming an explicit `cosign` binary to use instead of the fetched one.
pub const COSIGN_ENV: &str = "TALOS_EXT_COSIGN";

/// The Debian package cosign is taken from (the newest in Debian's stable suites: trixie's).
const PACKAGE: &str = "cosign";

/// Why cosign could not be fetched.
#[derive(Debug, thiserror::Error)]
#[error("cannot fetch cosign from debian: {step}: {detail}")]
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
/// When cosign cannot be fetched (no network to the Debian mirror, no `apt-get`), with a
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
    let work = cache.join(format!("work-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
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

/// The Debian architecture of this machine (cosign has to run here).
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        _ => "amd64",
    }
}

fn download_into(work: &Path) -> Result<(), FetchCosignError> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let debian = talos_ext_debian::workspace_cache(&workspace);
    let spec = PackageSpec::parse(&format!("{PACKAGE}:{}", host_arch()))
        .map_err(|e| fail("naming the package", e.to_string()))?;
    let (_, deb) = Repo::current_binaries(&debian)
        .fetch_binary(&spec, &debian.join("pool"))
        .map_err(|e| fail("downloading the package", e.to_string()))?;
    extract_debs(&[deb], &work.join("root")).map_err(|e| fail("extracting the package", e.to_string()))?;
    let bin = work.join("root/usr/bin/cosign");
    Command::new(&bin).arg("version").run().map(drop).map_err(|e| fail("running the unpacked cosign", e.to_string()))
}
