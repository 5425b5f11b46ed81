//! The crate's one error type. Every variant that comes from the file system names the path it was
//! working on; messages are lowercase and carry no trailing period. This module only defines the
//! type; it does not decide what is an error.

use std::io;
use std::path::PathBuf;

use talos_ext_model::Arch;

/// Why packing, writing or reading an OCI layout failed.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A file-system operation failed; `action` says which (e.g. `read`, `create`, `rename`).
    #[error("cannot {action} {path}: {cause}")]
    Io { action: &'static str, path: PathBuf, cause: io::Error },

    /// The staged tree holds a device, FIFO or socket, which an extension layer cannot carry.
    #[error("{path}: special file (device, fifo or socket) cannot be packed into a layer")]
    SpecialFile { path: PathBuf },

    /// The staged extension directory does not hold exactly `manifest.yaml` and `rootfs/`.
    #[error(
        "{path}: staged extension must hold exactly the file `manifest.yaml` and the directory `rootfs/`: {detail}"
    )]
    NotAnExtension { path: PathBuf, detail: String },

    /// A file changed size while it was being packed.
    #[error("{path}: file changed while packing (expected {expected} bytes, read {actual})")]
    FileChanged { path: PathBuf, expected: u64, actual: u64 },

    /// The compressor failed (never expected with valid settings).
    #[error("compression failed: {0}")]
    Compression(String),

    /// A document could not be serialised (never expected).
    #[error("cannot serialise json: {0}")]
    Serialize(String),

    /// `write_layout` was given no image, or two images for one arch.
    #[error("invalid image list: {0}")]
    InvalidImages(String),

    /// An extra annotation tried to replace one the writer sets itself.
    #[error("annotation `{key}` is set by the image writer and cannot be overridden")]
    ReservedAnnotation { key: String },

    /// A JSON document in a layout could not be parsed.
    #[error("{path}: invalid {what}: {message}")]
    Json { path: PathBuf, what: &'static str, message: String },

    /// A blob is missing from `blobs/sha256/`.
    #[error("blob {digest} is missing from the layout ({path})")]
    MissingBlob { digest: String, path: PathBuf },

    /// A blob's content does not match its descriptor.
    #[error(
        "blob {digest} does not match its descriptor: expected {expected_size} bytes, found {actual_size} bytes with digest sha256:{actual_digest}"
    )]
    BlobMismatch { digest: String, expected_size: u64, actual_size: u64, actual_digest: String },

    /// A descriptor or document is not what an extension image layout may contain.
    #[error("{path}: {message}")]
    Unsupported { path: PathBuf, message: String },

    /// The layout has no image for the requested arch.
    #[error("no image for linux/{arch} in {path}")]
    NoSuchPlatform { arch: Arch, path: PathBuf },
}

impl ImageError {
    /// Wraps an I/O error with the action and the path it concerns.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> ImageError {
        let path = path.into();
        move |cause| ImageError::Io { action, path, cause }
    }
}
