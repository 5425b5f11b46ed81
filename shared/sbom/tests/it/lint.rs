//! The SBOM lint: complete recipes pass, incomplete ones get one message per problem, and
//! `sbom_exempt` needs a reason.

use talos_ext_model::ExtensionMeta;
use talos_ext_sbom::{SbomFields, lint};

fn fields(license: Option<&str>, cpes: &[&str], purl: Option<&str>, exempt: Option<&str>) -> SbomFields {
    SbomFields {
        license: license.map(Into::into),
        cpes: cpes.iter().map(|c| c.to_string()).collect(),
        purl: purl.map(Into::into),
        sbom_exempt: exempt.map(Into::into),
    }
}

const CPE: &str = "cpe:2.3:a:crun_project:crun:1.29:*:*:*:*:*:*:*";
const PURL: &str = "pkg:github/containers/crun@1.29";

#[test]
fn complete_recipes_pass() {
    assert_eq!(lint(&fields(Some("GPL-2.0-only"), &[CPE], None, None)), Vec::<String>::new());
    assert_eq!(lint(&fields(Some("Apache-2.0"), &[], Some(PURL), None)), Vec::<String>::new());
    assert_eq!(
        lint(&fields(Some("GPL-2.0-or-later WITH Linux-syscall-note"), &[CPE], Some(PURL), None)),
        Vec::<String>::new()
    );
    assert_eq!(lint(&fields(None, &[], None, Some("configuration files only"))), Vec::<String>::new());
}

#[test]
fn missing_license_and_identifier() {
    let problems = lint(&fields(None, &[], None, None));
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0].starts_with("license: missing"), "{problems:#?}");
    assert!(problems[1].starts_with("cpes, purl: declare at least one"), "{problems:#?}");
    assert!(problems.iter().all(|p| p.contains("sbom_exempt")), "each names the way out: {problems:#?}");

    let problems = lint(&fields(Some("  "), &[CPE], None, None));
    assert_eq!(problems.len(), 1);
    assert!(problems[0].starts_with("license: missing"), "{problems:#?}");

    let problems = lint(&fields(Some("MIT"), &[], Some(""), None));
    assert_eq!(problems.len(), 1);
    assert!(problems[0].starts_with("cpes, purl:"), "{problems:#?}");
}

#[test]
fn malformed_values() {
    let problems = lint(&fields(Some("NOASSERTION"), &["cpe:/a:x:y:1", CPE], Some("github/x/y"), None));
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[0].starts_with("license: `NOASSERTION` is not an SPDX license expression"), "{problems:#?}");
    assert!(problems[1].starts_with("cpes[0]: `cpe:/a:x:y:1` is not a CPE 2.3 formatted string"), "{problems:#?}");
    assert!(problems[2].starts_with("purl: `github/x/y` is not a package url"), "{problems:#?}");
    let problems = lint(&fields(Some("GPL-2.0, MIT"), &[CPE], None, None));
    assert_eq!(problems.len(), 1, "{problems:#?}");
}

#[test]
fn exemptions() {
    let problems = lint(&fields(None, &[], None, Some(" ")));
    assert_eq!(problems, ["sbom_exempt: give the reason this extension has no license or cpe/purl"]);
    let problems = lint(&fields(Some("MIT"), &[CPE], None, Some("no reason any more")));
    assert_eq!(problems, ["sbom_exempt: license and cpe/purl are declared: drop `sbom_exempt`"]);
    // An exempt recipe's declared values are still checked.
    let problems = lint(&fields(None, &["nope"], None, Some("config only")));
    assert_eq!(problems.len(), 1);
    assert!(problems[0].starts_with("cpes[0]:"), "{problems:#?}");
}

#[test]
fn from_extension_metadata() {
    let base = r#"
category = "examples"
tier = "core"
kind = "config-only"
author = "someone"
description = "does things"
arches = ["amd64"]
version = { format = "talos" }
"#;
    let meta = ExtensionMeta::from_toml_str("x", base).unwrap();
    assert_eq!(lint(&SbomFields::from_meta(&meta)).len(), 2);
    let meta = ExtensionMeta::from_toml_str("x", &format!("{base}sbom_exempt = \"udev rules only\"\n")).unwrap();
    assert!(lint(&SbomFields::from_meta(&meta)).is_empty());
    let meta = ExtensionMeta::from_toml_str("x", &format!("{base}license = \"MIT\"\npurl = \"{PURL}\"\n")).unwrap();
    assert!(lint(&SbomFields::from_meta(&meta)).is_empty());
}
