//! [`DebianError`]: every way looking up, downloading or extracting a Debian package fails. A
//! lookup that finds nothing names the package, version, arch, the suites and archive looked in,
//! and the versions that are there.

use std::io;
use std::path::PathBuf;

use talos_ext_archive::UnpackError;
use talos_ext_fetch::FetchError;
use talos_ext_process::ProcessError;

/// A Debian package that could not be found, downloaded or extracted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DebianError {
    /// A package spec that is not `<package>[:<arch>][=<version>]`.
    #[error("`{spec}` is not `<package>[:<arch>][=<version>]`: {reason}")]
    Spec { spec: String, reason: String },

    /// The keyring that signs the archive's indexes is not there.
    #[error(
        "the Debian archive keyring {} is missing; the private apt state checks the indexes' signatures with it\nhint: apt-get install debian-archive-keyring",
        path.display()
    )]
    Keyring { path: PathBuf },

    /// A local file operation failed.
    #[error("could not {action} `{}`: {cause}", path.display())]
    Io { action: &'static str, path: PathBuf, cause: io::Error },

    /// `apt-get` failed on the private state (updating it, or listing its indexes).
    #[error(
        "debian: `apt-get {what}` of the private apt state {} ({sources}) failed: {cause}\nhint: check that the archive is reachable; the indexes are checked against the signatures of the Debian archive keyring",
        dir.display()
    )]
    Apt { what: &'static str, dir: PathBuf, sources: String, cause: Box<ProcessError> },

    /// After an update, an index the state asks for is missing or not signed.
    #[error(
        "debian: the private apt state {} has no signed {what} index after `apt-get update` ({sources})\nhint: check that the archive has these suites and components",
        dir.display()
    )]
    NoIndex { dir: PathBuf, what: String, sources: String },

    /// No index lists the package (in that version, for that arch).
    #[error("{0}")]
    NotFound(Box<NotFound>),

    /// The source package has no upstream tarball (`<name>_<upstream>.orig.tar.*`).
    #[error(
        "debian: source package `{package}={version}` ({suite}) has no upstream tarball `{package}_<upstream>[.orig].tar.*`; its files: {}",
        files.join(", ")
    )]
    NoUpstreamTarball { package: String, version: String, suite: String, files: Vec<String> },

    /// A pool file could not be downloaded or did not match the index.
    #[error("debian: downloading {what}: {cause}")]
    Download { what: String, cause: Box<FetchError> },

    /// A file is not a Debian binary package.
    #[error("{} is not a Debian binary package: {reason}", deb.display())]
    NotADeb { deb: PathBuf, reason: String },

    /// A package's data archive could not be unpacked (or was refused).
    #[error("debian: extracting into {}: {cause}", dest.display())]
    Extract { dest: PathBuf, cause: Box<UnpackError> },
}

/// What [`DebianError::NotFound`] shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "debian: no {kind} `{package}{}`{} in the indexes of {} ({}) at {uris}; {}\nhint: {}",
    version.as_ref().map(|v| format!("={v}")).unwrap_or_default(),
    arch.as_ref().map(|a| format!(" for {a}")).unwrap_or_default(),
    suites.join(", "),
    components.join(", "),
    available_text(available),
    hint(version.is_some(), available.is_empty())
)]
pub struct NotFound {
    /// `binary package`, `source package`.
    pub kind: &'static str,
    pub package: String,
    pub version: Option<String>,
    pub arch: Option<String>,
    pub suites: Vec<String>,
    pub components: Vec<String>,
    /// The archive roots looked in.
    pub uris: String,
    /// The versions that are there, with where: `2.10-3 (trixie/main (arm64))`.
    pub available: Vec<String>,
}

fn available_text(available: &[String]) -> String {
    match available {
        [] => "no version of it is listed there".to_string(),
        versions => format!("versions there: {}", versions.join(", ")),
    }
}

fn hint(versioned: bool, none: bool) -> &'static str {
    match (versioned, none) {
        (_, true) => "check the name (binary and source packages are named differently) and the suites asked for",
        (true, false) => {
            "Debian removes superseded versions from its suites: ask for a version listed here (or use a snapshot mirror)"
        }
        (false, false) => "it is listed for other architectures only",
    }
}

impl DebianError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> DebianError {
        let path = path.into();
        move |cause| DebianError::Io { action, path, cause }
    }

    /// Whether this is a [`DebianError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, DebianError::NotFound(_))
    }
}

impl From<talos_ext_fs::FsError> for DebianError {
    fn from(e: talos_ext_fs::FsError) -> DebianError {
        DebianError::Io { action: e.action, path: e.path, cause: e.cause }
    }
}
