//! Fixtures: a realistic input (crun 1.29 from the upstream catalog, one source per arch), and
//! validation against the committed SPDX 2.3 JSON schema.

use std::sync::OnceLock;

use serde_json::Value;
use talos_ext_model::{Arch, Sha256, Sha512, Source};
use talos_ext_sbom::SbomInput;

pub fn source(name: &str, url: &str, sha256: &str, sha512: &str, arch: Option<Arch>) -> Source {
    Source {
        name: name.into(),
        url: url.into(),
        sha256: Sha256::parse(sha256).unwrap(),
        sha512: Sha512::parse(sha512).unwrap(),
        arch,
    }
}

/// crun as pinned in the upstream catalog (`reference/upstream-catalog.toml`).
pub fn crun() -> SbomInput {
    SbomInput {
        name: "crun".into(),
        version: "1.29".into(),
        upstream_version: "1.29".into(),
        license: Some("GPL-2.0-only AND LGPL-2.1-only".into()),
        cpes: vec!["cpe:2.3:a:crun_project:crun:1.29:*:*:*:*:*:*:*".into()],
        purl: Some("pkg:github/containers/crun@1.29".into()),
        sources: vec![
            source(
                "crun",
                "https://github.com/containers/crun/releases/download/1.29/crun-1.29-linux-amd64-disable-systemd",
                "56ef2cb654dfbb0e8e3662eae15b22772802ab990e03a1e00b7661e76630de1d",
                "46c9944bfcfa0dacd72bd4aa47949886807e3106fd4ad004e9137e356b836714f7b1803df1166123ee23e3869a5c55963397ea2619b25371822870c813551ca8",
                Some(Arch::Amd64),
            ),
            source(
                "crun",
                "https://github.com/containers/crun/releases/download/1.29/crun-1.29-linux-arm64-disable-systemd",
                "8e52da727eb076d451e6221804fc11f8bbf95109b5a3a711ce4fc3f6ae84fdb8",
                "0b3a968ac136cea28cd398eedd760350e615d4ea7fd3532fdb4f3d8071a1dbdea8358efdbc2bdbf6f7b2d5ccc600f13ea15fed1f2c3e18f615b88fd4d3735577",
                Some(Arch::Arm64),
            ),
        ],
        source_date_epoch: 1_700_000_000,
        namespace_base: "https://git.example.org/talos-ext/extensions".into(),
        components: vec![],
    }
}

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/spdx-schema-2.3.json");
        let schema: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        jsonschema::validator_for(&schema).expect("the SPDX 2.3 schema compiles")
    })
}

/// Schema violations of `doc`, one line each.
pub fn schema_errors(doc: &Value) -> Vec<String> {
    validator().iter_errors(doc).map(|e| format!("{}: {e}", e.instance_path)).collect()
}

/// Panics with every schema violation of `json`.
#[track_caller]
pub fn assert_valid(json: &[u8]) -> Value {
    let doc: Value = serde_json::from_slice(json).unwrap();
    let errors = schema_errors(&doc);
    assert!(errors.is_empty(), "not valid SPDX 2.3:\n{}\n{}", errors.join("\n"), String::from_utf8_lossy(json));
    doc
}
