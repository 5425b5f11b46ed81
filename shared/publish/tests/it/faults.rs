//! Publishing through a faulty network (every Nth connection dropped, 500s on uploads and
//! manifest PUTs): the result is byte-identical to a clean publish, and no tag ever names an
//! image with a missing manifest or blob.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use talos_ext_image::Layout;
use talos_ext_image::spec::{ImageIndex, ImageManifest};
use talos_ext_publish::{publish_extension, publish_index, read_index};
use talos_ext_registry::testing::{FailRule, FaultPlan, FaultProxy, RequestMatch, TestRegistry, fast_retry};
use talos_ext_registry::{Client, ClientConfig, Digest, NoReporter, Reference, RegistryError, RetryPolicy};

use crate::support::{NAME, TALOS, VERSION, index_meta, layout, prefix};

/// Problems seen while watching `tags`: a tag that resolves to something incomplete.
fn watch(registry: &TestRegistry, tags: Vec<Reference>, stop: Arc<AtomicBool>) -> thread::JoinHandle<Vec<String>> {
    let client = Client::new(registry.client_config());
    thread::spawn(move || {
        let mut problems = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            for tag in &tags {
                let repo = &tag.repository;
                let index = match client.get_manifest(tag) {
                    Err(RegistryError::NotFound { .. }) => continue,
                    Err(e) => {
                        problems.push(format!("{tag}: lookup failed: {e}"));
                        continue;
                    }
                    Ok(m) => m,
                };
                let index: ImageIndex = serde_json::from_slice(&index.bytes).unwrap();
                for desc in &index.manifests {
                    let pinned = Reference::by_digest(repo.clone(), Digest::parse(&desc.digest).unwrap());
                    match client.get_manifest(&pinned) {
                        Err(e) => problems.push(format!("{tag} names missing manifest {}: {e}", desc.digest)),
                        Ok(m) => {
                            let m: ImageManifest = serde_json::from_slice(&m.bytes).unwrap();
                            for blob in std::iter::once(&m.config).chain(&m.layers) {
                                let d = Digest::parse(&blob.digest).unwrap();
                                if client.blob_exists(repo, &d).ok().flatten() != Some(blob.size) {
                                    problems.push(format!("{tag} names missing blob {d}"));
                                }
                            }
                        }
                    }
                }
            }
            thread::sleep(Duration::from_millis(5));
        }
        problems
    })
}

#[test]
fn publish_survives_drops_and_500s_with_identical_digests() {
    let registry = TestRegistry::start().unwrap();
    let plan = FaultPlan {
        drop_every_nth_connection: Some(4),
        fail: vec![
            FailRule::status(RequestMatch::new(Some("PUT"), "/blobs/uploads/"), 2, 500),
            FailRule::status(RequestMatch::new(Some("PUT"), "/manifests/"), 3, 500),
            FailRule::status(RequestMatch::new(Some("GET"), "/manifests/"), 2, 500),
        ],
        tamper: Vec::new(),
    };
    let proxy = FaultProxy::start(registry.addr(), plan).unwrap();
    let retry = RetryPolicy { max_attempts: 10, ..fast_retry() };
    let faulty = Client::new(ClientConfig { retry, ..ClientConfig::default() });
    let through_proxy = prefix(&proxy.host());

    let direct = prefix(&registry.host());
    let tags = vec![direct.reference(NAME, VERSION).unwrap(), direct.index_reference(TALOS).unwrap()];
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = watch(&registry, tags, Arc::clone(&stop));

    let published = publish_extension(&faulty, layout(), &through_proxy, false, &NoReporter).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let index_layout = tmp.path().join("index");
    let index = publish_index(
        &faulty,
        &through_proxy,
        std::slice::from_ref(&published.entry),
        &index_meta(TALOS),
        &index_layout,
        &NoReporter,
    )
    .unwrap();
    stop.store(true, Ordering::SeqCst);
    let problems = watcher.join().unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(proxy.faults() > 0, "the proxy injected faults");
    assert!(published.summary.retries > 0);

    // Identical digests: the layout's, and the index image's of a clean write.
    assert_eq!(published.summary.index_digest.hex(), Layout::open(layout()).unwrap().index_digest());
    assert_eq!(index.index_digest.hex(), Layout::open(&index_layout).unwrap().index_digest());
    let clean = Client::new(registry.client_config());
    let head = clean.head_manifest(&direct.reference(NAME, VERSION).unwrap()).unwrap().unwrap();
    assert_eq!(head.digest.as_ref(), Some(&published.summary.index_digest));
    // The index image read back directly lists the line pushed through the proxy.
    let read = read_index(&clean, &direct, TALOS, None).unwrap();
    assert_eq!(read.files.lines, [published.summary.reference.to_string()]);
}

#[test]
fn a_publish_that_gives_up_leaves_no_tag() {
    let registry = TestRegistry::start().unwrap();
    // Every PUT of a manifest fails: blobs arrive, no tag may appear.
    let plan = FaultPlan {
        drop_every_nth_connection: None,
        fail: vec![FailRule::status(RequestMatch::new(Some("PUT"), "/manifests/"), 1, 500)],
        tamper: Vec::new(),
    };
    let proxy = FaultProxy::start(registry.addr(), plan).unwrap();
    let client = Client::new(ClientConfig { retry: fast_retry(), ..ClientConfig::default() });
    let err = publish_extension(&client, layout(), &prefix(&proxy.host()), false, &NoReporter).unwrap_err();
    assert!(err.to_string().contains("500"), "{err}");
    let clean = Client::new(registry.client_config());
    let tag = prefix(&registry.host()).reference(NAME, VERSION).unwrap();
    assert_eq!(clean.head_manifest(&tag).unwrap(), None);
}
