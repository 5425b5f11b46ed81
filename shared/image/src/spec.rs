//! The OCI documents this crate writes and reads: media types and annotation keys as consts, and
//! serde structs for descriptors, image configs, image manifests, image indexes and `oci-layout`.
//!
//! Field order in the structs *is* the JSON key order, and maps are `BTreeMap`, so
//! `serde_json::to_vec` yields the same bytes every time. Only the fields an extension image
//! needs are modelled: reading tolerates (ignores) unknown fields, and this module does not model
//! Docker schema2 documents, foreign layers, or any other part of the spec that Talos does not use.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `mediaType` of an OCI image index (`index.json`).
pub const MEDIA_TYPE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// `mediaType` of an OCI image manifest.
pub const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// `mediaType` of an OCI image config.
pub const MEDIA_TYPE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// `mediaType` of an uncompressed tar layer.
pub const MEDIA_TYPE_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// `mediaType` of a gzip-compressed tar layer.
pub const MEDIA_TYPE_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// `mediaType` of a zstd-compressed tar layer.
pub const MEDIA_TYPE_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

/// Annotation: human-readable title of the image (the extension name).
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";
/// Annotation: version of the packaged software (the image tag).
pub const ANNOTATION_VERSION: &str = "org.opencontainers.image.version";
/// Annotation: URL of the source code the image was built from.
pub const ANNOTATION_SOURCE: &str = "org.opencontainers.image.source";
/// Annotation: source control revision the image was built from.
pub const ANNOTATION_REVISION: &str = "org.opencontainers.image.revision";
/// Annotation: creation time, RFC 3339 (here always `SOURCE_DATE_EPOCH`).
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";
/// Annotation: human-readable description.
pub const ANNOTATION_DESCRIPTION: &str = "org.opencontainers.image.description";
/// Annotation on an `index.json` descriptor: the tag that `oci:<dir>:<tag>` selects.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The `oci-layout` file's content.
pub const OCI_LAYOUT_FILE: &str = "oci-layout";
/// The only `imageLayoutVersion` written and accepted.
pub const OCI_LAYOUT_VERSION: &str = "1.0.0";
/// The layout's index file.
pub const INDEX_FILE: &str = "index.json";
/// Where blobs live inside a layout.
pub const BLOBS_DIR: &str = "blobs/sha256";

/// An OCI content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The platform of a manifest listed in an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
}

/// An OCI image index (`index.json`, or a multi-arch image in a registry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An OCI image manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An OCI image config, reduced to what an extension image has: no runtime config, no history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    pub created: String,
    pub architecture: String,
    pub os: String,
    /// Always empty for extensions (they are never run as containers).
    #[serde(default)]
    pub config: BTreeMap<String, serde_json::Value>,
    pub rootfs: RootFs,
}

/// `rootfs` of an image config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `sha256:<hex>` of each *uncompressed* layer tar.
    pub diff_ids: Vec<String>,
}

/// The `oci-layout` marker file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OciLayout {
    pub image_layout_version: String,
}

/// Image timestamps are RFC 3339 UTC, formatted by the model (the SBOM uses the same).
pub use talos_ext_model::rfc3339_utc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_key_order_is_fixed() {
        let d = Descriptor {
            media_type: MEDIA_TYPE_MANIFEST.into(),
            digest: format!("sha256:{}", "0".repeat(64)),
            size: 7,
            platform: Some(Platform { architecture: "arm64".into(), os: "linux".into() }),
            annotations: BTreeMap::from([("b".into(), "2".into()), ("a".into(), "1".into())]),
        };
        let json = String::from_utf8(serde_json::to_vec(&d).unwrap()).unwrap();
        assert_eq!(
            json,
            format!(
                r#"{{"mediaType":"{MEDIA_TYPE_MANIFEST}","digest":"sha256:{}","size":7,"platform":{{"architecture":"arm64","os":"linux"}},"annotations":{{"a":"1","b":"2"}}}}"#,
                "0".repeat(64)
            )
        );
    }
}
