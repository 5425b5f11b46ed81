//! [`KernelError`]: every way preparing a toolchain, resolving a signing key or selecting
//! modules fails. Messages name the toolchain, arch, file or package involved and say what to do.

use std::io;
use std::path::PathBuf;

use talos_ext_model::Arch;

/// A toolchain, key or module operation that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KernelError {
    /// A toolchain definition or the key lock could not be read.
    #[error(transparent)]
    Definition(#[from] talos_ext_model::toolchain::ToolchainError),

    /// A local file operation failed.
    #[error("could not {action} `{}`: {cause}", path.display())]
    Io { action: &'static str, path: PathBuf, cause: io::Error },

    /// A program could not be started, or ran and failed (the runner's message says which, with
    /// the command line, the log and its last lines).
    #[error("toolchain `{toolchain}`: {cause}")]
    Process { toolchain: String, cause: talos_ext_process::ProcessError },

    /// A file-system operation failed.
    #[error(transparent)]
    Fs(#[from] talos_ext_fs::FsError),

    /// Neither the pinned Debian ABI nor (when allowed) a fallback is in the Debian indexes.
    #[error(
        "toolchain `{toolchain}`: the pinned Debian kernel ABI `{abi}` is not in the Debian indexes of {suites} ({package} not found) and {reason}\nhint: pin a listed ABI in {}/{toolchain}.toml",
        talos_ext_model::TOOLCHAINS_DIR
    )]
    AbiUnavailable { toolchain: String, abi: String, package: String, suites: String, reason: String },

    /// A Debian package of the toolchain could not be looked up, downloaded or extracted.
    #[error("toolchain `{toolchain}`: {cause}")]
    Debian { toolchain: String, cause: Box<talos_ext_debian::DebianError> },

    /// A pinned source (kernel tarball, config) is not available.
    #[error(transparent)]
    MissingSource(Box<MissingSource>),

    /// The in-tree module tree of a toolchain is not reachable (Talos: the kernel image).
    #[error(
        "toolchain `{toolchain}` ({arch}): the signed in-tree modules come from the image `{image}`, which is not available offline: {} does not exist\nhint: export `/usr/lib/modules/{release}` of that image into {} (e.g. `crane export {image} - | tar -x -C <dir> usr/lib/modules`), or build with the Debian toolchain (`--toolchain debian-6.12`)",
        expected.display(), expected.display()
    )]
    ImageUnavailable { toolchain: String, arch: Arch, image: String, release: String, expected: PathBuf },

    /// A required tool is not installed.
    #[error("toolchain `{toolchain}`: `{program}` is not installed ({why})\nhint: {hint}")]
    MissingTool { toolchain: String, program: String, why: String, hint: String },

    /// A prepared cache directory holds a tree made from different inputs.
    #[error(
        "the toolchain cache {} was prepared from different inputs; it is never rebuilt silently\n  recorded: {recorded}\n  wanted:   {wanted}\nhint: remove {} and prepare again",
        dir.display(), dir.display()
    )]
    StaleCache { dir: PathBuf, recorded: String, wanted: String },

    /// A prepared tree is not shaped as expected (a Debian package changed layout, ...).
    #[error("toolchain `{toolchain}`: {}: {message}", path.display())]
    Layout { toolchain: String, path: PathBuf, message: String },

    /// The signing key in use does not match `toolchain/keys.lock`.
    #[error(
        "module signing key mismatch for toolchain `{toolchain}`\n  {}: {locked}\n  key in use ({origin}): {actual}\n\
         A kernel trusts only the key it was built with: modules signed with a different key are rejected at load time \
         (`module verification failed: signature and/or required key missing`, or `Key was rejected by service` with \
         module.sig_enforce=1). The key changed: it was regenerated (a cleaned cache), or another key was given in \
         TALOS_EXT_MODULE_KEY/TALOS_EXT_MODULE_CERT.\nhint: restore the key this kernel was built with (its certificate's sha256 is the locked one), \
         or, if the kernel is being rebuilt with the new key on purpose, run `cargo xtask toolchain rekey --toolchain {toolchain}`",
        lock.display()
    )]
    KeyMismatch { toolchain: String, lock: PathBuf, locked: String, actual: String, origin: String },

    /// The signing key could not be loaded, generated or used.
    #[error("module signing key for toolchain `{toolchain}`: {message}")]
    Key { toolchain: String, message: String },

    /// A module could not be signed or parsed.
    #[error("module {}: {message}", path.display())]
    Module { path: PathBuf, message: String },

    /// An in-tree module named by a recipe is not in the toolchain's tree.
    #[error(
        "toolchain `{toolchain}` ({arch}): in-tree module `{module}` is not in {} (looked for .ko, .ko.xz){near}",
        tree.display()
    )]
    NoSuchModule { toolchain: String, arch: Arch, module: String, tree: PathBuf, near: String },
}

/// What [`KernelError::MissingSource`] shows.
#[derive(Debug, thiserror::Error)]
#[error(
    "toolchain `{toolchain}` ({arch}) needs {what}, which is not cached and could not be fetched\n  url:    {url}\n  sha256: {sha256}\n  cause:  {cause}\nhint: {hint}"
)]
pub struct MissingSource {
    pub toolchain: String,
    pub arch: Arch,
    /// `kernel source `linux-6.18.45.tar.xz``, `kernel config for arm64`.
    pub what: String,
    pub url: String,
    pub sha256: String,
    pub cause: String,
    pub hint: String,
}

impl KernelError {
    /// `map_err` helper for commands of toolchain `toolchain`.
    pub(crate) fn process(toolchain: &str) -> impl FnOnce(talos_ext_process::ProcessError) -> KernelError + use<> {
        let toolchain = toolchain.to_string();
        move |cause| KernelError::Process { toolchain, cause }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> KernelError {
        let path = path.into();
        move |cause| KernelError::Io { action, path, cause }
    }
}
