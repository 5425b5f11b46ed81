//! Concurrent fetches of one source, from threads and from processes (the test binary re-runs
//! itself as a child), transfer it once and all see the complete file.

use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use talos_ext_fetch::{NoReporter, fetch};
use talos_ext_model::{Sha256, Sha512, Source};
use talos_ext_process::Command;

use crate::server::{Reply, Server};
use crate::{bytes, config, source_for};

const CHILD_ENV: &str = "TALOS_EXT_FETCH_TEST_CHILD";

#[test]
fn concurrent_threads_download_once() {
    let data = bytes(500_000, 20);
    let body = data.clone();
    let server = Server::start(move |_, _| Reply::Slow(body.clone(), Duration::from_millis(300)));
    let cache = tempfile::tempdir().unwrap();
    let cfg = Arc::new(config(cache.path()));
    let source = Arc::new(source_for(&server.url("/big"), &data));
    let barrier = Arc::new(Barrier::new(3));
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let (cfg, source, barrier) = (cfg.clone(), source.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                let path = fetch(&cfg, "hello", &source, &NoReporter).unwrap();
                (path.clone(), fs::read(path).unwrap())
            })
        })
        .collect();
    for t in threads {
        let (path, content) = t.join().unwrap();
        assert_eq!(path, cfg.cache_path(&source.sha256));
        assert!(content == data, "incomplete or wrong content");
    }
    assert_eq!(server.connections(), 1);
}

#[test]
fn concurrent_processes_download_once() {
    let data = bytes(500_000, 21);
    let body = data.clone();
    let server = Server::start(move |_, _| Reply::Slow(body.clone(), Duration::from_millis(500)));
    let cache = tempfile::tempdir().unwrap();
    let source = source_for(&server.url("/big"), &data);
    let spec = format!("{}|{}|{}|{}", cache.path().display(), source.url, source.sha256, source.sha512);
    let exe = std::env::current_exe().unwrap();
    let child = Command::new(&exe)
        .args(["--exact", "concurrency::child_process_fetch", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &spec);
    // Two processes at once, each waited for by its own thread.
    let children: Vec<_> = (0..2)
        .map(|_| {
            let child = child.clone();
            thread::spawn(move || child.output_unchecked().unwrap())
        })
        .collect();
    let want = config(cache.path()).cache_path(&source.sha256);
    for child in children {
        let out = child.join().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "child failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains(&format!("FETCHED {} {}", want.display(), data.len())), "{stdout}");
    }
    assert_eq!(server.connections(), 1);
}

/// Does nothing unless run as a child of `concurrent_processes_download_once`.
#[test]
fn child_process_fetch() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let parts: Vec<&str> = spec.split('|').collect();
    let [cache, url, sha256, sha512] = parts[..] else { panic!("bad {CHILD_ENV}: {spec}") };
    let source = Source {
        name: "blob".into(),
        url: url.into(),
        sha256: Sha256::parse(sha256).unwrap(),
        sha512: Sha512::parse(sha512).unwrap(),
        arch: None,
    };
    let path = fetch(&config(&PathBuf::from(cache)), "hello", &source, &NoReporter).unwrap();
    let len = fs::read(&path).unwrap().len();
    println!("FETCHED {} {len}", path.display());
}
