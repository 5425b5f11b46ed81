//! Pulling a whole image into an OCI image layout directory ([`Client::pull_layout`]), so that
//! what was pushed can be read back with `talos_ext_image::Layout` like a local build: the
//! exported tree (`cargo xtask export --from`), the release diff (`cargo xtask diff`).
//!
//! Every manifest and blob is verified against its digest as it arrives (see `pull`). An image
//! index is kept byte for byte as the layout's `index.json` (so its digest is the pulled
//! reference's), with every image it lists; a single image manifest gets an `index.json` of one
//! descriptor with the platform of its config. Nested indexes are refused (Talos does not follow
//! them). The layout is written into a temporary directory beside the destination and renamed
//! into place only when everything arrived.

use std::fs;
use std::path::Path;

use talos_ext_image::spec::{
    BLOBS_DIR, Descriptor, INDEX_FILE, ImageIndex, ImageManifest, MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST,
    OCI_LAYOUT_FILE, OCI_LAYOUT_VERSION, OciLayout, Platform,
};
use talos_ext_model::{Digest, Reference};

use crate::client::{Client, Op};
use crate::error::RegistryError;
use crate::push::MAX_MANIFEST_SIZE;
use crate::reporter::Reporter;

/// Media types of an index: OCI and Docker's manifest list.
const INDEX_TYPES: [&str; 2] = [MEDIA_TYPE_INDEX, "application/vnd.docker.distribution.manifest.list.v2+json"];

/// What [`Client::pull_layout`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledLayout {
    /// The digest of what the reference names (the index, or the single manifest).
    pub digest: Digest,
    /// The images pulled (one per manifest).
    pub images: usize,
    /// Bytes of layer blobs pulled.
    pub layer_bytes: u64,
}

impl Client {
    /// Pulls `reference` (by tag or digest) with every image it lists into an OCI layout at
    /// `dest`, which must not exist yet; see the module docs.
    pub fn pull_layout(
        &self,
        reference: &Reference,
        dest: &Path,
        reporter: &dyn Reporter,
    ) -> Result<PulledLayout, RegistryError> {
        let repo = &reference.repository;
        let op = Op::pull(repo, "layout pull");
        if fs::symlink_metadata(dest).is_ok() {
            return Err(RegistryError::Io {
                action: "pull a layout into",
                path: dest.to_path_buf(),
                error: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "it already exists"),
            });
        }
        let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(RegistryError::io("create directory", parent))?;
        let tmp = tempfile::Builder::new()
            .prefix(".pull-")
            .tempdir_in(parent)
            .map_err(RegistryError::io("create a temporary directory in", parent))?;
        let blobs = tmp.path().join(BLOBS_DIR);
        fs::create_dir_all(&blobs).map_err(RegistryError::io("create directory", &blobs))?;
        let write = |path: &Path, bytes: &[u8]| fs::write(path, bytes).map_err(RegistryError::io("write", path));

        let top = self.get_manifest(reference)?;
        let value: serde_json::Value = serde_json::from_slice(&top.bytes)
            .map_err(|e| self.protocol_error(&op, format!("the manifest of {reference} is not JSON: {e}")))?;
        let is_index = INDEX_TYPES.contains(&top.media_type.as_str()) || value.get("manifests").is_some();
        let (index_bytes, descriptors) = if is_index {
            let index: ImageIndex = serde_json::from_value(value)
                .map_err(|e| self.protocol_error(&op, format!("invalid image index {}: {e}", top.digest)))?;
            (top.bytes.clone(), index.manifests)
        } else {
            let manifest = self.parse_manifest(&op, &top.bytes, &top.digest)?;
            let platform = self.config_platform(reference, &manifest.config)?;
            let desc = Descriptor {
                media_type: if top.media_type.is_empty() { MEDIA_TYPE_MANIFEST.into() } else { top.media_type.clone() },
                digest: top.digest.to_string(),
                size: top.bytes.len() as u64,
                platform,
                annotations: Default::default(),
            };
            let index = ImageIndex {
                schema_version: 2,
                media_type: Some(MEDIA_TYPE_INDEX.into()),
                manifests: vec![desc.clone()],
                annotations: Default::default(),
            };
            let bytes = serde_json::to_vec(&index)
                .map_err(|e| self.protocol_error(&op, format!("cannot write index.json: {e}")))?;
            (bytes, vec![desc])
        };

        let mut layer_bytes = 0;
        for desc in &descriptors {
            if INDEX_TYPES.contains(&desc.media_type.as_str()) {
                return Err(self.protocol_error(
                    &op,
                    format!("{reference} lists the nested index {}, which is not supported", desc.digest),
                ));
            }
            let digest = Digest::parse(&desc.digest)?;
            let pinned = Reference { tag: None, digest: Some(digest.clone()), ..reference.clone() };
            let manifest_bytes =
                if digest == top.digest { top.bytes.clone() } else { self.get_manifest(&pinned)?.bytes };
            write(&blobs.join(digest.hex().as_str()), &manifest_bytes)?;
            let manifest = self.parse_manifest(&op, &manifest_bytes, &digest)?;
            let config_digest = Digest::parse(&manifest.config.digest)?;
            let config = self.get_blob(repo, &config_digest, MAX_MANIFEST_SIZE)?;
            write(&blobs.join(config_digest.hex().as_str()), &config)?;
            for layer in &manifest.layers {
                let layer_digest = Digest::parse(&layer.digest)?;
                let path = blobs.join(layer_digest.hex().as_str());
                if !path.exists() {
                    layer_bytes += self.get_blob_to_file(repo, &layer_digest, &path, reporter)?;
                }
            }
        }
        let marker = serde_json::to_vec(&OciLayout { image_layout_version: OCI_LAYOUT_VERSION.into() })
            .map_err(|e| self.protocol_error(&op, format!("cannot write oci-layout: {e}")))?;
        write(&tmp.path().join(OCI_LAYOUT_FILE), &marker)?;
        write(&tmp.path().join(INDEX_FILE), &index_bytes)?;
        let kept = tmp.keep();
        if let Err(error) = fs::rename(&kept, dest) {
            let _ = fs::remove_dir_all(&kept);
            return Err(RegistryError::Io { action: "move the pulled layout to", path: dest.to_path_buf(), error });
        }
        Ok(PulledLayout { digest: top.digest, images: descriptors.len(), layer_bytes })
    }

    fn parse_manifest(&self, op: &Op<'_>, bytes: &[u8], digest: &Digest) -> Result<ImageManifest, RegistryError> {
        serde_json::from_slice(bytes)
            .map_err(|e| self.protocol_error(op, format!("invalid image manifest {digest}: {e}")))
    }

    /// The platform an image's config names (`None` when it names none).
    fn config_platform(&self, reference: &Reference, config: &Descriptor) -> Result<Option<Platform>, RegistryError> {
        let digest = Digest::parse(&config.digest)?;
        let bytes = self.get_blob(&reference.repository, &digest, MAX_MANIFEST_SIZE)?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let field = |key: &str| value.get(key).and_then(|v| v.as_str()).map(String::from);
        Ok(match (field("os"), field("architecture")) {
            (Some(os), Some(architecture)) => Some(Platform { architecture, os }),
            _ => None,
        })
    }
}
