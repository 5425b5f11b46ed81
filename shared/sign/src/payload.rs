//! The simple-signing payload: the JSON claim that a signature signs.
//!
//! Field order and serialisation match sigstore's Go `payload.SimpleContainerImage` marshalled by
//! `encoding/json` (compact, no trailing newline, `"optional":null` when there are no
//! annotations), so a payload written here is byte-identical to `cosign sign`'s. Go's HTML
//! escaping of `<`, `>` and `&` never applies: [`Repository`] and [`Digest`] cannot contain them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use talos_ext_model::{Digest, Repository};

/// `critical.type` of every cosign image signature payload.
pub const COSIGN_SIGNATURE_TYPE: &str = "cosign container image signature";

/// A simple-signing payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    pub critical: Critical,
    /// Free-form annotations (`cosign sign -a k=v`); `None` serialises as `null`.
    #[serde(default)]
    pub optional: Option<BTreeMap<String, serde_json::Value>>,
}

/// `critical`: what the signature is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Critical {
    pub identity: Identity,
    pub image: Image,
    #[serde(rename = "type")]
    pub kind: String,
}

/// `critical.identity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The repository, without tag or digest.
    #[serde(rename = "docker-reference")]
    pub docker_reference: String,
}

/// `critical.image`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// `sha256:<hex>` of the signed manifest or index.
    #[serde(rename = "docker-manifest-digest")]
    pub docker_manifest_digest: String,
}

impl Payload {
    /// The payload `cosign sign` writes for `<repository>@<digest>` with no annotations.
    pub fn new(repository: &Repository, digest: &Digest) -> Payload {
        Payload {
            critical: Critical {
                identity: Identity { docker_reference: repository.to_string() },
                image: Image { docker_manifest_digest: digest.to_string() },
                kind: COSIGN_SIGNATURE_TYPE.to_string(),
            },
            optional: None,
        }
    }

    /// The exact bytes that are signed and stored as the layer blob.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising plain structs of strings into a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses payload bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Payload, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_match_cosign() {
        // Written by `cosign sign` 2.5.0 (see tests/data/cosign-signed/payload.json).
        let want = r#"{"critical":{"identity":{"docker-reference":"127.0.0.1:5123/t/hello"},"image":{"docker-manifest-digest":"sha256:9b8f5f5d29b98a1c54a8e389591d790dc4167e1c772bf652c6824c306fc3f370"},"type":"cosign container image signature"},"optional":null}"#;
        let repo = Repository::parse("127.0.0.1:5123/t/hello").unwrap();
        let digest = Digest::parse("sha256:9b8f5f5d29b98a1c54a8e389591d790dc4167e1c772bf652c6824c306fc3f370").unwrap();
        let payload = Payload::new(&repo, &digest);
        assert_eq!(String::from_utf8(payload.to_bytes()).unwrap(), want);
        assert_eq!(Payload::from_bytes(want.as_bytes()).unwrap(), payload);
    }
}
