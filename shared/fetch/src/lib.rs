//! Fetches pinned upstream sources into a shared, content-addressed cache.
//!
//! A recipe pins each source by URL, sha256 and sha512 ([`talos_ext_model::Source`]).
//! [`fetch`] returns the path of a verified copy in the cache, looking in this order:
//!
//! 1. the cache, `<cache>/sources-v1/sha256/<hex>`: a hit needs no lock, no hashing and no
//!    network, because files only enter the cache by an atomic rename after verification;
//! 2. each mirror in [`FetchConfig::mirrors`], in order: a directory or an HTTP(S) prefix, laid
//!    out as `<mirror>/sha256/<hex>`; a mirror that lacks the file is skipped;
//! 3. the upstream URL, unless [`FetchConfig::offline`].
//!
//! Every byte stream, download or mirror copy, is hashed with sha256 *and* sha512 in one pass
//! while it is written to a temp file in the cache; only a file matching both is renamed into
//! place. A mismatch is an error, never a fallback to the next source. Concurrent fetches of
//! one source (threads or processes) serialise on a per-source file lock, so it is transferred
//! once and nobody sees a partial file.
//!
//! `<cache>/sources-v1` is itself a valid directory mirror (pass that path, not `<cache>`), and
//! [`mirror_into`] fills any other directory in the same layout.
//!
//! The library never prints: progress goes to a [`Reporter`]. Only this crate (and the registry
//! client) touch the network.
//!
//! Environment: [`ENV_CACHE`], [`ENV_MIRRORS`], [`ENV_OFFLINE`], read by
//! [`FetchConfig::from_env`].
//!
//! ```no_run
//! use talos_ext_fetch::{FetchConfig, NoReporter, fetch};
//! # fn demo(source: &talos_ext_model::Source) -> Result<(), talos_ext_fetch::FetchError> {
//! let cfg = FetchConfig::from_env("/work/main/.cache/talos-ext".into())?;
//! let path = fetch(&cfg, "hello", source, &NoReporter)?;
//! assert!(path.starts_with(cfg.sources_dir()));
//! # Ok(())
//! # }
//! ```

//!
//! Feature `client` (on by default) is the fetching itself. Without it the crate is only the
//! configuration ([`FetchConfig`], [`Mirror`], the environment variables) and the
//! [`Reporter`] trait, with no HTTP client: what `xtask` needs to hand the configuration to
//! build scripts, at a fraction of the compile graph.

#[cfg(feature = "client")]
mod cache;
mod config;
mod error;
#[cfg(feature = "client")]
mod fetch;
#[cfg(feature = "client")]
mod http;
mod reporter;
#[cfg(feature = "client")]
mod verify;

pub use config::{
    ENV_CACHE, ENV_MIRRORS, ENV_OFFLINE, ENV_VARS, FetchConfig, Mirror, MirrorParseError, RetryPolicy, SOURCES_BUCKET,
};
pub use error::{ChecksumMismatch, FetchError};
#[cfg(feature = "client")]
pub use fetch::{CacheState, download_sha256, fetch, lookup, mirror_into, verify_cached};
#[cfg(feature = "client")]
pub use http::agent_config;
pub use reporter::{NoReporter, Reporter};
