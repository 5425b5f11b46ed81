//! Debian packages by name and version, verified, without touching the machine's apt state: the
//! one way the workspace takes files from Debian (the Debian kernel toolchain's headers and
//! images, tests' upstream tarballs from the source archive, `.deb`s of firmware and tools).
//!
//! - [`Repo`] is a private apt state in a directory of its own: its own sources (only the
//!   suites, components and architectures asked for, from the archive the machine is configured
//!   with, see [`Mirrors`]), lists and cache, and a complete apt configuration that reads nothing
//!   of the machine's (`Acquire::Check-Valid-Until "false"` included, whatever the machine says).
//!   `apt-get update` on it downloads the indexes and checks their signatures; that is all apt is
//!   used for.
//! - Lookups read the downloaded `Packages`/`Sources` indexes directly ([`Repo::binary`]: an
//!   exact version or the newest; [`Repo::source`]: an exact version), refreshing them once when
//!   a package is missing. A failed lookup names the package, version, arch, the suites looked
//!   in and the versions that are there.
//! - Downloads take pool files over HTTP (`talos-ext-fetch`'s client: retries, timeouts), check
//!   the sha256 the signed index gives, and rename them into place only then
//!   ([`Repo::download`], [`Repo::fetch_binary`], [`Repo::fetch_upstream_tarball`]); a file
//!   already downloaded is reused.
//! - [`extract_debs`] unpacks `.deb`s in Rust (`ar`, then `data.tar.{xz,zst,gz,bz2}` through
//!   `talos-ext-archive`'s guards), so neither `dpkg -x` nor a dpkg architecture is needed.
//!
//! The only external program is `apt-get` (and `apt-config` for [`Repo::apt_config_dump`]),
//! run through `talos_ext_process::Command` with a clean environment.
//!
//! ```no_run
//! use std::path::Path;
//! use talos_ext_debian::{PackageSpec, Repo, extract_debs};
//!
//! # fn main() -> Result<(), talos_ext_debian::DebianError> {
//! let root = Path::new(".cache/talos-ext/debian");
//! let binaries = Repo::binaries(root, &["trixie"], &["main"], &["amd64", "arm64"]);
//! let (package, deb) = binaries.fetch_binary(&PackageSpec::parse("hello:arm64")?, &root.join("pool"))?;
//! extract_debs(&[deb], Path::new("hello-tree"))?;
//! let sources = Repo::sources(root, &["sid", "forky", "trixie"], &["main"]);
//! let orig = sources.fetch_upstream_tarball("util-linux", "2.42.2-1", &root.join("pool"))?;
//! # Ok(())
//! # }
//! ```

mod deb;
mod error;
mod index;
mod mirrors;
mod repo;
mod spec;
mod version;

use std::path::{Path, PathBuf};

pub use deb::extract_debs;
pub use error::{DebianError, NotFound};
pub use index::{BinaryPackage, IndexKind, PoolFile, SourcePackage};
pub use mirrors::{DEFAULT_DEBIAN, DEFAULT_SECURITY, Mirrors};
pub use repo::{ALL_COMPONENTS, CURRENT_BINARY_SUITES, CURRENT_SOURCE_SUITES, DEBIAN_KEYRING, REFRESH_AFTER, Repo};
pub use spec::{DEFAULT_ARCH, PackageSpec};
pub use version::{compare_versions, upstream_version};

/// The directory of a workspace cache that holds the Debian states (`apt/`) and downloads
/// (`pool/`): `<cache>/debian`.
pub const CACHE_SUBDIR: &str = "debian";

/// `<cache>/debian` of the workspace at `workspace`, `<cache>` being `TALOS_EXT_CACHE` or
/// `<workspace>/.cache/talos-ext` as for every cache of the workspace (tests use this; the
/// kernel toolchain takes `<cache>` from its fetch configuration).
pub fn workspace_cache(workspace: &Path) -> PathBuf {
    let default = workspace.join(".cache/talos-ext");
    let only_cache = |name: &str| (name == talos_ext_fetch::ENV_CACHE).then(|| std::env::var_os(name)).flatten();
    talos_ext_fetch::FetchConfig::from_vars(default.clone(), only_cache)
        .map_or(default, |config| config.cache_dir)
        .join(CACHE_SUBDIR)
}
