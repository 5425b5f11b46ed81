//! Publishing the example and its index image: what the registry holds, what `skopeo` sees, the
//! SBOM inside, idempotent re-publishing, overridden-source refusal, basic auth.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use talos_ext_image::Layout;
use talos_ext_image::spec::{ImageIndex, ImageManifest};
use talos_ext_publish::{Description, PublishError, publish_extension, publish_index, read_index, write_index_layout};
use talos_ext_registry::testing::{TestAuth, TestRegistry};
use talos_ext_registry::{Client, ClientConfig, Credentials, NoReporter, RegistryError};

use crate::support::{NAME, TALOS, VERSION, client, index_meta, layout, overridden_layout, prefix, skopeo, staged};

#[test]
fn staged_extension_carries_a_valid_spdx_document() {
    for s in staged() {
        let path = s.rootfs(&talos_ext_sbom::spdx_path(NAME));
        assert_eq!(
            path.strip_prefix(&s.dir).unwrap().to_str(),
            Some("rootfs/usr/local/share/spdx/hello-world-service.spdx.json")
        );
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777, 0o644);
        for dir in ["usr/local/share", "usr/local/share/spdx"] {
            assert_eq!(std::fs::metadata(s.rootfs(dir)).unwrap().permissions().mode() & 0o7777, 0o755, "{dir}");
        }
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let schema_path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sbom/tests/data/spdx-schema-2.3.json");
        let schema: serde_json::Value = serde_json::from_slice(&std::fs::read(schema_path).unwrap()).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| format!("{}: {e}", e.instance_path)).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        let package = &doc["packages"][0];
        assert_eq!(package["name"], NAME);
        assert_eq!(package["licenseDeclared"], "MPL-2.0");
        let refs = package["externalRefs"].as_array().unwrap();
        assert!(refs.iter().any(|r| r["referenceLocator"] == "pkg:generic/hello-world-service@v1.0.0"), "{refs:?}");
    }
}

#[test]
fn publishes_the_example_and_an_index_image_skopeo_reads() {
    let registry = TestRegistry::start().unwrap();
    let client = client(&registry);
    let prefix = prefix(&registry.host());
    let published = publish_extension(&client, layout(), &prefix, false, &NoReporter).unwrap();
    let expected =
        format!("{}/talos/{NAME}:{VERSION}@sha256:{}", registry.host(), Layout::open(layout()).unwrap().index_digest());
    assert_eq!(published.summary.reference.to_string(), expected);
    assert_eq!(published.entry.author, "Talos extensions in Rust");
    assert_eq!(published.summary.manifests, 2);

    let tmp = tempfile::tempdir().unwrap();
    let index = publish_index(
        &client,
        &prefix,
        std::slice::from_ref(&published.entry),
        &index_meta(TALOS),
        &tmp.path().join("index"),
        &NoReporter,
    )
    .unwrap();

    // skopeo sees a multi-arch index with both platforms.
    let index_ref = format!("docker://{}/talos/extensions:{TALOS}", registry.host());
    let raw = skopeo(&["inspect", "--tls-verify=false", "--raw", &index_ref]);
    let parsed: ImageIndex = serde_json::from_str(&raw).unwrap();
    let arches: Vec<&str> =
        parsed.manifests.iter().map(|d| d.platform.as_ref().unwrap().architecture.as_str()).collect();
    assert_eq!(arches, ["amd64", "arm64"]);
    assert_eq!(talos_ext_registry::Digest::of(raw.as_bytes()), index.index_digest);
    // One layer, shared by both platforms.
    let layers: Vec<String> = parsed
        .manifests
        .iter()
        .map(|d| {
            let m = skopeo(&[
                "inspect",
                "--tls-verify=false",
                "--raw",
                &format!("docker://{}/talos/extensions@{}", registry.host(), d.digest),
            ]);
            let m: ImageManifest = serde_json::from_str(&m).unwrap();
            assert_eq!(m.layers.len(), 1);
            m.layers[0].digest.clone()
        })
        .collect();
    assert_eq!(layers[0], layers[1]);

    // image-digests names the digest the registry has; descriptions.yaml is keyed by the full line
    // and holds the manifest's author and description.
    let staged_manifest =
        talos_ext_model::Manifest::parse(&std::fs::read_to_string(staged()[0].dir.join("manifest.yaml")).unwrap())
            .unwrap();
    assert!(staged_manifest.metadata.description.contains("HTTP server"));
    let read = read_index(&client, &prefix, TALOS, None).unwrap();
    assert_eq!(read.files.lines, std::slice::from_ref(&expected));
    let head = client.head_manifest(&published.summary.reference).unwrap().unwrap();
    assert_eq!(head.digest.as_ref(), Some(&published.summary.index_digest));
    assert_eq!(
        read.files.descriptions,
        BTreeMap::from([(
            expected.clone(),
            Description {
                author: "Talos extensions in Rust".into(),
                description: staged_manifest.metadata.description.clone(),
            }
        )])
    );
    // skopeo's own view of the digest agrees.
    let inspect = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{}/talos/{NAME}:{VERSION}", registry.host()),
    ]);
    assert_eq!(talos_ext_registry::Digest::of(inspect.as_bytes()), published.summary.index_digest);
}

#[test]
fn index_image_is_deterministic_and_text_is_exact() {
    let registry_host = "127.0.0.1:5000";
    let p = prefix(registry_host);
    let digest = format!("sha256:{}", "ab".repeat(32));
    let entries = vec![
        talos_ext_publish::IndexEntry {
            reference: format!("{registry_host}/talos/zfs:2.3.3-v1.14.0@{digest}").parse().unwrap(),
            author: "Sidero Labs".into(),
            description: "ZFS: with a colon".into(),
        },
        talos_ext_publish::IndexEntry {
            reference: format!("{registry_host}/talos/btrfs:v1.14.0@{digest}").parse().unwrap(),
            author: "Enno Boland".into(),
            description: "Btrfs kernel module".into(),
        },
    ];
    assert_eq!(
        talos_ext_publish::image_digests(&entries),
        format!("{registry_host}/talos/btrfs:v1.14.0@{digest}\n{registry_host}/talos/zfs:2.3.3-v1.14.0@{digest}\n")
    );
    let yaml = talos_ext_publish::descriptions_yaml(&entries).unwrap();
    let parsed: BTreeMap<String, Description> = serde_norway::from_str(&yaml).unwrap();
    assert_eq!(parsed[&format!("{registry_host}/talos/zfs:2.3.3-v1.14.0@{digest}")].description, "ZFS: with a colon");
    let tmp = tempfile::tempdir().unwrap();
    let a = write_index_layout(&tmp.path().join("a"), &entries, &index_meta(TALOS)).unwrap();
    let mut reversed = entries.clone();
    reversed.reverse();
    let b = write_index_layout(&tmp.path().join("b"), &reversed, &index_meta(TALOS)).unwrap();
    assert_eq!(a.index_digest, b.index_digest, "order of entries does not matter");
    let _ = p;
}

#[test]
fn republishing_unchanged_uploads_no_blob() {
    let registry = TestRegistry::start().unwrap();
    let client = client(&registry);
    let prefix = prefix(&registry.host());
    let tmp = tempfile::tempdir().unwrap();
    let first = publish_extension(&client, layout(), &prefix, false, &NoReporter).unwrap();
    let index1 = publish_index(
        &client,
        &prefix,
        std::slice::from_ref(&first.entry),
        &index_meta(TALOS),
        &tmp.path().join("i"),
        &NoReporter,
    )
    .unwrap();
    assert!(first.summary.blobs_uploaded >= 4);
    let uploads = || {
        registry.count_requests(Some("POST"), "/blobs/uploads/")
            + registry.count_requests(Some("PUT"), "/blobs/uploads/")
    };
    // The access log is written after each response: wait for the publish's last request (the
    // index tag) to be logged before counting.
    let index_tag = format!("/extensions/manifests/{TALOS}");
    registry.wait_for_requests(Some("PUT"), &index_tag, 1);
    let before = uploads();
    let again = publish_extension(&client, layout(), &prefix, false, &NoReporter).unwrap();
    let index2 = publish_index(
        &client,
        &prefix,
        std::slice::from_ref(&again.entry),
        &index_meta(TALOS),
        &tmp.path().join("i"),
        &NoReporter,
    )
    .unwrap();
    registry.wait_for_requests(Some("PUT"), &index_tag, 2);
    assert_eq!(uploads(), before, "no blob upload on an unchanged re-publish");
    assert_eq!(again.summary.blobs_uploaded, 0);
    assert_eq!(index2.blobs_uploaded, 0);
    assert_eq!(again.summary.reference, first.summary.reference);
    assert_eq!(index2.index_digest, index1.index_digest);
}

#[test]
fn refuses_overridden_sources_unless_allowed() {
    let registry = TestRegistry::start().unwrap();
    let client = client(&registry);
    let prefix = prefix(&registry.host());
    let tmp = tempfile::tempdir().unwrap();
    let marked = overridden_layout(tmp.path());
    let err = publish_extension(&client, &marked, &prefix, false, &NoReporter).unwrap_err();
    assert!(matches!(err, PublishError::Overridden { .. }), "{err:?}");
    assert!(err.to_string().contains("--allow-overridden"), "{err}");
    assert_eq!(registry.count_requests(Some("PUT"), "/manifests/"), 0, "nothing was pushed");
    publish_extension(&client, &marked, &prefix, true, &NoReporter).unwrap();
}

#[test]
fn publishes_with_basic_auth_credentials() {
    let creds = Credentials::new("publisher", "s3cret-pass");
    let registry = TestRegistry::start_with(TestAuth::Basic(creds)).unwrap();
    let prefix = prefix(&registry.host());
    let anonymous =
        Client::new(ClientConfig { retry: talos_ext_registry::testing::fast_retry(), ..ClientConfig::default() });
    let err = publish_extension(&anonymous, layout(), &prefix, false, &NoReporter).unwrap_err();
    assert!(matches!(err, PublishError::Registry(RegistryError::Unauthorized { .. })), "{err:?}");
    let client = client(&registry);
    let published = publish_extension(&client, layout(), &prefix, false, &NoReporter).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    publish_index(
        &client,
        &prefix,
        std::slice::from_ref(&published.entry),
        &index_meta(TALOS),
        &tmp.path().join("i"),
        &NoReporter,
    )
    .unwrap();
    let read = read_index(&client, &prefix, TALOS, None).unwrap();
    assert_eq!(read.files.lines, [published.summary.reference.to_string()]);
}
