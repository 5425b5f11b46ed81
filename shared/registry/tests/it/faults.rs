//! Pushing through a faulty network: dropped connections and injected 500s are retried, the
//! result is byte-identical, and at no moment does the tag name an incomplete image.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use talos_ext_image::spec::{ImageIndex, ImageManifest};
use talos_ext_registry::testing::{
    Action, FailRule, Fault, FaultPlan, FaultProxy, RequestMatch, TestRegistry, fast_retry,
};
use talos_ext_registry::{
    Client, ClientConfig, Digest, NoReporter, PushOptions, Reference, RegistryError, RetryPolicy,
};

use crate::support::{Fixture, docker_ref, skopeo};

fn faulty_plan() -> FaultPlan {
    FaultPlan {
        drop_every_nth_connection: Some(3),
        fail: vec![
            FailRule { on: RequestMatch::new(Some("PUT"), "/blobs/uploads/"), every_nth: 2, fault: Fault::Status(500) },
            FailRule { on: RequestMatch::new(Some("PUT"), "/manifests/"), every_nth: 2, fault: Fault::Status(500) },
        ],
        tamper: Vec::new(),
    }
}

/// Checks, from another client straight to the registry, that whenever `tag` resolves, every
/// manifest and blob it references exists. Returns (times the tag resolved, problems seen).
fn watch(registry: &TestRegistry, tag: Reference, stop: Arc<AtomicBool>) -> thread::JoinHandle<(usize, Vec<String>)> {
    let client = Client::new(registry.client_config());
    let repo = tag.repository.clone();
    thread::spawn(move || {
        let mut resolved = 0;
        let problems = Mutex::new(Vec::new());
        let problem = |p: String| problems.lock().unwrap().push(p);
        while !stop.load(Ordering::SeqCst) {
            match client.get_manifest(&tag) {
                Err(RegistryError::NotFound { .. }) => {}
                Err(e) => problem(format!("tag lookup failed: {e}")),
                Ok(index) => {
                    resolved += 1;
                    let index: ImageIndex = serde_json::from_slice(&index.bytes).unwrap();
                    for desc in &index.manifests {
                        let digest = Digest::parse(&desc.digest).unwrap();
                        match client.get_manifest(&Reference::by_digest(repo.clone(), digest)) {
                            Err(e) => problem(format!("tag points at missing manifest {}: {e}", desc.digest)),
                            Ok(m) => {
                                let m: ImageManifest = serde_json::from_slice(&m.bytes).unwrap();
                                for blob in std::iter::once(&m.config).chain(&m.layers) {
                                    let d = Digest::parse(&blob.digest).unwrap();
                                    if client.blob_exists(&repo, &d).ok().flatten() != Some(blob.size) {
                                        problem(format!("tag points at missing blob {d}"));
                                    }
                                }
                            }
                        }
                    }
                }
            }
            thread::sleep(Duration::from_millis(5));
        }
        (resolved, problems.into_inner().unwrap())
    })
}

#[test]
fn push_survives_drops_and_500s_without_exposing_a_partial_image() {
    let registry = TestRegistry::start().unwrap();
    let proxy = FaultProxy::start(registry.addr(), faulty_plan()).unwrap();
    let fixture = Fixture::new("faults");
    let retry = RetryPolicy { max_attempts: 8, ..fast_retry() };
    let client = Client::new(ClientConfig { retry, ..ClientConfig::default() });
    let target: Reference = format!("{}/ext/hello:v1", proxy.host()).parse().unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let watcher = watch(&registry, registry.reference("ext/hello:v1"), Arc::clone(&stop));
    let summary = client.push_layout(&fixture.dir, &target, &PushOptions::default(), &NoReporter).unwrap();
    // Keep watching a little after the tag appeared.
    thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::SeqCst);
    let (resolved, problems) = watcher.join().unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(resolved > 0, "the watcher never saw the tag");

    assert_eq!(summary.index_digest, fixture.index_digest());
    assert_eq!(summary.blobs_uploaded, 4);
    assert!(summary.retries > 0 && proxy.faults() > 0, "no fault was injected: {:#?}", proxy.requests());
    let records = proxy.requests();
    assert!(records.iter().any(|r| r.action == Action::Dropped));
    assert!(records.iter().any(|r| r.action == Action::Failed(500) && r.path.contains("/blobs/uploads/")));
    assert!(records.iter().any(|r| r.action == Action::Failed(500) && r.path.contains("/manifests/")));

    // Every attempt to set the tag came after the last blob and manifest that made it in.
    let last_content = records
        .iter()
        .rposition(|r| {
            r.method == "PUT"
                && r.action == Action::Forwarded(201)
                && (r.path.contains("/blobs/uploads/") || r.path.contains("/manifests/sha256:"))
        })
        .unwrap();
    let first_tag = records.iter().position(|r| r.method == "PUT" && r.path.ends_with("/manifests/v1")).unwrap();
    assert!(first_tag > last_content, "{records:#?}");

    let raw = skopeo(&["inspect", "--raw", "--tls-verify=false", &docker_ref(&registry.reference("ext/hello:v1"))]);
    assert_eq!(raw, fixture.index_bytes());
    // Also pulling back through the faulty proxy works and verifies.
    let pulled = client.get_manifest(&target).unwrap();
    assert_eq!(pulled.bytes, fixture.index_bytes());
    for (digest, path) in fixture.blobs() {
        assert_eq!(client.get_blob(&target.repository, &digest, 1 << 30).unwrap(), std::fs::read(path).unwrap());
    }
}

#[test]
fn push_gives_up_before_the_tag_when_the_registry_keeps_failing() {
    let registry = TestRegistry::start().unwrap();
    let plan = FaultPlan {
        fail: vec![FailRule {
            on: RequestMatch::new(Some("PUT"), "/manifests/v1"),
            every_nth: 1,
            fault: Fault::Status(503),
        }],
        ..FaultPlan::default()
    };
    let proxy = FaultProxy::start(registry.addr(), plan).unwrap();
    let fixture = Fixture::sized("gives-up", 16 << 10);
    let client = Client::new(ClientConfig { retry: fast_retry(), ..ClientConfig::default() });
    let target: Reference = format!("{}/ext/hello:v1", proxy.host()).parse().unwrap();

    let err = client.push_layout(&fixture.dir, &target, &PushOptions::default(), &NoReporter).unwrap_err();
    assert!(
        matches!(&err, RegistryError::Status { status: 503, attempts: 5, operation: "manifest push", repo, .. } if repo == "ext/hello"),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("UNKNOWN: injected 503 by the test proxy"), "{message}");
    assert!(message.ends_with("hint: the registry failed on its side; try again later"), "{message}");
    assert_eq!(proxy.count(Some("PUT"), "/manifests/v1"), 5);

    // The content is there, the tag is not.
    let direct = Client::new(registry.client_config());
    assert_eq!(direct.head_manifest(&registry.reference("ext/hello:v1")).unwrap(), None);
    let repo = registry.repository("ext/hello");
    for (digest, _) in fixture.blobs() {
        assert!(direct.blob_exists(&repo, &digest).unwrap().is_some());
    }

    // Once the registry recovers, a re-run finishes the job without uploading anything again.
    proxy.set_plan(FaultPlan::default());
    let summary = client.push_layout(&fixture.dir, &target, &PushOptions::default(), &NoReporter).unwrap();
    assert_eq!((summary.blobs_uploaded, summary.blobs_skipped), (0, 4));
    assert_eq!(direct.get_manifest(&registry.reference("ext/hello:v1")).unwrap().bytes, fixture.index_bytes());
}

#[test]
fn stalled_and_dropped_uploads_restart_from_a_new_session() {
    let registry = TestRegistry::start().unwrap();
    let plan = FaultPlan {
        fail: vec![
            // Upload PUTs 3 and 6 hang until the client's timeout; PUT 4 is cut off.
            FailRule {
                on: RequestMatch::new(Some("PUT"), "/blobs/uploads/"),
                every_nth: 3,
                fault: Fault::Stall(Duration::from_secs(6)),
            },
            FailRule { on: RequestMatch::new(Some("PUT"), "/blobs/uploads/"), every_nth: 4, fault: Fault::Drop },
        ],
        ..FaultPlan::default()
    };
    let proxy = FaultProxy::start(registry.addr(), plan).unwrap();
    let fixture = Fixture::new("stall");
    let client = Client::new(ClientConfig {
        retry: fast_retry(),
        read_timeout: Duration::from_secs(1),
        ..ClientConfig::default()
    });
    let target: Reference = format!("{}/ext/hello:v1", proxy.host()).parse().unwrap();
    // The client abandons a stalled answer after its read timeout and retries: three retries (two
    // stalls and one drop, counted below) prove it, whatever the machine's load; a client that
    // waited the stalls out would have retried only the drop.
    let summary = client.push_layout(&fixture.dir, &target, &PushOptions::default(), &NoReporter).unwrap();
    assert_eq!(summary.index_digest, fixture.index_digest());
    assert_eq!(summary.retries, 3);
    let records = proxy.requests();
    assert_eq!(records.iter().filter(|r| r.action == Action::Stalled).count(), 2, "{records:#?}");
    assert_eq!(records.iter().filter(|r| r.action == Action::Dropped).count(), 1, "{records:#?}");
    // Each failed attempt opened a new upload session: 4 blobs + 3 restarts.
    assert_eq!(proxy.count(Some("POST"), "/blobs/uploads/"), 7);
    assert_eq!(
        Client::new(registry.client_config()).get_manifest(&registry.reference("ext/hello:v1")).unwrap().bytes,
        fixture.index_bytes()
    );
}
