//! Pulling: manifests and indexes by tag and digest, blobs to memory and to files, tag lists,
//! and tampered bytes (in the registry's storage or on the wire) detected by digest.

use talos_ext_image::spec::{MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST};
use talos_ext_model::Arch;
use talos_ext_registry::testing::{FaultPlan, FaultProxy, RequestMatch, TestRegistry, free_port};
use talos_ext_registry::{Client, ClientConfig, Digest, NoReporter, PushOptions, Reference, RegistryError};

use crate::support::Fixture;

#[test]
fn pulls_what_was_pushed() {
    let registry = TestRegistry::start().unwrap();
    let fixture = Fixture::new("pull");
    let client = Client::new(registry.client_config());
    for tag in ["v2", "v1"] {
        let target = registry.reference(&format!("ext/hello:{tag}"));
        client.push_layout(&fixture.dir, &target, &PushOptions::default(), &NoReporter).unwrap();
    }
    let repo = registry.repository("ext/hello");
    assert_eq!(client.list_tags(&repo).unwrap(), ["v1", "v2"]);

    let by_tag = client.get_manifest(&registry.reference("ext/hello:v1")).unwrap();
    assert_eq!(by_tag.bytes, fixture.index_bytes());
    assert_eq!(by_tag.digest, fixture.index_digest());
    assert_eq!(by_tag.media_type, MEDIA_TYPE_INDEX);
    let by_digest = client.get_manifest(&Reference::by_digest(repo.clone(), fixture.index_digest())).unwrap();
    assert_eq!(by_digest, by_tag);
    let head = client.head_manifest(&registry.reference("ext/hello:v2")).unwrap().unwrap();
    assert_eq!(head.digest, Some(fixture.index_digest()));
    assert_eq!(head.size, Some(fixture.index_bytes().len() as u64));

    let arm64 = client.get_manifest(&Reference::by_digest(repo.clone(), fixture.manifest_digest(Arch::Arm64))).unwrap();
    assert_eq!(arm64.media_type, MEDIA_TYPE_MANIFEST);
    let layout = fixture.layout();
    assert_eq!(arm64.bytes, std::fs::read(layout.blob_path(layout.descriptor(Arch::Arm64).unwrap()).unwrap()).unwrap());

    let out = tempfile::tempdir().unwrap();
    for (digest, path) in fixture.blobs() {
        let expected = std::fs::read(&path).unwrap();
        assert_eq!(client.blob_exists(&repo, &digest).unwrap(), Some(expected.len() as u64));
        assert_eq!(client.get_blob(&repo, &digest, 1 << 30).unwrap(), expected);
        let dest = out.path().join(digest.hex().as_str());
        assert_eq!(client.get_blob_to_file(&repo, &digest, &dest, &NoReporter).unwrap(), expected.len() as u64);
        assert_eq!(std::fs::read(&dest).unwrap(), expected);
    }

    let (layer, _) = fixture.blobs().into_iter().nth(1).unwrap();
    let err = client.get_blob(&repo, &layer, 1000).unwrap_err();
    assert!(matches!(err, RegistryError::TooLarge { limit: 1000, .. }), "{err:?}");
    let missing = Digest::of(b"not there");
    assert_eq!(client.blob_exists(&repo, &missing).unwrap(), None);
    let err = client.get_blob(&repo, &missing, 1 << 20).unwrap_err();
    assert!(matches!(err, RegistryError::NotFound { what: "blob", .. }), "{err:?}");
    let err = client.get_manifest(&registry.reference("ext/hello:nope")).unwrap_err();
    assert!(matches!(err, RegistryError::NotFound { what: "manifest", .. }), "{err:?}");
    assert_eq!(err.to_string(), format!("manifest `nope` not found in {}/ext/hello", registry.host()));
    assert_eq!(client.head_manifest(&registry.reference("ext/hello:nope")).unwrap(), None);
}

#[test]
fn tampered_storage_is_detected() {
    let registry = TestRegistry::start().unwrap();
    let fixture = Fixture::new("tamper-storage");
    let client = Client::new(registry.client_config());
    client
        .push_layout(&fixture.dir, &registry.reference("ext/hello:v1"), &PushOptions::default(), &NoReporter)
        .unwrap();
    let repo = registry.repository("ext/hello");

    // Flip one byte in the middle of the stored layer; the size stays the same.
    let (layer, _) = fixture.blobs().into_iter().nth(1).unwrap();
    let data = registry.blob_data_path(&layer);
    let mut bytes = std::fs::read(&data).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&data, &bytes).unwrap();

    let err = client.get_blob(&repo, &layer, 1 << 30).unwrap_err();
    assert!(
        matches!(&err, RegistryError::DigestMismatch { what: "blob", expected, .. } if *expected == layer.to_string()),
        "{err:?}"
    );
    assert!(err.to_string().contains("does not match its digest"), "{err}");
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("layer");
    assert!(client.get_blob_to_file(&repo, &layer, &dest, &NoReporter).is_err());
    assert!(!dest.exists());
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0, "no temp file left");
}

#[test]
fn tampered_responses_are_detected() {
    let registry = TestRegistry::start().unwrap();
    let fixture = Fixture::new("tamper-wire");
    Client::new(registry.client_config())
        .push_layout(&fixture.dir, &registry.reference("ext/hello:v1"), &PushOptions::default(), &NoReporter)
        .unwrap();
    let plan = FaultPlan {
        tamper: vec![RequestMatch::new(Some("GET"), "/blobs/"), RequestMatch::new(Some("GET"), "/manifests/")],
        ..FaultPlan::default()
    };
    let proxy = FaultProxy::start(registry.addr(), plan).unwrap();
    let client =
        Client::new(ClientConfig { retry: talos_ext_registry::testing::fast_retry(), ..ClientConfig::default() });
    let repo = talos_ext_registry::Repository::new(&proxy.host(), "ext/hello").unwrap();

    for (digest, _) in fixture.blobs() {
        let err = client.get_blob(&repo, &digest, 1 << 30).unwrap_err();
        assert!(matches!(err, RegistryError::DigestMismatch { what: "blob", .. }), "{err:?}");
    }
    // By tag: checked against the announced Docker-Content-Digest; by digest: against the digest.
    let err = client.get_manifest(&Reference::tagged(repo.clone(), "v1").unwrap()).unwrap_err();
    assert!(matches!(err, RegistryError::DigestMismatch { what: "manifest", .. }), "{err:?}");
    let err =
        client.get_manifest(&Reference::by_digest(repo.clone(), fixture.manifest_digest(Arch::Amd64))).unwrap_err();
    assert!(matches!(err, RegistryError::DigestMismatch { what: "manifest", .. }), "{err:?}");
    assert_eq!(proxy.faults(), 6);
}

#[test]
fn unreachable_registry_is_a_transport_error_after_retries() {
    let addr = free_port().unwrap();
    let client =
        Client::new(ClientConfig { retry: talos_ext_registry::testing::fast_retry(), ..ClientConfig::default() });
    let err = client.ping(&addr.to_string()).unwrap_err();
    assert!(matches!(err, RegistryError::Transport { attempts: 5, .. }), "{err:?}");
    assert!(err.to_string().contains("hint: check that the registry is up"), "{err}");
    assert_eq!(client.retries(), 4);
}

#[test]
fn pulls_a_whole_layout_back_byte_for_byte() {
    let registry = TestRegistry::start().unwrap();
    let fixture = Fixture::new("pull-layout");
    let client = Client::new(registry.client_config());
    let target = registry.reference("ext/hello:v1");
    client.push_layout(&fixture.dir, &target, &PushOptions::default(), &NoReporter).unwrap();

    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("pulled");
    let pulled = client.pull_layout(&target, &dest, &NoReporter).unwrap();
    assert_eq!((pulled.digest.clone(), pulled.images), (fixture.index_digest(), 2));
    let layout = talos_ext_image::Layout::open(&dest).unwrap();
    layout.verify().unwrap();
    assert_eq!(std::fs::read(dest.join("index.json")).unwrap(), fixture.index_bytes());
    for (digest, path) in fixture.blobs() {
        assert_eq!(
            std::fs::read(dest.join("blobs/sha256").join(digest.hex().as_str())).unwrap(),
            std::fs::read(path).unwrap()
        );
    }
    // Nothing else beside it, and an existing destination is refused.
    let names: Vec<_> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["pulled"]);
    let err = client.pull_layout(&target, &dest, &NoReporter).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");

    // One platform's manifest by digest: a layout of that one image.
    let single = Reference::by_digest(target.repository.clone(), fixture.manifest_digest(Arch::Arm64));
    let one = out.path().join("one");
    let pulled = client.pull_layout(&single, &one, &NoReporter).unwrap();
    assert_eq!(pulled.images, 1);
    let layout = talos_ext_image::Layout::open(&one).unwrap();
    layout.verify().unwrap();
    assert_eq!(layout.platforms(), [Arch::Arm64]);

    // A missing tag leaves nothing behind.
    let err =
        client.pull_layout(&registry.reference("ext/hello:nope"), &out.path().join("nope"), &NoReporter).unwrap_err();
    assert!(matches!(err, RegistryError::NotFound { .. }), "{err:?}");
    let names: Vec<_> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
}
