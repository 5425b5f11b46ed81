//! [`RegistryError`]: every way a registry operation fails, with the evidence (registry, repository,
//! digest, HTTP status, number of attempts) as structured fields and a `hint:` line in the message
//! where the fix is known.
//!
//! As in `talos-ext-fetch`, an underlying I/O or transport error is part of the message (field
//! `error`), not a `source()`, so `{}` prints everything and the `hint:` stays last. This module
//! only defines the type; the client decides what is retried.

use std::io;
use std::path::PathBuf;

use talos_ext_image::ImageError;
use talos_ext_model::ReferenceError;

use crate::auth::{ENV_PASSWORD, ENV_USER};

/// A failed push, pull or registry query.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// An image reference (`host[:port]/repo[:tag|@digest]`), repository, tag or digest is not
    /// well formed, or does not fit the operation.
    #[error(transparent)]
    InvalidReference(#[from] ReferenceError),

    /// The registry refused the credentials, or wants some and none were found.
    #[error(
        "registry {registry} refused {operation} on `{repo}` ({status}{}){}\nhint: {}",
        detail_suffix(detail),
        if *authenticated { " with the credentials given" } else { ": it needs credentials and none were found" },
        auth_hint(registry, *authenticated)
    )]
    Unauthorized {
        registry: String,
        repo: String,
        operation: &'static str,
        status: u16,
        /// Whether credentials were sent.
        authenticated: bool,
        detail: Option<String>,
    },

    /// The registry answered with an unexpected status: at once for a 4xx, after retries for a 5xx.
    #[error(
        "registry {registry} answered {status} to {operation} on `{repo}`{} after {attempts} {}{}",
        detail_suffix(detail),
        plural(*attempts),
        status_hint(*status)
    )]
    Status {
        registry: String,
        repo: String,
        operation: &'static str,
        status: u16,
        /// The registry's error code and message (`errors[0]` of its JSON body), if any.
        detail: Option<String>,
        attempts: u32,
    },

    /// The manifest or blob does not exist in the repository.
    #[error("{what} `{reference}` not found in {registry}/{repo}")]
    NotFound { registry: String, repo: String, what: &'static str, reference: String },

    /// The connection failed, was reset or timed out, or a body broke off, on every attempt.
    #[error(
        "could not reach registry {registry} for {operation} on `{repo}` ({attempts} {}): {error}\nhint: check that the registry is up and reachable; plain HTTP is used only for loopback hosts or with `insecure`",
        plural(*attempts)
    )]
    Transport { registry: String, repo: String, operation: &'static str, attempts: u32, error: io::Error },

    /// Bytes from the registry do not match the digest they were requested by (or announced).
    #[error(
        "{what} from {registry}/{repo} does not match its digest: expected {expected}, got {actual}\nhint: the registry or something between it and us altered the content; do not use it"
    )]
    DigestMismatch { registry: String, repo: String, what: &'static str, expected: String, actual: String },

    /// A manifest, index or error body is larger than this client accepts.
    #[error("{what} from {registry}/{repo} is larger than {limit} bytes")]
    TooLarge { registry: String, repo: String, what: &'static str, limit: u64 },

    /// The registry broke the distribution protocol (a missing `Location`, bad JSON, ...).
    #[error("registry {registry} broke the protocol during {operation} on `{repo}`: {message}")]
    Protocol { registry: String, repo: String, operation: &'static str, message: String },

    /// The token server named in a `WWW-Authenticate: Bearer` challenge did not issue a token.
    #[error(
        "token server {realm} (for registry {registry}) did not issue a token for `{scope}`: {message}\nhint: {}",
        auth_hint(registry, *authenticated)
    )]
    Token { registry: String, realm: String, scope: String, authenticated: bool, message: String },

    /// The OCI layout to push is missing, unreadable or inconsistent.
    #[error("cannot push layout: {0}")]
    Layout(ImageError),

    /// A layout blob does not match its descriptor (size or digest), so it is not pushed.
    #[error("layout blob {digest} ({}) does not match its descriptor: {reason}", path.display())]
    LayoutBlob { digest: String, path: PathBuf, reason: String },

    /// The Docker config file holding credentials could not be read or parsed.
    #[error("cannot use docker config `{}`: {message}\nhint: fix or remove the file, or set `{ENV_USER}` and `{ENV_PASSWORD}`", path.display())]
    DockerConfig { path: PathBuf, message: String },

    /// An environment variable has a value that cannot be used.
    #[error("environment variable `{var}` is invalid: {reason}")]
    InvalidEnv { var: &'static str, reason: String },

    /// A local file operation failed.
    #[error("could not {action} `{}`: {error}", path.display())]
    Io {
        /// What was being done, e.g. `open blob`.
        action: &'static str,
        path: PathBuf,
        error: io::Error,
    },
}

impl RegistryError {
    /// Wraps an I/O error with the action and the path it concerns.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> RegistryError {
        let path = path.into();
        move |error| RegistryError::Io { action, path, error }
    }

    /// The HTTP status behind this error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            RegistryError::Unauthorized { status, .. } | RegistryError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

fn plural(attempts: u32) -> &'static str {
    if attempts == 1 { "attempt" } else { "attempts" }
}

fn detail_suffix(detail: &Option<String>) -> String {
    detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
}

fn auth_hint(registry: &str, authenticated: bool) -> String {
    if authenticated {
        format!(
            "check the user name and password for {registry} (`{ENV_USER}`/`{ENV_PASSWORD}` or docker config `auths`) and that the user may push to this repository"
        )
    } else {
        format!(
            "set `{ENV_USER}` and `{ENV_PASSWORD}`, or add `auths.\"{registry}\".auth` to the docker config (`docker login {registry}`; `DOCKER_CONFIG` selects the directory)"
        )
    }
}

fn status_hint(status: u16) -> &'static str {
    match status {
        404 => "\nhint: check the registry address and repository name",
        429 => "\nhint: the registry is rate-limiting; wait and try again",
        500..=599 => "\nhint: the registry failed on its side; try again later",
        _ => "",
    }
}

// By hand, not `#[from]`: that would also make the image error the `source`, which the message
// already quotes, and error chains would print it twice.
impl From<ImageError> for RegistryError {
    fn from(e: ImageError) -> RegistryError {
        RegistryError::Layout(e)
    }
}
