//! `find`: which pinned reference to use for an extension on a Talos version. Reads the index
//! image `<prefix>/extensions:<talos version>` (its amd64 image, as Image Factory does), picks the
//! extension's `image-digests` line, and checks the extension's compatibility constraint with
//! Talos' semantics against the Talos version.
//!
//! The constraint is read from the extension image itself (its amd64 layer's `manifest.yaml`,
//! pulled by the pinned digest): `descriptions.yaml` carries only author and description, and an
//! extension whose image cannot be pulled could not be installed either, so an unreachable image
//! is an error rather than a silent pass. An empty constraint is not checked, as in Talos.

use std::fs::File;
use std::io::BufReader;

use talos_ext_image::spec::{ImageIndex, ImageManifest};
use talos_ext_model::Manifest;
use talos_ext_model::constraint::{Constraint, TalosVersion};
use talos_ext_registry::{Client, Digest, NoReporter, Reference, RegistryError};
use talos_ext_sign::PublicKey;

use crate::error::PublishError;
use crate::index::{Description, IndexFiles, MAX_INDEX_LAYER};
use crate::layout::{decompress, read_manifest_yaml};
use crate::prefix::RegistryPrefix;
use crate::signing::verify_reference;

/// The platform read from multi-platform images.
const PLATFORM: &str = "amd64";

/// One extension found for a Talos version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The name asked for.
    pub name: String,
    /// The `image-digests` line: `<registry>/<prefix>/<name>:<version>@sha256:<digest>`.
    pub line: String,
    pub reference: Reference,
    /// `metadata.compatibility.talos.version` of the image (may be empty).
    pub constraint: String,
    /// From `descriptions.yaml`, if listed there.
    pub description: Option<Description>,
}

/// The index image of a Talos version, read.
#[derive(Debug, Clone)]
pub struct Index {
    /// `<prefix>/extensions:<talos version>@sha256:<digest>`.
    pub reference: Reference,
    pub files: IndexFiles,
}

/// Pulls and reads `<prefix>/extensions:<talos_version>`; with `key`, its signature is verified
/// first.
pub fn read_index(
    client: &Client,
    prefix: &RegistryPrefix,
    talos_version: &str,
    key: Option<&PublicKey>,
) -> Result<Index, PublishError> {
    let tagged = prefix.index_reference(talos_version)?;
    let index = match client.get_manifest(&tagged) {
        Ok(m) => m,
        Err(RegistryError::NotFound { .. }) => {
            return Err(PublishError::IndexNotFound {
                reference: tagged.to_string(),
                registry: prefix.to_string(),
                tag: talos_version.into(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    index_from(client, &tagged, index, key)
}

/// Pulls and reads the index image at `reference` (any tag or digest, such as
/// `<prefix>/extensions@sha256:<hex>`); with `key`, its signature is verified first.
pub fn read_index_at(client: &Client, reference: &Reference, key: Option<&PublicKey>) -> Result<Index, PublishError> {
    let index = client.get_manifest(reference)?;
    index_from(client, reference, index, key)
}

/// The index image whose top manifest (or index) `reference` resolved to.
fn index_from(
    client: &Client,
    reference: &Reference,
    index: talos_ext_registry::Manifest,
    key: Option<&PublicKey>,
) -> Result<Index, PublishError> {
    let reference = Reference { digest: Some(index.digest.clone()), ..reference.clone() };
    if let Some(key) = key {
        verify_reference(client, key, &reference)?;
    }
    let what = reference.to_string();
    let manifest = platform_manifest(client, &reference, &index.bytes)?;
    let [layer] = manifest.layers.as_slice() else {
        return Err(PublishError::IndexContent {
            reference: what,
            message: format!("expected one layer, found {}", manifest.layers.len()),
        });
    };
    let blob = client.get_blob(&reference.repository, &Digest::parse(&layer.digest)?, MAX_INDEX_LAYER)?;
    let files = IndexFiles::from_layer(&blob, &what)?;
    Ok(Index { reference, files })
}

/// Finds each of `names` in the index image of `talos_version` and checks it can be used there.
/// With `key`, the index image and each extension image must carry a valid signature.
pub fn find(
    client: &Client,
    prefix: &RegistryPrefix,
    talos_version: &str,
    names: &[String],
    key: Option<&PublicKey>,
) -> Result<Vec<Found>, PublishError> {
    let talos = TalosVersion::parse(talos_version)?;
    let index = read_index(client, prefix, talos_version, key)?;
    let mut found = Vec::new();
    for name in names {
        let (line, reference) = pick_line(&index, name)?;
        if let Some(key) = key {
            verify_reference(client, key, &reference)?;
        }
        let manifest = extension_manifest(client, &reference)?;
        let constraint = manifest.metadata.compatibility.talos.version.clone();
        if !constraint.is_empty() {
            let parsed = Constraint::parse(&constraint)
                .map_err(|cause| PublishError::Constraint { reference: line.clone(), cause })?;
            parsed.check(&talos).map_err(|source| PublishError::Incompatible {
                name: name.clone(),
                reference: line.clone(),
                cause: source,
            })?;
        }
        let description = index.files.descriptions.get(&line).cloned();
        found.push(Found { name: name.clone(), line, reference, constraint, description });
    }
    Ok(found)
}

/// The line of `name`: its repository's last path component is `name` and it is pinned by digest.
fn pick_line(index: &Index, name: &str) -> Result<(String, Reference), PublishError> {
    let mut available = Vec::new();
    for line in &index.files.lines {
        // As Image Factory: lines without `@` are skipped.
        if !line.contains('@') {
            continue;
        }
        let Ok(reference) = line.parse::<Reference>() else { continue };
        let last = reference.repository.name.rsplit('/').next().unwrap_or_default().to_string();
        if last == name {
            return Ok((line.clone(), reference));
        }
        available.push(last);
    }
    Err(PublishError::NotInIndex { name: name.into(), index: index.reference.to_string(), available })
}

/// The image manifest of `reference`: itself, or its amd64 entry when it is an index.
fn platform_manifest(client: &Client, reference: &Reference, bytes: &[u8]) -> Result<ImageManifest, PublishError> {
    let bad = |message: String| PublishError::IndexContent { reference: reference.to_string(), message };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("invalid manifest json: {e}")))?;
    let bytes = if value.get("manifests").is_some() {
        let index: ImageIndex = serde_json::from_value(value).map_err(|e| bad(format!("invalid image index: {e}")))?;
        let desc = index
            .manifests
            .iter()
            .find(|d| d.platform.as_ref().is_some_and(|p| p.os == "linux" && p.architecture == PLATFORM))
            .ok_or_else(|| bad(format!("no linux/{PLATFORM} image in its index")))?;
        let pinned = Reference { tag: None, digest: Some(Digest::parse(&desc.digest)?), ..reference.clone() };
        client.get_manifest(&pinned)?.bytes
    } else {
        bytes.to_vec()
    };
    serde_json::from_slice(&bytes).map_err(|e| bad(format!("invalid image manifest: {e}")))
}

/// `manifest.yaml` of an extension image (amd64), pulled by its pinned reference.
fn extension_manifest(client: &Client, reference: &Reference) -> Result<Manifest, PublishError> {
    let what = reference.to_string();
    let bad = |message: String| PublishError::ExtensionManifest { reference: what.clone(), message };
    let top = client.get_manifest(reference)?;
    let manifest = platform_manifest(client, reference, &top.bytes).map_err(|e| bad(format!("{e}")))?;
    let [layer] = manifest.layers.as_slice() else {
        return Err(bad(format!("expected one layer, found {}", manifest.layers.len())));
    };
    let tmp = tempfile::Builder::new()
        .prefix("talos-ext-find-")
        .tempdir()
        .map_err(|e| bad(format!("cannot create a temp dir: {e}")))?;
    let path = tmp.path().join("layer");
    client.get_blob_to_file(&reference.repository, &Digest::parse(&layer.digest)?, &path, &NoReporter)?;
    let file = File::open(&path).map_err(|e| bad(format!("cannot open the pulled layer: {e}")))?;
    let reader = decompress(BufReader::new(file)).map_err(|e| bad(format!("cannot read the layer: {e}")))?;
    let text = read_manifest_yaml(reader)
        .map_err(|e| bad(format!("cannot read the layer tar: {e}")))?
        .ok_or_else(|| bad("its layer has no manifest.yaml".into()))?;
    Manifest::parse(&text).map_err(|e| bad(format!("manifest.yaml: {e}")))
}
