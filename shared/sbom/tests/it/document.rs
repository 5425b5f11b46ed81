//! Generated documents: schema-valid, Talos-readable, deterministic, and derived from the model.

use serde_json::Value;
use talos_ext_model::{Arch, ExtensionMeta};
use talos_ext_sbom::{SbomInput, TOOL, generate};

use crate::support::{assert_valid, crun, schema_errors, source};

#[test]
fn validates_against_the_spdx_2_3_schema() {
    assert_valid(&generate(&crun()).unwrap());
    // Minimal input: no sources, no identifiers, no license.
    let bare = SbomInput { license: None, cpes: vec![], purl: None, sources: vec![], ..crun() };
    assert_valid(&generate(&bare).unwrap());
    // One source: it becomes the package's download location and checksums.
    let one = SbomInput { sources: crun().sources[..1].to_vec(), ..crun() };
    let doc = assert_valid(&generate(&one).unwrap());
    assert_eq!(doc["packages"][0]["downloadLocation"], one.sources[0].url.as_str());
    assert_eq!(doc["packages"][0]["checksums"][1]["algorithm"], "SHA512");
}

#[test]
fn the_validator_is_not_vacuous() {
    let mut doc: Value = serde_json::from_slice(&generate(&crun()).unwrap()).unwrap();
    doc["packages"][0]["externalRefs"][0]["referenceCategory"] = Value::from("VULNERABILITY");
    doc["packages"][0].as_object_mut().unwrap().remove("downloadLocation");
    doc["packages"][0]["filesAnalyzed"] = Value::from("no");
    let errors = schema_errors(&doc);
    assert_eq!(errors.len(), 3, "{errors:#?}");
}

#[test]
fn carries_what_talos_reads() {
    let doc = assert_valid(&generate(&crun()).unwrap());
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["dataLicense"], "CC0-1.0");
    assert_eq!(doc["SPDXID"], "SPDXRef-DOCUMENT");
    assert_eq!(doc["creationInfo"]["created"], "2023-11-14T22:13:20Z");
    assert_eq!(doc["creationInfo"]["creators"][0], format!("Tool: {TOOL}"));
    assert!(TOOL.starts_with("talos-ext-"));
    let packages = doc["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 1, "one package per extension: Talos makes an SBOMItem of each");
    let p = &packages[0];
    assert_eq!(p["name"], "crun");
    assert_eq!(p["SPDXID"], "SPDXRef-Package-crun");
    assert_eq!(p["versionInfo"], "1.29");
    assert_eq!(p["licenseConcluded"], "NOASSERTION");
    assert_eq!(p["licenseDeclared"], "GPL-2.0-only AND LGPL-2.1-only");
    assert_eq!(p["copyrightText"], "NOASSERTION");
    assert_eq!(p["downloadLocation"], "NOASSERTION", "two sources: no single download location");
    assert_eq!(p["filesAnalyzed"], false);
    let refs: Vec<(String, String, String)> = p["externalRefs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_string();
            (s("referenceCategory"), s("referenceType"), s("referenceLocator"))
        })
        .collect();
    assert_eq!(
        refs,
        [
            ("SECURITY".into(), "cpe23Type".into(), "cpe:2.3:a:crun_project:crun:1.29:*:*:*:*:*:*:*".into()),
            ("PACKAGE-MANAGER".into(), "purl".into(), "pkg:github/containers/crun@1.29".into()),
        ]
    );
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["fileName"], crun().sources[0].url.as_str());
    assert_eq!(files[0]["checksums"][0]["algorithm"], "SHA256");
    assert_eq!(files[0]["checksums"][0]["checksumValue"], crun().sources[0].sha256.as_str());
    assert_eq!(files[1]["checksums"][1]["checksumValue"], crun().sources[1].sha512.as_str());
    assert_ne!(files[0]["SPDXID"], files[1]["SPDXID"]);
    let rels = doc["relationships"].as_array().unwrap();
    assert_eq!(rels[0]["spdxElementId"], "SPDXRef-DOCUMENT");
    assert_eq!(rels[0]["relationshipType"], "DESCRIBES");
    assert_eq!(rels[0]["relatedSpdxElement"], "SPDXRef-Package-crun");
    assert!(rels[1..].iter().all(|r| r["relationshipType"] == "GENERATED_FROM"));
}

#[test]
fn deterministic_bytes_and_namespace() {
    let a = generate(&crun()).unwrap();
    assert_eq!(a, generate(&crun()).unwrap());
    let text = String::from_utf8(a.clone()).unwrap();
    assert!(text.starts_with("{\n \"spdxVersion\": \"SPDX-2.3\",\n \"dataLicense\": \"CC0-1.0\",\n"), "{text}");
    assert!(text.ends_with("}\n"));
    let ns = |bytes: &[u8]| {
        let doc: Value = serde_json::from_slice(bytes).unwrap();
        doc["documentNamespace"].as_str().unwrap().to_string()
    };
    let base = ns(&a);
    assert!(base.starts_with("https://git.example.org/talos-ext/extensions/spdxdocs/crun-1.29-"), "{base}");
    let uuid = base.rsplit("1.29-").next().unwrap();
    assert_eq!(uuid.len(), 36, "{uuid}");
    assert_eq!(&uuid[14..15], "5", "a version 5 uuid: {uuid}");
    let variants = [
        SbomInput { upstream_version: "1.30".into(), ..crun() },
        SbomInput { license: Some("MIT".into()), ..crun() },
        SbomInput { cpes: vec![], ..crun() },
        SbomInput { sources: crun().sources[..1].to_vec(), ..crun() },
        SbomInput { source_date_epoch: 1, ..crun() },
    ];
    for v in variants {
        assert_ne!(ns(&generate(&v).unwrap()), base, "{v:?}");
    }
}

#[test]
fn rejects_unusable_input() {
    for (input, field) in [
        (SbomInput { name: " ".into(), ..crun() }, "name"),
        (SbomInput { version: String::new(), ..crun() }, "version"),
        (SbomInput { namespace_base: "git.example.org/x".into(), ..crun() }, "namespace_base"),
        (SbomInput { namespace_base: "https://x/#frag".into(), ..crun() }, "namespace_base"),
    ] {
        let err = generate(&input).unwrap_err();
        assert_eq!(err.field, field, "{err}");
    }
}

#[test]
fn from_extension_metadata() {
    let z = "0".repeat(64);
    let f = "f".repeat(128);
    let toml = format!(
        r#"
category = "runtime"
tier = "extra"
kind = "c-build"
author = "someone"
description = "a thing"
arches = ["amd64", "arm64"]
version = {{ format = "upstream-talos", upstream = "2.4.3" }}
license = "Apache-2.0"
cpes = ["cpe:2.3:a:example:thing:2.4.3:*:*:*:*:*:*:*"]
[[sources]]
name = "thing"
url = "https://example.org/thing-2.4.3.tar.gz"
sha256 = "{z}"
sha512 = "{f}"
[[sources]]
name = "fw"
url = "https://example.org/fw-arm64.bin"
sha256 = "{z}"
sha512 = "{f}"
arch = "arm64"
"#
    );
    let meta = ExtensionMeta::from_toml_str("thing", &toml).unwrap();
    let base = "https://git.example.org/talos-ext/extensions";
    let amd64 = SbomInput::from_meta(&meta, "v1.14.0", Some(Arch::Amd64), 0, base);
    assert_eq!(amd64.version, "2.4.3-v1.14.0");
    assert_eq!(amd64.upstream_version, "2.4.3");
    assert_eq!(amd64.license.as_deref(), Some("Apache-2.0"));
    assert_eq!(amd64.sources.len(), 1);
    assert_eq!(SbomInput::from_meta(&meta, "v1.14.0", Some(Arch::Arm64), 0, base).sources.len(), 2);
    assert_eq!(SbomInput::from_meta(&meta, "v1.14.0", None, 0, base).sources.len(), 2);
    let doc = assert_valid(&generate(&amd64).unwrap());
    assert_eq!(doc["packages"][0]["versionInfo"], "2.4.3");
    assert_eq!(doc["packages"][0]["downloadLocation"], "https://example.org/thing-2.4.3.tar.gz");

    // In-tree modules have no upstream version of their own: the Talos tag stands in.
    let talos = ExtensionMeta::from_toml_str(
        "mods",
        &toml.replace(r#"{ format = "upstream-talos", upstream = "2.4.3" }"#, r#"{ format = "talos" }"#),
    )
    .unwrap();
    assert_eq!(SbomInput::from_meta(&talos, "v1.14.0", None, 0, base).upstream_version, "v1.14.0");
}

#[test]
fn odd_source_names_make_valid_ids() {
    let z = "a".repeat(64);
    let f = "b".repeat(128);
    let input = SbomInput {
        sources: vec![source("a_b", "https://x/1", &z, &f, None), source("a-b", "https://x/2", &z, &f, None)],
        ..crun()
    };
    let doc = assert_valid(&generate(&input).unwrap());
    let files = doc["files"].as_array().unwrap();
    assert_ne!(files[0]["SPDXID"], files[1]["SPDXID"]);
    assert_strict(&doc);
    assert_strict(&assert_valid(&generate(&crun()).unwrap()));
}

/// What the SPDX 2.3 specification requires beyond the 2.3 JSON schema (the later 2.3.1 schema
/// checks these): `SPDXRef-[A-Za-z0-9.-]+` ids and `YYYY-MM-DDThh:mm:ssZ` times.
#[track_caller]
fn assert_strict(doc: &Value) {
    let id_ok = |id: &str| {
        id.strip_prefix("SPDXRef-").is_some_and(|rest| {
            !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        })
    };
    let mut ids = vec![doc["SPDXID"].as_str().unwrap()];
    for list in ["packages", "files"] {
        ids.extend(doc[list].as_array().unwrap().iter().map(|e| e["SPDXID"].as_str().unwrap()));
    }
    for id in &ids {
        assert!(id_ok(id), "bad SPDX id `{id}`");
    }
    for r in doc["relationships"].as_array().unwrap() {
        for k in ["spdxElementId", "relatedSpdxElement"] {
            assert!(ids.contains(&r[k].as_str().unwrap()), "relationship names an unknown element: {r}");
        }
    }
    let created = doc["creationInfo"]["created"].as_str().unwrap();
    let shape: String = created.chars().map(|c| if c.is_ascii_digit() { '0' } else { c }).collect();
    assert_eq!(shape, "0000-00-00T00:00:00Z", "{created}");
}

/// An internal library built into the extension is a package of its own, with its sources, that
/// the extension's package contains; Talos lists every package as an SBOM item.
#[test]
fn components_are_contained_packages_with_their_sources() {
    let z = "c".repeat(64);
    let f = "d".repeat(128);
    let libevent = talos_ext_sbom::Component {
        name: "libevent".into(),
        version: "2.1.13".into(),
        license: Some("BSD-3-Clause".into()),
        cpes: vec!["cpe:2.3:a:libevent_project:libevent:2.1.13:*:*:*:*:*:*:*".into()],
        purl: None,
        sources: vec![source("libevent", "https://x/libevent-2.1.13-stable.tar.gz", &z, &f, None)],
        binary: None,
    };
    let input = SbomInput { components: vec![libevent.clone()], ..crun() };
    let doc = assert_valid(&generate(&input).unwrap());
    assert_strict(&doc);
    let packages = doc["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 2);
    assert_eq!(packages[1]["name"], "libevent");
    assert_eq!(packages[1]["versionInfo"], "2.1.13");
    assert_eq!(packages[1]["licenseDeclared"], "BSD-3-Clause");
    assert_eq!(packages[1]["downloadLocation"], "https://x/libevent-2.1.13-stable.tar.gz");
    assert_eq!(packages[1]["externalRefs"][0]["referenceLocator"], libevent.cpes[0].as_str());
    assert_eq!(doc["files"].as_array().unwrap().len(), 3, "crun's two sources and libevent's");
    let rels = doc["relationships"].as_array().unwrap();
    assert_eq!(rels[0]["relationshipType"], "DESCRIBES", "the document describes the extension only");
    let contains: Vec<_> = rels.iter().filter(|r| r["relationshipType"] == "CONTAINS").collect();
    assert_eq!(contains.len(), 1);
    assert_eq!(contains[0]["spdxElementId"], "SPDXRef-Package-crun");
    assert_eq!(contains[0]["relatedSpdxElement"], "SPDXRef-Package-libevent");
    // A component changes the document's namespace; no components leaves it as it was.
    let ns = |i: &SbomInput| assert_valid(&generate(i).unwrap())["documentNamespace"].clone();
    assert_ne!(ns(&input), ns(&crun()));

    let bad = [
        SbomInput { components: vec![talos_ext_sbom::Component { version: " ".into(), ..libevent.clone() }], ..crun() },
        SbomInput { components: vec![libevent.clone(), libevent.clone()], ..crun() },
        SbomInput { components: vec![talos_ext_sbom::Component { name: "crun".into(), ..libevent }], ..crun() },
    ];
    for input in bad {
        assert_eq!(generate(&input).unwrap_err().field, "components");
    }
}

/// A prebuilt payload is a package of purpose `APPLICATION`, named by its path on the node, that
/// the extension's package contains and that itself contains the installed file with its sha256.
#[test]
fn prebuilt_binaries_are_application_packages_containing_their_file() {
    let z = "c".repeat(64);
    let f = "d".repeat(128);
    let installed = "e".repeat(64);
    let binary = talos_ext_sbom::Component {
        name: "/usr/local/bin/crun".into(),
        version: "1.29".into(),
        license: Some("GPL-2.0-or-later".into()),
        cpes: vec![],
        purl: None,
        sources: vec![source("crun", "https://x/crun-1.29-linux-amd64", &z, &f, Some(Arch::Amd64))],
        binary: Some(talos_ext_sbom::Binary {
            path: "/usr/local/bin/crun".into(),
            sha256: talos_ext_model::Sha256::parse(&installed).unwrap(),
        }),
    };
    let doc = assert_valid(&generate(&SbomInput { components: vec![binary], ..crun() }).unwrap());
    assert_strict(&doc);
    let packages = doc["packages"].as_array().unwrap();
    assert_eq!(packages[1]["name"], "/usr/local/bin/crun");
    assert_eq!(packages[1]["primaryPackagePurpose"], "APPLICATION");
    assert!(packages[0].get("primaryPackagePurpose").is_none(), "the extension itself has no purpose set");
    let files = doc["files"].as_array().unwrap();
    let file = files.iter().find(|f| f["fileName"] == "/usr/local/bin/crun").expect("the installed file");
    assert_eq!(file["checksums"][0]["checksumValue"], installed.as_str());
    let rels = doc["relationships"].as_array().unwrap();
    let id = packages[1]["SPDXID"].as_str().unwrap();
    assert!(
        rels.iter().any(|r| r["spdxElementId"] == id
            && r["relatedSpdxElement"] == file["SPDXID"]
            && r["relationshipType"] == "CONTAINS"),
        "{rels:?}"
    );
}
