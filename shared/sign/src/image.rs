//! The signature image cosign stores under `sha256-<hex>.sig`, and its verification.
//!
//! The JSON documents are go-containerregistry's, field for field and in its key order
//! (descriptors are `mediaType`, `size`, `digest`, `annotations`; the config is an empty image
//! config with one history entry at the zero time), so for a given payload and signature the
//! manifest built here is byte-identical to the one `cosign sign` 2.5 pushes. Pushing the blobs
//! and the manifest is the caller's job; a tag written here replaces any signatures already
//! stored there rather than adding a layer to them as cosign does.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use talos_ext_model::{Digest, Repository};

use crate::error::{SignatureCheck, VerifyError};
use crate::key::{PublicKey, SigningKey};
use crate::payload::{COSIGN_SIGNATURE_TYPE, Payload};

/// `mediaType` of the layer holding a simple-signing payload.
pub const MEDIA_TYPE_SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The layer annotation holding the base64 signature of the payload.
pub const ANNOTATION_SIGNATURE: &str = "dev.cosignproject.cosign/signature";
const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const MEDIA_TYPE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Go's zero `time.Time`, which cosign leaves in the config.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// A descriptor in go-containerregistry's key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: String,
    size: u64,
    digest: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    config: Descriptor,
    layers: Vec<Descriptor>,
}

#[derive(Serialize)]
struct Config<'a> {
    architecture: &'a str,
    created: &'a str,
    history: [History<'a>; 1],
    os: &'a str,
    rootfs: RootFs<'a>,
    config: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct History<'a> {
    created: &'a str,
}

#[derive(Serialize)]
struct RootFs<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    diff_ids: Vec<&'a str>,
}

/// A blob or manifest to push: its bytes, digest and media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub media_type: &'static str,
    /// `sha256:<hex>` of `bytes`.
    pub digest: String,
    pub bytes: Vec<u8>,
}

impl Blob {
    fn new(media_type: &'static str, bytes: Vec<u8>) -> Blob {
        Blob { media_type, digest: Digest::of(&bytes).to_string(), bytes }
    }
}

/// Everything to push for one signature: the two blobs, then the manifest under [`Self::tag`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureImage {
    /// `sha256-<hex>.sig`, in the signed image's repository.
    pub tag: String,
    /// The OCI image manifest (push last, under `tag`).
    pub manifest: Blob,
    /// The image config blob.
    pub config: Blob,
    /// The layer blob: the simple-signing payload.
    pub payload: Blob,
    /// The base64 DER signature, as in the layer annotation.
    pub signature: String,
}

/// The tag cosign stores the signatures of `digest` under: `sha256-<hex>.sig`.
pub fn signature_tag(digest: &Digest) -> String {
    format!("sha256-{}.sig", digest.hex())
}

/// Signs `<repository>@<digest>` and builds the signature image.
pub fn sign_image(key: &SigningKey, repository: &Repository, digest: &Digest) -> SignatureImage {
    let payload = Blob::new(MEDIA_TYPE_SIMPLE_SIGNING, Payload::new(repository, digest).to_bytes());
    let signature = STANDARD.encode(key.sign(&payload.bytes));
    build(payload, signature, digest)
}

/// The signature image for a payload and base64 signature made elsewhere.
fn build(payload: Blob, signature: String, digest: &Digest) -> SignatureImage {
    let config = Config {
        architecture: "",
        created: ZERO_TIME,
        history: [History { created: ZERO_TIME }],
        os: "",
        rootfs: RootFs { kind: "layers", diff_ids: vec![&payload.digest] },
        config: BTreeMap::new(),
    };
    // Serialising these structs of strings cannot fail.
    let config = Blob::new(MEDIA_TYPE_CONFIG, serde_json::to_vec(&config).unwrap_or_default());
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_MANIFEST.into()),
        config: Descriptor {
            media_type: MEDIA_TYPE_CONFIG.into(),
            size: config.bytes.len() as u64,
            digest: config.digest.clone(),
            annotations: BTreeMap::new(),
        },
        layers: vec![Descriptor {
            media_type: MEDIA_TYPE_SIMPLE_SIGNING.into(),
            size: payload.bytes.len() as u64,
            digest: payload.digest.clone(),
            annotations: BTreeMap::from([(ANNOTATION_SIGNATURE.to_string(), signature.clone())]),
        }],
    };
    let manifest = Blob::new(MEDIA_TYPE_MANIFEST, serde_json::to_vec(&manifest).unwrap_or_default());
    SignatureImage { tag: signature_tag(digest), manifest, config, payload, signature }
}

/// One simple-signing layer of a signature manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureLayer {
    /// `sha256:<hex>` of the payload blob.
    pub digest: String,
    pub size: u64,
    /// The base64 signature annotation, if present.
    pub signature: Option<String>,
}

/// A parsed signature manifest: which payload blobs to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureManifest {
    pub layers: Vec<SignatureLayer>,
}

impl SignatureManifest {
    /// Parses a signature manifest, keeping its simple-signing layers (there is one per signature).
    pub fn parse(bytes: &[u8]) -> Result<SignatureManifest, VerifyError> {
        let manifest: Manifest = serde_json::from_slice(bytes).map_err(|cause| VerifyError::ManifestJson { cause })?;
        if manifest.schema_version != 2 {
            return Err(VerifyError::NotASignatureManifest {
                reason: format!("schemaVersion is {}, expected 2", manifest.schema_version),
            });
        }
        let layers: Vec<SignatureLayer> = manifest
            .layers
            .into_iter()
            .filter(|l| l.media_type == MEDIA_TYPE_SIMPLE_SIGNING)
            .map(|mut l| SignatureLayer {
                signature: l.annotations.remove(ANNOTATION_SIGNATURE),
                digest: l.digest,
                size: l.size,
            })
            .collect();
        if layers.is_empty() {
            return Err(VerifyError::NotASignatureManifest {
                reason: format!("no layer of media type `{MEDIA_TYPE_SIMPLE_SIGNING}`"),
            });
        }
        Ok(SignatureManifest { layers })
    }
}

/// What a successful [`verify`] checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The manifest layer whose signature verified.
    pub layer_digest: String,
    /// The payload's `docker-reference`.
    pub docker_reference: String,
    /// The payload's `docker-manifest-digest` (equal to the expected digest).
    pub image_digest: Digest,
    /// The public key's id ([`PublicKey::key_id`]).
    pub key_id: String,
}

/// Verifies one signature: `payload` must be the blob of a simple-signing layer of `manifest`
/// (digest and size), that layer's signature annotation must verify over `payload` with `key`,
/// and the payload must be a cosign image signature of `digest` (and of `repository`, if given).
pub fn verify(
    manifest: &[u8],
    payload: &[u8],
    key: &PublicKey,
    digest: &Digest,
    repository: Option<&Repository>,
) -> Result<VerifiedSignature, VerifyError> {
    let parsed = SignatureManifest::parse(manifest)?;
    let payload_digest = Digest::of(payload).to_string();
    let layer =
        parsed.layers.iter().find(|l| l.digest == payload_digest).ok_or_else(|| VerifyError::PayloadNotInManifest {
            payload_digest: payload_digest.clone(),
            layers: parsed.layers.iter().map(|l| l.digest.clone()).collect(),
        })?;
    let actual_size = payload.len() as u64;
    if layer.size != actual_size {
        return Err(VerifyError::PayloadSizeMismatch {
            layer_digest: layer.digest.clone(),
            declared: layer.size,
            actual: actual_size,
        });
    }
    let signature = layer.signature.as_deref().ok_or_else(|| VerifyError::MissingSignature {
        layer_digest: layer.digest.clone(),
        annotation: ANNOTATION_SIGNATURE,
    })?;
    let der = STANDARD.decode(signature.trim()).map_err(|e| VerifyError::SignatureEncoding {
        layer_digest: layer.digest.clone(),
        reason: format!("base64: {e}"),
    })?;
    key.verify(payload, &der).map_err(|e| match e {
        SignatureCheck::Encoding(reason) => {
            VerifyError::SignatureEncoding { layer_digest: layer.digest.clone(), reason }
        }
        SignatureCheck::Mismatch => {
            VerifyError::SignatureMismatch { layer_digest: layer.digest.clone(), key_id: key.key_id() }
        }
    })?;
    let claim = Payload::from_bytes(payload).map_err(|cause| VerifyError::PayloadJson { cause })?;
    if claim.critical.kind != COSIGN_SIGNATURE_TYPE {
        return Err(VerifyError::PayloadType { found: claim.critical.kind, expected: COSIGN_SIGNATURE_TYPE });
    }
    let claimed = claim.critical.image.docker_manifest_digest;
    if claimed != digest.to_string() {
        return Err(VerifyError::ImageDigestMismatch { expected: digest.to_string(), actual: claimed });
    }
    let reference = claim.critical.identity.docker_reference;
    if let Some(repo) = repository
        && reference != repo.to_string()
    {
        return Err(VerifyError::ReferenceMismatch { expected: repo.to_string(), actual: reference });
    }
    Ok(VerifiedSignature {
        layer_digest: layer.digest.clone(),
        docker_reference: reference,
        image_digest: digest.clone(),
        key_id: key.key_id(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Given cosign's own payload and signature, the manifest and config are cosign's bytes.
    #[test]
    fn layout_matches_cosign() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cosign-signed");
        let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
        let manifest: Manifest = serde_json::from_slice(&read("manifest.json")).unwrap();
        let signature = manifest.layers[0].annotations[ANNOTATION_SIGNATURE].clone();
        let digest = Digest::parse(String::from_utf8(read("image-digest")).unwrap().trim()).unwrap();
        let image = build(Blob::new(MEDIA_TYPE_SIMPLE_SIGNING, read("payload.json")), signature, &digest);
        assert_eq!(String::from_utf8(image.config.bytes).unwrap(), String::from_utf8(read("config.json")).unwrap());
        assert_eq!(String::from_utf8(image.manifest.bytes).unwrap(), String::from_utf8(read("manifest.json")).unwrap());
    }
}
