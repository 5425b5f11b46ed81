//! Pushing layouts: exact bytes as skopeo sees them, no re-uploads, cross-repository mounts.

use talos_ext_model::Arch;
use talos_ext_registry::testing::{Action, FaultPlan, FaultProxy, TestRegistry};
use talos_ext_registry::{Client, ClientConfig, Digest, NoReporter, PushOptions, Reporter};

use crate::support::{Fixture, docker_ref, sha256_file, skopeo};

#[test]
fn pushed_index_is_byte_exact_for_skopeo() {
    let registry = TestRegistry::start().unwrap();
    let fixture = Fixture::new("exact");
    let client = Client::new(registry.client_config());
    let target = registry.reference("ext/hello:v1.0.0");
    let summary = client.push_layout(&fixture.dir, &target, &PushOptions::default(), &NoReporter).unwrap();

    assert_eq!(summary.index_digest, fixture.index_digest());
    assert_eq!(summary.reference.to_string(), format!("{target}@{}", fixture.index_digest()));
    assert_eq!((summary.manifests, summary.blobs_uploaded, summary.blobs_skipped, summary.blobs_mounted), (2, 4, 0, 0));
    let blob_bytes: u64 = fixture.blobs().iter().map(|(_, p)| std::fs::metadata(p).unwrap().len()).sum();
    assert_eq!(summary.bytes_uploaded, blob_bytes);

    // The registry serves exactly the index.json bytes.
    let raw = skopeo(&["inspect", "--raw", "--tls-verify=false", &docker_ref(&target)]);
    assert_eq!(raw, fixture.index_bytes());
    assert_eq!(Digest::of(&raw), fixture.index_digest());

    // Platform resolution picks the arm64 manifest.
    let inspect = skopeo(&["inspect", "--override-arch", "arm64", "--tls-verify=false", &docker_ref(&target)]);
    let inspect: serde_json::Value = serde_json::from_slice(&inspect).unwrap();
    // skopeo 1.9 reports the digest of what the tag names (the index) and the arm64 image's layers.
    assert_eq!(inspect["Digest"], fixture.index_digest().to_string());
    assert_eq!(inspect["Architecture"], "arm64");
    let arm64 = fixture.layout().manifest(Arch::Arm64).unwrap();
    assert_eq!(inspect["Layers"], serde_json::json!([arm64.layers[0].digest]));
    let amd64 = fixture.layout().manifest(Arch::Amd64).unwrap();
    assert_ne!(arm64.layers[0].digest, amd64.layers[0].digest);

    // Copying the arm64 image alone takes the arm64 manifest, unchanged.
    let single = tempfile::tempdir().unwrap();
    let dest = format!("oci:{}:x", single.path().join("arm64").display());
    skopeo(&["copy", "--override-arch", "arm64", "--src-tls-verify=false", &docker_ref(&target), &dest]);
    let copied_index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(single.path().join("arm64/index.json")).unwrap()).unwrap();
    assert_eq!(copied_index["manifests"][0]["digest"], fixture.manifest_digest(Arch::Arm64).to_string());

    // A full copy back into an OCI layout keeps every digest and byte.
    let out = tempfile::tempdir().unwrap();
    let dest = format!("oci:{}:x", out.path().join("copy").display());
    skopeo(&["copy", "--all", "--preserve-digests", "--src-tls-verify=false", &docker_ref(&target), &dest]);
    let copied_index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("copy/index.json")).unwrap()).unwrap();
    assert_eq!(copied_index["manifests"][0]["digest"], fixture.index_digest().to_string());
    let copied_blob = |d: &Digest| out.path().join("copy/blobs/sha256").join(d.hex().as_str());
    assert_eq!(std::fs::read(copied_blob(&fixture.index_digest())).unwrap(), fixture.index_bytes());
    for arch in Arch::ALL {
        let d = fixture.manifest_digest(arch);
        assert_eq!(sha256_file(&copied_blob(&d)), d);
    }
    for (digest, path) in fixture.blobs() {
        assert_eq!(std::fs::read(copied_blob(&digest)).unwrap(), std::fs::read(path).unwrap(), "{digest}");
    }
}

#[test]
fn repush_uploads_nothing_and_tags_last() {
    let registry = TestRegistry::start().unwrap();
    let proxy = FaultProxy::start(registry.addr(), FaultPlan::default()).unwrap();
    let fixture = Fixture::new("repush");
    let client =
        Client::new(ClientConfig { retry: talos_ext_registry::testing::fast_retry(), ..ClientConfig::default() });
    let target: talos_ext_registry::Reference = format!("{}/ext/hello:v1", proxy.host()).parse().unwrap();

    let first = client.push_layout(&fixture.dir, &target, &PushOptions::default(), &NoReporter).unwrap();
    assert_eq!(first.blobs_uploaded, 4);
    // Order: every blob PUT, then the manifests by digest, then the tag, last.
    let puts: Vec<String> = proxy.requests().into_iter().filter(|r| r.method == "PUT").map(|r| r.path).collect();
    assert_eq!(puts.len(), 7, "{puts:#?}");
    assert!(puts[..4].iter().all(|p| p.contains("/blobs/uploads/")), "{puts:#?}");
    for arch in Arch::ALL {
        let by_digest = format!("/manifests/{}", fixture.manifest_digest(arch));
        assert!(puts[4..6].iter().any(|p| p.ends_with(&by_digest)), "{puts:#?}");
    }
    assert!(puts[6].ends_with("/v2/ext/hello/manifests/v1"), "{puts:#?}");

    proxy.clear_requests();
    let second = client.push_layout(&fixture.dir, &target, &PushOptions::default(), &NoReporter).unwrap();
    assert_eq!(second.index_digest, first.index_digest);
    assert_eq!((second.blobs_uploaded, second.blobs_skipped, second.bytes_uploaded), (0, 4, 0));
    assert_eq!(proxy.count(Some("POST"), "/blobs/uploads/"), 0);
    assert_eq!(proxy.count(Some("PUT"), "/blobs/uploads/"), 0);
    assert_eq!(proxy.count(Some("HEAD"), "/blobs/sha256:"), 4);
    assert!(proxy.requests().iter().all(|r| matches!(r.action, Action::Forwarded(_))));

    // The registry's own access log agrees: 4 blob uploads in all, from the first push.
    registry.wait_for_requests(Some("PUT"), "/blobs/uploads/", 4);
    assert_eq!(registry.count_requests(Some("PUT"), "/blobs/uploads/"), 4);
    assert_eq!(registry.count_requests(Some("POST"), "/blobs/uploads/"), 4);
}

#[test]
fn mounts_blobs_from_another_repository() {
    let registry = TestRegistry::start().unwrap();
    let proxy = FaultProxy::start(registry.addr(), FaultPlan::default()).unwrap();
    let fixture = Fixture::new("mount");
    let client =
        Client::new(ClientConfig { retry: talos_ext_registry::testing::fast_retry(), ..ClientConfig::default() });
    let first: talos_ext_registry::Reference = format!("{}/ext/hello:v1", proxy.host()).parse().unwrap();
    client.push_layout(&fixture.dir, &first, &PushOptions::default(), &NoReporter).unwrap();

    proxy.clear_requests();
    let second: talos_ext_registry::Reference = format!("{}/ext/hello-copy:v1", proxy.host()).parse().unwrap();
    let options = PushOptions { mount_from: vec!["ext/missing".into(), "ext/hello".into()] };
    let summary = client.push_layout(&fixture.dir, &second, &options, &NoReporter).unwrap();
    assert_eq!((summary.blobs_uploaded, summary.blobs_mounted, summary.blobs_skipped), (0, 4, 0));
    assert_eq!(
        summary.bytes_mounted,
        fixture.blobs().iter().map(|(_, p)| std::fs::metadata(p).unwrap().len()).sum::<u64>()
    );
    assert_eq!(proxy.count(Some("POST"), "&from=ext%2Fhello"), 4);
    assert_eq!(proxy.count(Some("PUT"), "/blobs/uploads/"), 0);

    // The mounted blobs are really there.
    let direct = Client::new(registry.client_config());
    for (digest, path) in fixture.blobs() {
        let bytes = direct.get_blob(&registry.repository("ext/hello-copy"), &digest, 1 << 30).unwrap();
        assert_eq!(bytes, std::fs::read(path).unwrap());
    }
}

#[derive(Default)]
struct CountingReporter {
    started: std::sync::atomic::AtomicUsize,
    finished: std::sync::atomic::AtomicUsize,
    bytes: std::sync::atomic::AtomicU64,
}

impl Reporter for CountingReporter {
    fn start(&self, _name: &str, _total: Option<u64>) -> usize {
        self.started.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    }
    fn progress(&self, _id: usize, bytes: u64) {
        self.bytes.fetch_add(bytes, std::sync::atomic::Ordering::SeqCst);
    }
    fn finish(&self, _id: usize) {
        self.finished.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn reports_progress() {
    let registry = TestRegistry::start().unwrap();
    let fixture = Fixture::new("progress");
    let client = Client::new(registry.client_config());
    let reporter = CountingReporter::default();
    let summary =
        client.push_layout(&fixture.dir, &registry.reference("ext/p:v1"), &PushOptions::default(), &reporter).unwrap();
    use std::sync::atomic::Ordering::SeqCst;
    // 4 blobs, 2 manifests, 1 index.
    assert_eq!(reporter.started.load(SeqCst), 7);
    assert_eq!(reporter.finished.load(SeqCst), 7);
    let manifests: u64 = fixture.index_bytes().len() as u64
        + Arch::ALL
            .iter()
            .map(|a| fixture.summary.images.iter().find(|i| i.arch == *a).unwrap().manifest_size)
            .sum::<u64>();
    assert_eq!(reporter.bytes.load(SeqCst), summary.bytes_uploaded + manifests);
}
