//! The extensions index image (`<prefix>/extensions:<talos tag>`, contract 8.1): a single-layer
//! image whose layer holds `/image-digests` (one `<registry>/<prefix>/<name>:<version>@sha256:<index
//! digest>` line per extension, sorted, trailing newline) and `/descriptions.yaml` (a map keyed by
//! that full line to `{author, description}` from each image's `manifest.yaml`).
//!
//! Publishing some extensions keeps the lines of the others: [`merge_index`] is the index after
//! a publish, from the one in the registry and the newly pushed entries.
//!
//! The image is listed for both `linux/amd64` and `linux/arm64` with the same layer, so whatever
//! platform a reader asks for (Image Factory exports the amd64 image; `crane export` picks the
//! host's) it gets the two files. The bytes depend only on the entries and [`IndexMeta`]: the
//! layout is written with `talos_ext_image::write_tree_layout` (sorted entries, fixed owners,
//! modes 0644, mtimes = `SOURCE_DATE_EPOCH`, fixed gzip chunking).

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use talos_ext_image::{Compression, ImageMeta, LayoutSummary, PackOptions, write_tree_layout};
use talos_ext_model::Arch;
use talos_ext_registry::{Reference, Repository};

use crate::error::PublishError;

/// The file listing the pinned references.
pub const IMAGE_DIGESTS: &str = "image-digests";
/// The file describing each line of [`IMAGE_DIGESTS`].
pub const DESCRIPTIONS: &str = "descriptions.yaml";
/// Largest index layer `find` reads (it holds two small text files).
pub const MAX_INDEX_LAYER: u64 = 16 << 20;

/// One published extension, as the index lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// `<registry>/<prefix>/<name>:<version>@sha256:<index digest>` (tag and digest both set).
    pub reference: Reference,
    /// `metadata.author` of its `manifest.yaml`.
    pub author: String,
    /// `metadata.description` of its `manifest.yaml`.
    pub description: String,
}

/// A `descriptions.yaml` value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Description {
    pub author: String,
    pub description: String,
}

/// What goes into the index image besides the two files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexMeta {
    /// The Talos tag (the image tag and `org.opencontainers.image.version`).
    pub talos_tag: String,
    /// `org.opencontainers.image.source`.
    pub source: String,
    /// `org.opencontainers.image.revision`.
    pub revision: String,
    /// Every timestamp.
    pub source_date_epoch: u64,
}

/// The `image-digests` text: the entries' references, sorted, one per line, trailing newline.
pub fn image_digests(entries: &[IndexEntry]) -> String {
    let mut lines: Vec<String> = entries.iter().map(|e| e.reference.to_string()).collect();
    lines.sort();
    lines.dedup();
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// The `descriptions.yaml` text: a map from each full `image-digests` line to author and
/// description (keys sorted).
pub fn descriptions_yaml(entries: &[IndexEntry]) -> Result<String, PublishError> {
    let map: BTreeMap<String, Description> = entries
        .iter()
        .map(|e| {
            (e.reference.to_string(), Description { author: e.author.clone(), description: e.description.clone() })
        })
        .collect();
    serde_norway::to_string(&map).map_err(|e| PublishError::IndexContent {
        reference: "descriptions.yaml".into(),
        message: format!("cannot serialise: {e}"),
    })
}

/// Writes the index image for `entries` as an OCI layout at `out_dir` (replacing it).
pub fn write_index_layout(
    out_dir: &Path,
    entries: &[IndexEntry],
    meta: &IndexMeta,
) -> Result<LayoutSummary, PublishError> {
    if let Some(e) = entries.iter().find(|e| e.reference.tag.is_none() || e.reference.digest.is_none()) {
        return Err(PublishError::IndexContent {
            reference: e.reference.to_string(),
            message: "an index line needs both a tag and a digest".into(),
        });
    }
    let tree = tempfile::Builder::new()
        .prefix("talos-ext-index-")
        .tempdir()
        .map_err(PublishError::io("create a temporary directory for", out_dir))?;
    for (name, text) in [(IMAGE_DIGESTS, image_digests(entries)), (DESCRIPTIONS, descriptions_yaml(entries)?)] {
        let path = tree.path().join(name);
        fs::write(&path, text).map_err(PublishError::io("write", &path))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).map_err(PublishError::io("chmod", &path))?;
    }
    let image_meta = ImageMeta {
        title: crate::INDEX_REPOSITORY.into(),
        version: meta.talos_tag.clone(),
        source: meta.source.clone(),
        revision: meta.revision.clone(),
        description: format!("Talos system extensions published for Talos {}", meta.talos_tag),
        source_date_epoch: meta.source_date_epoch,
        annotations: BTreeMap::new(),
    };
    let opts = PackOptions { compression: Compression::GZIP, threads: None };
    Ok(write_tree_layout(out_dir, tree.path(), &Arch::ALL, &image_meta, &opts)?)
}

/// What the index image lists after `published` were pushed: every entry of `published`, plus
/// the lines of `current` (the index image as it is in the registry, if there is one) for
/// repositories not in `published`, with their descriptions. A line of `current` that is not a
/// pinned reference (`<repo>:<tag>@sha256:<hex>`) could not be installed and is dropped.
pub fn merge_index(current: Option<&IndexFiles>, published: &[IndexEntry]) -> Vec<IndexEntry> {
    let mut entries = published.to_vec();
    let replaced: Vec<&Repository> = published.iter().map(|e| &e.reference.repository).collect();
    for line in current.map(|c| c.lines.as_slice()).unwrap_or_default() {
        let Ok(reference) = line.parse::<Reference>() else { continue };
        if reference.tag.is_none() || reference.digest.is_none() || replaced.contains(&&reference.repository) {
            continue;
        }
        let Description { author, description } = current
            .and_then(|c| c.descriptions.get(line).cloned())
            .unwrap_or(Description { author: String::new(), description: String::new() });
        entries.push(IndexEntry { reference, author, description });
    }
    entries
}

/// The two files of an index image, read from its layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFiles {
    /// The non-empty lines of `image-digests`.
    pub lines: Vec<String>,
    /// `descriptions.yaml` (empty when the image has none).
    pub descriptions: BTreeMap<String, Description>,
}

impl IndexFiles {
    /// Reads `image-digests` and `descriptions.yaml` from a layer blob (gzip, zstd or plain tar);
    /// `what` names the image in errors.
    pub fn from_layer(blob: &[u8], what: &str) -> Result<IndexFiles, PublishError> {
        let bad = |message: String| PublishError::IndexContent { reference: what.into(), message };
        let reader = crate::layout::decompress(blob).map_err(|e| bad(format!("cannot read the layer: {e}")))?;
        let mut archive = tar::Archive::new(reader);
        let mut digests = None;
        let mut descriptions = None;
        let entries = archive.entries().map_err(|e| bad(format!("cannot read the layer tar: {e}")))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| bad(format!("cannot read the layer tar: {e}")))?;
            let path = entry.path().map_err(|e| bad(format!("bad path in the layer tar: {e}")))?;
            let name = path.to_string_lossy().trim_start_matches("./").trim_start_matches('/').to_string();
            let slot = match name.as_str() {
                IMAGE_DIGESTS => &mut digests,
                DESCRIPTIONS => &mut descriptions,
                _ => continue,
            };
            let mut text = String::new();
            entry.read_to_string(&mut text).map_err(|e| bad(format!("cannot read /{name}: {e}")))?;
            *slot = Some(text);
        }
        let digests = digests.ok_or_else(|| bad(format!("its layer has no /{IMAGE_DIGESTS}")))?;
        let lines = digests.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
        let descriptions = match descriptions {
            Some(text) if !text.trim().is_empty() => serde_norway::from_str(&text)
                .map_err(|e| bad(format!("/{DESCRIPTIONS} is not a map of line to author/description: {e}")))?,
            _ => BTreeMap::new(),
        };
        Ok(IndexFiles { lines, descriptions })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(line: &str, author: &str) -> IndexEntry {
        IndexEntry { reference: line.parse().unwrap(), author: author.into(), description: format!("{author}'s") }
    }

    const A_OLD: &str = "r.example/talos/a:v1@sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const A_NEW: &str = "r.example/talos/a:v2@sha256:2222222222222222222222222222222222222222222222222222222222222222";
    const B: &str = "r.example/talos/b:v1@sha256:3333333333333333333333333333333333333333333333333333333333333333";

    #[test]
    fn merging_keeps_other_extensions_and_replaces_the_published() {
        let current = IndexFiles {
            lines: vec![A_OLD.into(), B.into(), "not a reference!".into(), "r.example/talos/c:v1".into()],
            descriptions: BTreeMap::from([(
                B.to_string(),
                Description { author: "bee".into(), description: "bee's".into() },
            )]),
        };
        let merged = merge_index(Some(&current), &[entry(A_NEW, "ay")]);
        assert_eq!(merged, [entry(A_NEW, "ay"), entry(B, "bee")]);
        assert_eq!(image_digests(&merged), format!("{A_NEW}\n{B}\n"));
    }

    #[test]
    fn merging_without_an_index_is_the_published_entries() {
        assert_eq!(merge_index(None, &[entry(B, "bee")]), [entry(B, "bee")]);
    }

    #[test]
    fn a_line_without_a_description_keeps_empty_ones() {
        let current = IndexFiles { lines: vec![B.into()], descriptions: BTreeMap::new() };
        let merged = merge_index(Some(&current), &[entry(A_NEW, "ay")]);
        assert_eq!(merged[1].reference.to_string(), B);
        assert_eq!((merged[1].author.as_str(), merged[1].description.as_str()), ("", ""));
    }
}
