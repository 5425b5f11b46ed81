//! What publishing reads from a local extension layout: name and version annotations, the
//! overridden-sources mark, and `manifest.yaml` from the layer (preferring amd64).

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use talos_ext_image::Layout;
use talos_ext_image::spec::{ANNOTATION_TITLE, ANNOTATION_VERSION};
use talos_ext_model::{Arch, Manifest};

use crate::error::PublishError;

/// Annotation marking an image built from `--source` overrides (written by `xtask build`);
/// [`crate::publish_extension`] refuses such images unless allowed.
pub const ANNOTATION_OVERRIDDEN: &str = "dev.talos-ext.overridden-sources";

/// A local extension layout, ready to push.
#[derive(Debug, Clone)]
pub struct ExtensionLayout {
    pub dir: PathBuf,
    /// `org.opencontainers.image.title`.
    pub name: String,
    /// `org.opencontainers.image.version`: the tag to push under.
    pub version: String,
    /// Sources named by the overridden-sources annotation (empty when built from pins).
    pub overridden_sources: Vec<String>,
    /// The extension's `manifest.yaml`.
    pub manifest: Manifest,
    /// `sha256:<hex>` of `index.json`.
    pub digest: String,
}

impl ExtensionLayout {
    /// Opens the layout at `dir` and reads what publishing needs.
    pub fn open(dir: &Path) -> Result<ExtensionLayout, PublishError> {
        let layout = Layout::open(dir)?;
        let annotations = &layout.index().annotations;
        let fallback = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let name = annotations.get(ANNOTATION_TITLE).cloned().unwrap_or(fallback);
        let bad = |message: String| PublishError::Layout { name: name.clone(), layout: dir.to_path_buf(), message };
        let version = annotations
            .get(ANNOTATION_VERSION)
            .cloned()
            .ok_or_else(|| bad(format!("index.json has no `{ANNOTATION_VERSION}` annotation (the tag to push)")))?;
        let overridden_sources = annotations
            .get(ANNOTATION_OVERRIDDEN)
            .map(|v| v.split(',').filter(|s| !s.is_empty()).map(String::from).collect())
            .unwrap_or_default();
        let platforms = layout.platforms();
        let arch = if platforms.contains(&Arch::Amd64) {
            Arch::Amd64
        } else {
            *platforms.first().ok_or_else(|| bad("index.json lists no linux platform".into()))?
        };
        let text = read_manifest_yaml(layout.layer_reader(arch)?)
            .map_err(|e| bad(format!("reading manifest.yaml from the {arch} layer: {e}")))?
            .ok_or_else(|| bad(format!("the {arch} layer has no manifest.yaml")))?;
        let manifest = Manifest::parse(&text).map_err(|e| bad(format!("manifest.yaml: {e}")))?;
        Ok(ExtensionLayout {
            dir: dir.to_path_buf(),
            name,
            version,
            overridden_sources,
            manifest,
            digest: format!("sha256:{}", layout.index_digest()),
        })
    }
}

/// The text of the top-level `manifest.yaml` of a layer's tar stream, if there is one.
pub(crate) fn read_manifest_yaml(reader: impl Read) -> std::io::Result<Option<String>> {
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?;
        if path.to_string_lossy().trim_start_matches("./") == "manifest.yaml" {
            let mut text = String::new();
            entry.read_to_string(&mut text)?;
            return Ok(Some(text));
        }
    }
    Ok(None)
}

/// A layer blob's tar stream, decompressed according to its magic bytes (gzip, zstd or none), as
/// go-containerregistry does.
pub(crate) fn decompress<'a>(mut reader: impl BufRead + Send + 'a) -> std::io::Result<Box<dyn Read + Send + 'a>> {
    let head = reader.fill_buf()?;
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(reader))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(zstd::stream::read::Decoder::with_buffer(reader)?)
    } else {
        Box::new(reader)
    })
}
