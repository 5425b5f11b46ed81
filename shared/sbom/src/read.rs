//! Reading SBOM documents back, as Talos reads them: each `packages[]` entry is a component with
//! its `name` and `versionInfo` (what the release diff compares). Only those fields are read, so
//! documents from other tools (syft's, Talos' own) read the same way.

use serde::Deserialize;

/// One `packages[]` entry of an SPDX document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub struct PackageVersion {
    pub name: String,
    /// `versionInfo` (empty when the document has none).
    #[serde(rename = "versionInfo", default)]
    pub version: String,
}

/// A document that is not SPDX JSON with a `packages` list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an SPDX JSON document with `packages`: {message}")]
pub struct ReadError {
    pub message: String,
}

/// The components of an SPDX JSON document, sorted by name and version.
///
/// ```
/// let doc = br#"{"spdxVersion": "SPDX-2.3", "packages": [{"name": "zfs", "versionInfo": "2.3.4"}]}"#;
/// let components = talos_ext_sbom::components(doc).unwrap();
/// assert_eq!((components[0].name.as_str(), components[0].version.as_str()), ("zfs", "2.3.4"));
/// ```
pub fn components(document: &[u8]) -> Result<Vec<PackageVersion>, ReadError> {
    #[derive(Deserialize)]
    struct Doc {
        packages: Vec<PackageVersion>,
    }
    let doc: Doc = serde_json::from_slice(document).map_err(|e| ReadError { message: e.to_string() })?;
    let mut packages = doc.packages;
    packages.sort();
    Ok(packages)
}
