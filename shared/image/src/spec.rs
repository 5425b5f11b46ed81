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

/// Formats seconds since the Unix epoch as RFC 3339 UTC, e.g. `2024-01-02T03:04:05Z`.
pub fn rfc3339_utc(epoch: u64) -> String {
    let days = epoch / 86_400;
    let secs = epoch % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Howard Hinnant's `civil_from_days`, for days since 1970-01-01 (non-negative only).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_utc(4_102_444_799), "2099-12-31T23:59:59Z");
    }

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
