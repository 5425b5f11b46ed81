//! Packing staged trees into an OCI image layout with the image crate, with the annotations
//! `xtask build` knows about (source, revision, created).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use talos_ext_build::StagedInfo;
use talos_ext_image::{ArchImage, Compression, ImageMeta, PackOptions, oci_digest, write_layout};

use crate::build::SourceFacts;
use crate::catalog::Entry;
use crate::flags::CompressionArg;

/// What was packed.
pub struct Packed {
    /// `sha256:<hex>` of the layout's `index.json` (the multi-arch index digest).
    pub digest: String,
    /// Bytes of the layout.
    pub size: u64,
}

/// Writes `layout_dir` from the staged trees (replacing an old layout only on success).
pub fn write(
    e: &Entry,
    info: &StagedInfo,
    facts: &SourceFacts,
    layout_dir: &Path,
    compression: CompressionArg,
) -> Result<Packed> {
    let images: Vec<ArchImage<'_>> = info.arches.iter().map(|a| ArchImage { arch: a.arch, dir: &a.dir }).collect();
    let meta = ImageMeta {
        title: e.meta.name.clone(),
        version: info.version.clone(),
        source: facts.source.clone(),
        revision: facts.revision.clone(),
        description: e.meta.description.clone(),
        source_date_epoch: facts.source_date_epoch,
        annotations: overridden_annotation(info),
    };
    let opts = PackOptions {
        compression: match compression {
            CompressionArg::Gzip => Compression::GZIP,
            CompressionArg::Zstd => Compression::ZSTD,
        },
        threads: None,
    };
    let summary = write_layout(layout_dir, &images, &meta, &opts)
        .with_context(|| format!("packing {} into {}", e.meta.name, layout_dir.display()))?;
    Ok(Packed { digest: oci_digest(&summary.index_digest), size: summary.total_bytes })
}

/// Annotation marking an image built from `--source` overrides (`publish` refuses such images
/// unless told otherwise); defined by the publishing crate that checks it.
pub use talos_ext_publish::ANNOTATION_OVERRIDDEN;

fn overridden_annotation(info: &StagedInfo) -> BTreeMap<String, String> {
    let mut names: Vec<&str> =
        info.arches.iter().flat_map(|a| a.overridden_sources.iter().map(String::as_str)).collect();
    names.sort();
    names.dedup();
    let mut out = BTreeMap::new();
    if !names.is_empty() {
        out.insert(ANNOTATION_OVERRIDDEN.to_string(), names.join(","));
    }
    out
}
