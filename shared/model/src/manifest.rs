//! Talos' `manifest.yaml`, in exactly Talos' schema (`pkg/machinery/extensions/metadata.go`).
//!
//! Every field is optional when parsing, as with Talos' non-strict Go decoder (missing fields are
//! empty strings, unknown keys are ignored); the checks live in the validator, which reports
//! unknown keys in strict mode against [`Manifest::SCHEMA`].

use serde::{Deserialize, Serialize};

use crate::yaml_keys::Schema;

/// The only manifest version Talos accepts.
pub const MANIFEST_VERSION: &str = "v1alpha1";

/// The whole `manifest.yaml` document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub metadata: Metadata,
}

/// `metadata:` of a manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub compatibility: Compatibility,
    #[serde(default, rename = "extraInfo", skip_serializing_if = "String::is_empty")]
    pub extra_info: String,
}

/// `metadata.compatibility`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compatibility {
    #[serde(default)]
    pub talos: TalosCompatibility,
}

/// `metadata.compatibility.talos`: a version range in Talos' semantics (see [`crate::constraint`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TalosCompatibility {
    #[serde(default)]
    pub version: String,
}

/// A `manifest.yaml` that is not YAML of the expected shape.
#[derive(Debug, thiserror::Error)]
#[error("manifest.yaml is not a valid manifest: {0}")]
pub struct ManifestError(serde_norway::Error);

// By hand, not `#[from]`: that would also make the YAML error the `source`, which the message
// already quotes, and error chains would print it twice.
impl From<serde_norway::Error> for ManifestError {
    fn from(e: serde_norway::Error) -> ManifestError {
        ManifestError(e)
    }
}

impl Manifest {
    /// The keys of Talos' `Manifest` (`pkg/machinery/extensions/metadata.go`), which are exactly
    /// this struct's fields. Talos ignores any other key.
    pub const SCHEMA: Schema = Schema::Map(&[
        ("version", Schema::Any),
        (
            "metadata",
            Schema::Map(&[
                ("name", Schema::Any),
                ("version", Schema::Any),
                ("author", Schema::Any),
                ("description", Schema::Any),
                ("compatibility", Schema::Map(&[("talos", Schema::Map(&[("version", Schema::Any)]))])),
                ("extraInfo", Schema::Any),
            ]),
        ),
    ]);

    /// Parses a manifest the way Talos does: an empty document is an empty manifest (whose
    /// version then fails validation), unknown keys are ignored.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        if text.trim().is_empty() {
            return Ok(Manifest::default());
        }
        Ok(serde_norway::from_str(text)?)
    }

    /// The YAML text written into images. Field order is fixed, so the bytes are deterministic.
    pub fn to_yaml(&self) -> String {
        serde_norway::to_string(self).expect("a manifest always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_tolerates_unknown_keys() {
        let m = Manifest::parse(
            "version: v1alpha1\nmetadata:\n  name: x\n  version: 1.0.0\n  unknown: 1\n  compatibility:\n    talos:\n      version: '>= v1.0.0'\n",
        )
        .unwrap();
        assert_eq!(m.metadata.compatibility.talos.version, ">= v1.0.0");
        assert_eq!(Manifest::parse(&m.to_yaml()).unwrap(), m);
        assert_eq!(Manifest::parse("").unwrap().version, "");
        assert!(Manifest::parse("version: [1").is_err());
    }

    #[test]
    fn schema_is_exactly_the_serialised_fields() {
        let full = Manifest {
            version: MANIFEST_VERSION.to_string(),
            metadata: Metadata {
                name: "x".into(),
                version: "1.0.0".into(),
                author: "a".into(),
                description: "d".into(),
                compatibility: Compatibility { talos: TalosCompatibility { version: ">= v1.0.0".into() } },
                extra_info: "e".into(),
            },
        };
        let yaml = full.to_yaml();
        assert_eq!(crate::yaml_keys::unknown_keys(&yaml, &Manifest::SCHEMA).unwrap(), []);
        let value: serde_norway::Value = serde_norway::from_str(&yaml).unwrap();
        assert_eq!(key_paths(&value, ""), Manifest::SCHEMA.paths());
    }

    #[test]
    fn misspelt_keys_are_unknown() {
        let text =
            "version: v1alpha1\nmetadata:\n  name: x\n  compatability:\n    talos:\n      version: '>= v1.0.0'\n";
        let keys = crate::yaml_keys::unknown_keys(text, &Manifest::SCHEMA).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!((keys[0].path.as_str(), keys[0].position), ("metadata.compatability", Some((4, 3))));
        // Talos' own decoding still ignores it.
        assert_eq!(Manifest::parse(text).unwrap().metadata.compatibility.talos.version, "");
    }

    /// Every key path of a value, in document order (`a`, `a.b`).
    fn key_paths(value: &serde_norway::Value, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let serde_norway::Value::Mapping(map) = value {
            for (key, value) in map {
                let key = key.as_str().unwrap();
                let path = if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") };
                out.push(path.clone());
                out.extend(key_paths(value, &path));
            }
        }
        out
    }
}
