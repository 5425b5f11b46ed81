//! Pushing extension layouts and the index image: [`publish_extension`] pushes one
//! `_out/oci/<name>/` as `<registry>/<prefix>/<name>:<version>` (refusing overridden-source
//! builds unless allowed), [`publish_index`] writes and pushes `<prefix>/extensions:<talos tag>`,
//! whose entries [`merged_index_entries`] computes from the pushed extensions and the index
//! image already in the registry.
//! Both go through `Client::push_layout`, which uploads only missing blobs and moves the tag last.

use std::path::Path;

use talos_ext_registry::{Client, PushOptions, PushSummary, Reporter};

use crate::error::PublishError;
use crate::find::read_index;
use crate::index::{IndexEntry, IndexMeta, merge_index, write_index_layout};
use crate::layout::ExtensionLayout;
use crate::prefix::RegistryPrefix;

/// One pushed extension.
#[derive(Debug, Clone)]
pub struct Published {
    /// The extension name.
    pub name: String,
    /// What the push did; `summary.reference` is the pinned `<repo>:<version>@sha256:<digest>`.
    pub summary: PushSummary,
    /// Its line in the index image.
    pub entry: IndexEntry,
}

/// Pushes the extension layout at `layout_dir` to `<prefix>/<name>:<version>` (name and version
/// from the layout's annotations). A layout carrying the overridden-sources annotation is refused
/// unless `allow_overridden`.
pub fn publish_extension(
    client: &Client,
    layout_dir: &Path,
    prefix: &RegistryPrefix,
    allow_overridden: bool,
    reporter: &dyn Reporter,
) -> Result<Published, PublishError> {
    let ext = ExtensionLayout::open(layout_dir)?;
    if !ext.overridden_sources.is_empty() && !allow_overridden {
        return Err(PublishError::Overridden {
            name: ext.name,
            layout: layout_dir.to_path_buf(),
            sources: ext.overridden_sources.join(", "),
        });
    }
    let target = prefix.reference(&ext.name, &ext.version)?;
    let summary = client.push_layout(layout_dir, &target, &PushOptions::default(), reporter)?;
    let entry = IndexEntry {
        reference: summary.reference.clone(),
        author: ext.manifest.metadata.author.clone(),
        description: ext.manifest.metadata.description.clone(),
    };
    Ok(Published { name: ext.name, summary, entry })
}

/// The entries of `<prefix>/extensions:<talos_tag>` after `published` were pushed: those, plus
/// the lines of the other extensions in the index image as it is in the registry (none when it
/// does not exist yet); see [`merge_index`].
pub fn merged_index_entries(
    client: &Client,
    prefix: &RegistryPrefix,
    talos_tag: &str,
    published: &[IndexEntry],
) -> Result<Vec<IndexEntry>, PublishError> {
    match read_index(client, prefix, talos_tag, None) {
        Ok(current) => Ok(merge_index(Some(&current.files), published)),
        Err(PublishError::IndexNotFound { .. }) => Ok(merge_index(None, published)),
        Err(e) => Err(e),
    }
}

/// Writes the index image of `entries` to `layout_dir` and pushes it to
/// `<prefix>/extensions:<talos tag>`.
pub fn publish_index(
    client: &Client,
    prefix: &RegistryPrefix,
    entries: &[IndexEntry],
    meta: &IndexMeta,
    layout_dir: &Path,
    reporter: &dyn Reporter,
) -> Result<PushSummary, PublishError> {
    write_index_layout(layout_dir, entries, meta)?;
    let target = prefix.index_reference(&meta.talos_tag)?;
    Ok(client.push_layout(layout_dir, &target, &PushOptions::default(), reporter)?)
}
