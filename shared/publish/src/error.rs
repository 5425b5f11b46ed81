//! [`PublishError`]: every way publishing, finding, signing or verifying fails, naming the
//! reference, layout or field concerned, with a `hint:` where the fix is known.

use std::path::PathBuf;

use talos_ext_image::ImageError;
use talos_ext_model::ReferenceError;
use talos_ext_model::constraint::{ConstraintError, TalosVersionError, Unsatisfied};
use talos_ext_registry::RegistryError;
use talos_ext_sign::VerifyError;

/// A failed publish, find, sign or verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// A registry operation failed (its message names the registry and repository).
    #[error(transparent)]
    Registry(#[from] RegistryError),

    /// An image reference, repository, tag or digest is not well formed (a digest in a manifest,
    /// a tag made from a digest).
    #[error(transparent)]
    Reference(#[from] ReferenceError),

    /// A local layout could not be read or written.
    #[error(transparent)]
    Image(#[from] ImageError),

    /// `--registry` is not `host[:port][/prefix]`.
    #[error(
        "invalid registry `{value}`: {reason}\nhint: use `host[:port]/prefix`, e.g. `ghcr.io/example` or `127.0.0.1:5000/talos`"
    )]
    InvalidRegistry { value: String, reason: String },

    /// The layout was built from `--source` overrides and publishing it was not allowed.
    #[error(
        "refusing to publish {name} from {}: it was built from overridden sources ({sources}), not its pins\nhint: rebuild without `--source`, or pass `--allow-overridden` to publish it anyway",
        layout.display()
    )]
    Overridden { name: String, layout: PathBuf, sources: String },

    /// The layout lacks something publishing needs (an annotation, an extension manifest).
    #[error("layout {} of {name}: {message}", layout.display())]
    Layout { name: String, layout: PathBuf, message: String },

    /// A local file operation failed.
    #[error("could not {action} `{}`: {cause}", path.display())]
    Io { action: &'static str, path: PathBuf, cause: std::io::Error },

    /// The index image `<prefix>/extensions:<talos version>` does not exist.
    #[error(
        "no extensions index image {reference} in the registry\nhint: publish it with `cargo xtask publish --all --registry {registry} --tag {tag}`, or check `--registry` and `--talos`"
    )]
    IndexNotFound { reference: String, registry: String, tag: String },

    /// The index image exists but is not what `publish` writes.
    #[error("extensions index image {reference}: {message}")]
    IndexContent { reference: String, message: String },

    /// The extension is not listed in the index image.
    #[error("extension `{name}` is not in the index image {index}\nhint: it lists {}", if available.is_empty() { "nothing".to_string() } else { available.join(", ") })]
    NotInIndex { name: String, index: String, available: Vec<String> },

    /// An extension image's `manifest.yaml` could not be read or parsed.
    #[error("extension image {reference}: {message}")]
    ExtensionManifest { reference: String, message: String },

    /// The extension's compatibility constraint excludes the Talos version.
    #[error("{name} ({reference}) cannot be used: {cause}")]
    Incompatible { name: String, reference: String, cause: Unsatisfied },

    /// The extension's compatibility constraint does not parse.
    #[error("extension image {reference}: {cause}")]
    Constraint { reference: String, cause: ConstraintError },

    /// The Talos version asked for does not parse.
    #[error(transparent)]
    TalosVersion(#[from] TalosVersionError),

    /// No signature is stored for the image.
    #[error(
        "{reference} has no signature (no `{tag}` in its repository)\nhint: sign it with `cargo xtask sign {reference} --key <cosign.key>`"
    )]
    Unsigned { reference: String, tag: String },

    /// The input hash of a recipe the catalog does not have was asked for (an internal library
    /// named as a dependency but not in the graph).
    #[error("no recipe named `{name}` to hash the inputs of")]
    UnknownRecipe { name: String },

    /// Internal libraries depend on each other in a cycle.
    #[error("internal libraries depend on each other in a cycle: {cycle}")]
    InputCycle { cycle: String },

    /// A signature is stored but does not verify.
    #[error("signature of {reference} does not verify: {cause}")]
    Signature { reference: String, cause: VerifyError },
}

impl PublishError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> PublishError {
        let path = path.into();
        move |cause| PublishError::Io { action, path, cause }
    }
}
