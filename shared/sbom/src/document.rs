//! The SPDX 2.3 document model (only what an extension SBOM uses) and its deterministic JSON.
//!
//! Field order in the structs is the JSON key order; output is pretty-printed with a one-space
//! indent like syft's, plus a final newline. Field docs name the SPDX 2.3 clause they fill.

use serde::Serialize;
use sha2::Digest;
use talos_ext_model::rfc3339_utc;

use crate::input::{SbomError, SbomInput};

const NOASSERTION: &str = "NOASSERTION";

/// An SPDX 2.3 document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Document {
    #[serde(rename = "spdxVersion")]
    pub spdx_version: &'static str,
    #[serde(rename = "dataLicense")]
    pub data_license: &'static str,
    #[serde(rename = "SPDXID")]
    pub spdx_id: &'static str,
    pub name: String,
    #[serde(rename = "documentNamespace")]
    pub document_namespace: String,
    #[serde(rename = "creationInfo")]
    pub creation_info: CreationInfo,
    pub packages: Vec<Package>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<File>,
    pub relationships: Vec<Relationship>,
}

/// `creationInfo` (clause 6.8, 6.9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreationInfo {
    pub creators: Vec<String>,
    pub created: String,
}

/// One package (clause 7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    pub name: String,
    #[serde(rename = "SPDXID")]
    pub spdx_id: String,
    #[serde(rename = "versionInfo")]
    pub version_info: String,
    pub supplier: &'static str,
    #[serde(rename = "downloadLocation")]
    pub download_location: String,
    #[serde(rename = "filesAnalyzed")]
    pub files_analyzed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checksums: Vec<Checksum>,
    #[serde(rename = "licenseConcluded")]
    pub license_concluded: &'static str,
    #[serde(rename = "licenseDeclared")]
    pub license_declared: String,
    #[serde(rename = "copyrightText")]
    pub copyright_text: &'static str,
    #[serde(rename = "externalRefs", skip_serializing_if = "Vec::is_empty")]
    pub external_refs: Vec<ExternalRef>,
    /// `APPLICATION` for a prebuilt binary (clause 7.24); unset otherwise.
    #[serde(rename = "primaryPackagePurpose", skip_serializing_if = "Option::is_none")]
    pub primary_package_purpose: Option<&'static str>,
}

/// A checksum (`algorithm` is `SHA256` or `SHA512`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checksum {
    pub algorithm: &'static str,
    #[serde(rename = "checksumValue")]
    pub checksum_value: String,
}

/// An external reference (clause 7.21): `SECURITY`/`cpe23Type` or `PACKAGE-MANAGER`/`purl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExternalRef {
    #[serde(rename = "referenceCategory")]
    pub reference_category: &'static str,
    #[serde(rename = "referenceType")]
    pub reference_type: &'static str,
    #[serde(rename = "referenceLocator")]
    pub reference_locator: String,
}

/// One pinned source, as bldr records it: the URL as file name, with its checksums (clause 8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct File {
    #[serde(rename = "fileName")]
    pub file_name: String,
    #[serde(rename = "SPDXID")]
    pub spdx_id: String,
    pub checksums: Vec<Checksum>,
    #[serde(rename = "licenseConcluded")]
    pub license_concluded: &'static str,
    #[serde(rename = "copyrightText")]
    pub copyright_text: &'static str,
    pub comment: String,
}

/// A relationship (clause 11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Relationship {
    #[serde(rename = "spdxElementId")]
    pub spdx_element_id: String,
    #[serde(rename = "relatedSpdxElement")]
    pub related_spdx_element: String,
    #[serde(rename = "relationshipType")]
    pub relationship_type: &'static str,
}

/// `SPDXRef-` ids allow letters, digits, `.` and `-` only.
fn id_part(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' }).collect()
}

fn checksums(source: &talos_ext_model::Source) -> Vec<Checksum> {
    vec![
        Checksum { algorithm: "SHA256", checksum_value: source.sha256.to_string() },
        Checksum { algorithm: "SHA512", checksum_value: source.sha512.to_string() },
    ]
}

/// What one package of the document is made of: the extension itself or a component.
struct PackageParts<'a> {
    name: &'a str,
    version: &'a str,
    license: Option<&'a str>,
    cpes: &'a [String],
    purl: Option<&'a str>,
    sources: &'a [talos_ext_model::Source],
    binary: Option<&'a crate::input::Binary>,
}

/// Adds one package: its `files[]` entries (one per source, with `GENERATED_FROM`
/// relationships) and the package itself; returns its SPDX id.
fn add_package(
    parts: &PackageParts,
    packages: &mut Vec<Package>,
    files: &mut Vec<File>,
    relationships: &mut Vec<Relationship>,
) -> String {
    let package_id = format!("SPDXRef-Package-{}", id_part(parts.name));
    for source in parts.sources {
        let arch = source.arch.map(|a| a.to_string());
        let digest = &source.sha256.as_str()[..12];
        let mut id = format!("SPDXRef-File-{}-{}", id_part(&source.name), digest);
        if let Some(a) = &arch {
            id = format!("{id}-{a}");
        }
        // Ids stay unique even if two sources sanitise to the same name and share content.
        let base = id.clone();
        let mut n = 1;
        while files.iter().any(|f: &File| f.spdx_id == id) {
            n += 1;
            id = format!("{base}-{n}");
        }
        let comment = match &arch {
            Some(a) => format!("source `{}` for {a}", source.name),
            None => format!("source `{}`", source.name),
        };
        relationships.push(Relationship {
            spdx_element_id: package_id.clone(),
            related_spdx_element: id.clone(),
            relationship_type: "GENERATED_FROM",
        });
        files.push(File {
            file_name: source.url.clone(),
            spdx_id: id,
            checksums: checksums(source),
            license_concluded: NOASSERTION,
            copyright_text: NOASSERTION,
            comment,
        });
    }
    // A single source is the package's download; with several, no one URL is.
    let (download_location, package_checksums) = match parts.sources {
        [only] => (only.url.clone(), checksums(only)),
        _ => (NOASSERTION.to_string(), Vec::new()),
    };
    let mut external_refs: Vec<ExternalRef> = parts
        .cpes
        .iter()
        .map(|cpe| ExternalRef {
            reference_category: "SECURITY",
            reference_type: "cpe23Type",
            reference_locator: cpe.clone(),
        })
        .collect();
    if let Some(purl) = parts.purl {
        external_refs.push(ExternalRef {
            reference_category: "PACKAGE-MANAGER",
            reference_type: "purl",
            reference_locator: purl.to_string(),
        });
    }
    let license_declared = match parts.license.map(str::trim) {
        Some(l) if !l.is_empty() => l.to_string(),
        _ => NOASSERTION.to_string(),
    };
    packages.push(Package {
        name: parts.name.to_string(),
        spdx_id: package_id.clone(),
        version_info: parts.version.to_string(),
        supplier: NOASSERTION,
        download_location,
        files_analyzed: false,
        checksums: package_checksums,
        license_concluded: NOASSERTION,
        license_declared,
        copyright_text: NOASSERTION,
        external_refs,
        primary_package_purpose: parts.binary.map(|_| "APPLICATION"),
    });
    if let Some(binary) = parts.binary {
        let id = format!("SPDXRef-File-{}-{}", id_part(&binary.path), &binary.sha256.as_str()[..12]);
        relationships.push(Relationship {
            spdx_element_id: package_id.clone(),
            related_spdx_element: id.clone(),
            relationship_type: "CONTAINS",
        });
        files.push(File {
            file_name: binary.path.clone(),
            spdx_id: id,
            checksums: vec![Checksum { algorithm: "SHA256", checksum_value: binary.sha256.to_string() }],
            license_concluded: NOASSERTION,
            copyright_text: NOASSERTION,
            comment: "prebuilt binary as installed".into(),
        });
    }
    package_id
}

/// The document for `input`: the extension's package, then one per component (in the given
/// order), each `CONTAINS`-related from the extension's package.
pub fn document(input: &SbomInput) -> Result<Document, SbomError> {
    input.check()?;
    let (mut packages, mut files, mut relationships) = (Vec::new(), Vec::new(), Vec::new());
    let own = PackageParts {
        name: &input.name,
        version: &input.upstream_version,
        license: input.license.as_deref(),
        cpes: &input.cpes,
        purl: input.purl.as_deref(),
        sources: &input.sources,
        binary: None,
    };
    let package_id = add_package(&own, &mut packages, &mut files, &mut relationships);
    relationships.insert(
        0,
        Relationship {
            spdx_element_id: "SPDXRef-DOCUMENT".into(),
            related_spdx_element: package_id.clone(),
            relationship_type: "DESCRIBES",
        },
    );
    for c in &input.components {
        let parts = PackageParts {
            name: &c.name,
            version: &c.version,
            license: c.license.as_deref(),
            cpes: &c.cpes,
            purl: c.purl.as_deref(),
            sources: &c.sources,
            binary: c.binary.as_ref(),
        };
        let id = add_package(&parts, &mut packages, &mut files, &mut relationships);
        relationships.push(Relationship {
            spdx_element_id: package_id.clone(),
            related_spdx_element: id,
            relationship_type: "CONTAINS",
        });
    }
    Ok(Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: format!("talos-ext-{}", input.name),
        document_namespace: namespace(input),
        creation_info: CreationInfo {
            creators: vec![format!("Tool: {}", crate::TOOL)],
            created: rfc3339_utc(input.source_date_epoch),
        },
        packages,
        files,
        relationships,
    })
}

/// `<base>/spdxdocs/<name>-<version>-<uuid>`, the UUIDv5 (URL namespace) of the SHA-256 of the
/// input's canonical JSON: the same input always gives the same namespace, any change a new one.
fn namespace(input: &SbomInput) -> String {
    // SbomInput is strings, numbers and checksum newtypes: serialising it cannot fail.
    let canonical = serde_json::to_vec(input).unwrap_or_default();
    let digest = sha2::Sha256::digest(&canonical);
    let uuid = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, &digest);
    format!(
        "{}/spdxdocs/{}-{}-{}",
        input.namespace_base.trim_end_matches('/'),
        id_part(&input.name),
        id_part(&input.version),
        uuid
    )
}

/// The document as deterministic pretty JSON with a final newline.
pub fn generate(input: &SbomInput) -> Result<Vec<u8>, SbomError> {
    let doc = document(input)?;
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    doc.serialize(&mut ser).map_err(|e| SbomError { field: "document", message: e.to_string() })?;
    out.push(b'\n');
    Ok(out)
}
