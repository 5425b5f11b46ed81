//! A small synchronous OCI distribution client: push an extension's OCI image layout (multi-arch
//! index, per-arch manifests, config and layer blobs) to a registry byte for byte, and pull
//! manifests and blobs back with their digests verified.
//!
//! # Why our own client on ureq, not `oci-client`
//!
//! The image digest users pin is the sha256 of the exact `index.json` bytes our image crate
//! writes, so the client must send bytes it is given and nothing else. `oci-client` 0.18 can
//! (`push_manifest_raw`), but it is async (tokio + reqwest, ~370 crates, 1 min 38 s to build on
//! two cores) for a workload that is a handful of sequential requests, and its retry and auth
//! behaviour is not ours to shape. `ocipkg` cannot push an index at all and only speaks plain HTTP
//! to `localhost*`. The distribution protocol we need is small (HEAD/POST/PUT/GET on five
//! endpoints plus the token dance), and the workspace already builds ureq 3 for
//! `talos-ext-fetch`, so this crate adds no new network stack: it controls every byte, the
//! upload order (blobs, manifests, then the tag last), retries (exponential backoff on 5xx, 408,
//! 429, resets and timeouts; a blob upload restarts from a new session) and auth (anonymous,
//! basic, bearer tokens cached per scope) in about 2,000 lines (with unit tests), tested against the real
//! distribution registry.
//!
//! # Shape
//!
//! - [`Client`] ([`ClientConfig`], [`RetryPolicy`]) holds one HTTP agent and the learned auth
//!   state; it is `Send + Sync`.
//! - [`Client::push_layout`] pushes a layout to a [`Reference`] and returns a [`PushSummary`].
//! - [`Client::get_manifest`], [`Client::head_manifest`], [`Client::get_blob`],
//!   [`Client::get_blob_to_file`], [`Client::blob_exists`], [`Client::list_tags`],
//!   [`Client::ping`] read; [`Client::pull_layout`] pulls a whole image back into an OCI layout.
//! - Credentials come from a [`CredentialStore`]: explicit, `TALOS_EXT_REGISTRY_USER`/
//!   `TALOS_EXT_REGISTRY_PASSWORD`, or the Docker config. [`Credentials`] never shows its
//!   password in `Debug`.
//! - Plain HTTP is used only for loopback registries ([`is_loopback`]) or with
//!   [`ClientConfig::insecure`].
//! - The library never prints; progress goes to a [`Reporter`].
//! - With the `testing` feature, [`testing`] starts Debian's `docker-registry` on loopback (with
//!   optional basic or token auth), a fault-injecting proxy, and builds sample layouts.
//!
//! ```no_run
//! use talos_ext_registry::{Client, ClientConfig, NoReporter, PushOptions, Reference};
//! # fn demo() -> Result<(), talos_ext_registry::RegistryError> {
//! let client = Client::new(ClientConfig::from_env()?);
//! let target: Reference = "ghcr.io/example/hello-world-service:v1.0.0".parse()?;
//! let summary = client.push_layout("_out/oci/hello-world-service".as_ref(), &target, &PushOptions::default(), &NoReporter)?;
//! println!("pushed {}", summary.reference); // ghcr.io/example/hello-world-service:v1.0.0@sha256:...
//! let index = client.get_manifest(&summary.reference)?;
//! assert_eq!(index.digest, summary.index_digest);
//! # Ok(())
//! # }
//! ```

mod auth;
mod client;
mod error;
mod pull;
mod pull_layout;
mod push;
mod reporter;
#[cfg(feature = "testing")]
pub mod testing;

pub use auth::{CredentialStore, Credentials, ENV_DOCKER_CONFIG, ENV_PASSWORD, ENV_USER, ENV_VARS};
pub use client::{Client, ClientConfig, DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, is_loopback};
pub use error::RegistryError;
pub use pull::{MANIFEST_ACCEPT, Manifest, ManifestHead};
pub use pull_layout::PulledLayout;
pub use push::{MAX_MANIFEST_SIZE, PushOptions, PushSummary};
pub use reporter::{NoReporter, Reporter};
/// The workspace's one retry policy, defined with the fetch configuration.
pub use talos_ext_fetch::RetryPolicy;
/// The workspace's one digest type and image-reference parser, defined in the model crate.
pub use talos_ext_model::{Digest, Reference, ReferenceError, Repository};
