//! Publishing Talos extensions to an OCI registry, and finding them again.
//!
//! - [`publish_extension`]: push a built layout (`_out/oci/<name>/`) as
//!   `<registry>/<prefix>/<name>:<version>`; layouts built from `--source` overrides
//!   ([`ANNOTATION_OVERRIDDEN`]) are refused unless allowed.
//! - [`publish_index`] / [`write_index_layout`]: the index image `<prefix>/extensions:<talos tag>`
//!   with `/image-digests` and `/descriptions.yaml` (contract 8.1), deterministic, listed for
//!   amd64 and arm64 with one shared layer; [`merged_index_entries`] keeps the lines of
//!   extensions already in it that were not published this time.
//! - [`sign_reference`] / [`verify_reference`]: cosign-compatible key signatures pushed as
//!   `sha256-<hex>.sig` images (bytes from `talos-ext-sign`).
//! - [`find`]: the pinned reference of an extension for a Talos version, with its compatibility
//!   constraint checked with Talos' semantics, optionally after verifying signatures.
//!
//! - [`cache`]: the input hash of an extension image ([`ANNOTATION_INPUT_HASH`]) and the tag it
//!   is cached under, for `cargo xtask build --cache-from/--cache-to` and `verify`.
//!
//! Everything goes through `talos_ext_registry::Client` (retries, auth, index-last pushes). The
//! library never prints; progress goes to a `Reporter`, and `xtask` draws the tables.

pub mod cache;
mod error;
mod find;
mod index;
mod layout;
mod prefix;
mod publish;
mod signing;

pub use cache::{ANNOTATION_INPUT_HASH, BuildKey, InputGraph, RecipeNode, cache_tag};
pub use error::PublishError;
pub use find::{Found, Index, find, read_index, read_index_at};
pub use index::{
    DESCRIPTIONS, Description, IMAGE_DIGESTS, IndexEntry, IndexFiles, IndexMeta, MAX_INDEX_LAYER, descriptions_yaml,
    image_digests, merge_index, write_index_layout,
};
pub use layout::{ANNOTATION_OVERRIDDEN, ExtensionLayout};
pub use prefix::{INDEX_REPOSITORY, RegistryPrefix};
pub use publish::{Published, merged_index_entries, publish_extension, publish_index};
pub use signing::{resolve_digest, sign_reference, verify_reference};
