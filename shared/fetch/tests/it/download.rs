//! Upstream downloads: the cache path, cache hits, checksum mismatches in either sum, retries
//! on 5xx and broken bodies, no retries on 404, redirects.

use std::fs;
use std::net::TcpListener;

use talos_ext_fetch::{FetchError, NoReporter, fetch};
use talos_ext_model::{Sha256, Sha512};

use crate::server::{Reply, Server};
use crate::{Recorder, Transfer, assert_no_source_or_temp, bytes, config, source_for};

#[test]
fn success_lands_in_cache_and_second_fetch_opens_no_connection() {
    let data = bytes(200_000, 1);
    let server = Server::serving(data.clone());
    let cache = tempfile::tempdir().unwrap();
    let cfg = config(cache.path());
    let source = source_for(&server.url("/dl/blob.tar.gz"), &data);

    let recorder = Recorder::default();
    let path = fetch(&cfg, "hello", &source, &recorder).unwrap();
    let want = cache.path().join("sources-v1").join("sha256").join(source.sha256.as_str());
    assert_eq!(path, want);
    assert_eq!(path, cfg.cache_path(&source.sha256));
    assert_eq!(fs::read(&path).unwrap(), data);
    assert_eq!(server.connections(), 1);
    assert_eq!(server.paths(), ["/dl/blob.tar.gz"]);
    assert_eq!(fs::read_to_string(cache.path().join(".gitignore")).unwrap(), "*\n");
    let tag = fs::read_to_string(cache.path().join("CACHEDIR.TAG")).unwrap();
    assert!(tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55"), "{tag}");
    assert_eq!(
        *recorder.transfers.lock().unwrap(),
        [Transfer {
            name: "hello/blob".into(),
            total: Some(data.len() as u64),
            bytes: data.len() as u64,
            finished: true
        }]
    );
    assert!(crate::files_under(&cache.path().join("tmp")).is_empty());

    let again = fetch(&cfg, "hello", &source, &NoReporter).unwrap();
    assert_eq!(again, path);
    assert_eq!(server.connections(), 1, "a cache hit must not touch the network");
}

#[track_caller]
fn check_mismatch(wrong_sha256: bool, wrong_sha512: bool) {
    let data = bytes(100_000, 2);
    let server = Server::serving(data.clone());
    let cache = tempfile::tempdir().unwrap();
    let cfg = config(cache.path());
    let url = server.url("/x.tar.xz");
    let mut source = source_for(&url, &data);
    let (real256, real512) = (source.sha256.clone(), source.sha512.clone());
    if wrong_sha256 {
        source.sha256 = Sha256::parse(&"1".repeat(64)).unwrap();
    }
    if wrong_sha512 {
        source.sha512 = Sha512::parse(&"2".repeat(128)).unwrap();
    }

    let err = fetch(&cfg, "hello", &source, &NoReporter).unwrap_err();
    let FetchError::Mismatch(m) = &err else { panic!("expected a mismatch, got {err}") };
    assert!(!m.from_mirror);
    assert_eq!(m.url, url);
    assert_eq!(m.size, data.len() as u64);
    assert_eq!((&m.expected_sha256, &m.expected_sha512), (&source.sha256, &source.sha512));
    assert_eq!((m.actual_sha256.as_str(), m.actual_sha512.as_str()), (real256.as_str(), real512.as_str()));
    let msg = err.to_string();
    for needle in [&url, source.sha256.as_str(), real256.as_str(), source.sha512.as_str(), real512.as_str(), "hint:"] {
        assert!(msg.contains(needle), "`{needle}` missing from:\n{msg}");
    }
    assert_eq!(msg.contains("sha256 MISMATCH"), wrong_sha256, "{msg}");
    assert_eq!(msg.contains("sha512 MISMATCH"), wrong_sha512, "{msg}");
    assert_eq!(server.connections(), 1, "a mismatch is not retried");
    assert_no_source_or_temp(&cfg);
}

#[test]
fn sha512_mismatch_with_right_sha256_is_an_error_and_keeps_nothing() {
    check_mismatch(false, true);
}

#[test]
fn sha256_mismatch_with_right_sha512_is_an_error_and_keeps_nothing() {
    check_mismatch(true, false);
}

#[test]
fn retries_503_then_succeeds() {
    let data = bytes(50_000, 3);
    let body = data.clone();
    let server = Server::start(move |n, _| if n < 2 { Reply::Status(503) } else { Reply::Body(body.clone()) });
    let cache = tempfile::tempdir().unwrap();
    let cfg = config(cache.path());
    let source = source_for(&server.url("/f"), &data);
    let path = fetch(&cfg, "hello", &source, &NoReporter).unwrap();
    assert_eq!(fs::read(path).unwrap(), data);
    assert_eq!(server.paths().len(), 3);
}

#[test]
fn retries_a_body_cut_off_mid_stream() {
    let data = bytes(300_000, 4);
    let body = data.clone();
    let server =
        Server::start(move |n, _| if n == 0 { Reply::Truncated(body.clone()) } else { Reply::Body(body.clone()) });
    let cache = tempfile::tempdir().unwrap();
    let cfg = config(cache.path());
    let source = source_for(&server.url("/f"), &data);
    let recorder = Recorder::default();
    let path = fetch(&cfg, "hello", &source, &recorder).unwrap();
    assert_eq!(fs::read(path).unwrap(), data);
    assert_eq!(server.paths().len(), 2);
    let transfers = recorder.transfers.lock().unwrap();
    assert_eq!(transfers.len(), 2, "one start per attempt");
    assert!(transfers.iter().all(|t| t.finished), "every start is finished");
    assert_no_temp(&cfg);
}

#[test]
fn not_found_fails_at_once_with_a_clear_error() {
    let server = Server::start(|_, _| Reply::Status(404));
    let cache = tempfile::tempdir().unwrap();
    let cfg = config(cache.path());
    let url = server.url("/gone.tar.gz");
    let source = source_for(&url, b"whatever");
    let err = fetch(&cfg, "hello", &source, &NoReporter).unwrap_err();
    assert!(matches!(err, FetchError::HttpStatus { status: 404, attempts: 1, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&url) && msg.contains("404") && msg.contains("1 attempt)"), "{msg}");
    assert_eq!(server.paths().len(), 1);
    assert_no_source_or_temp(&cfg);
}

#[test]
fn other_client_errors_are_not_retried() {
    let server = Server::start(|_, _| Reply::Status(403));
    let cache = tempfile::tempdir().unwrap();
    let err = fetch(&config(cache.path()), "hello", &source_for(&server.url("/f"), b"x"), &NoReporter).unwrap_err();
    assert!(matches!(err, FetchError::HttpStatus { status: 403, attempts: 1, .. }), "{err:?}");
    assert_eq!(server.paths().len(), 1);
}

#[test]
fn server_errors_give_up_after_max_attempts() {
    let server = Server::start(|_, _| Reply::Status(500));
    let cache = tempfile::tempdir().unwrap();
    let mut cfg = config(cache.path());
    cfg.retry.max_attempts = 3;
    let url = server.url("/f");
    let err = fetch(&cfg, "hello", &source_for(&url, b"x"), &NoReporter).unwrap_err();
    assert!(matches!(err, FetchError::HttpStatus { status: 500, attempts: 3, .. }), "{err:?}");
    assert!(err.to_string().contains("3 attempts"), "{err}");
    assert_eq!(server.paths().len(), 3);
}

#[test]
fn connection_refused_is_retried_then_reported_with_attempts() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cache = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}/f");
    let err = fetch(&config(cache.path()), "hello", &source_for(&url, b"x"), &NoReporter).unwrap_err();
    assert!(matches!(err, FetchError::Transport { attempts: 4, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&url) && msg.contains("4 attempts"), "{msg}");
}

#[test]
fn follows_redirects() {
    let data = bytes(10_000, 5);
    let body = data.clone();
    let server = Server::start(
        move |_, path| {
            if path == "/old" { Reply::Redirect("/new".into()) } else { Reply::Body(body.clone()) }
        },
    );
    let cache = tempfile::tempdir().unwrap();
    let source = source_for(&server.url("/old"), &data);
    let path = fetch(&config(cache.path()), "hello", &source, &NoReporter).unwrap();
    assert_eq!(fs::read(path).unwrap(), data);
    assert_eq!(server.paths(), ["/old", "/new"]);
}

#[track_caller]
fn assert_no_temp(cfg: &talos_ext_fetch::FetchConfig) {
    let temps = crate::files_under(&cfg.cache_dir.join("tmp"));
    assert!(temps.is_empty(), "temp files left: {temps:?}");
}

#[test]
fn download_sha256_renames_only_verified_bytes_into_place() {
    let data = bytes(50_000, 7);
    let server = Server::start({
        let data = data.clone();
        move |n, path| match (n, path) {
            (_, "/gone.deb") => Reply::Status(404),
            // The first attempt breaks off: the retry starts over in a fresh temp file.
            (0, _) => Reply::Truncated(data.clone()),
            _ => Reply::Body(data.clone()),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let sha256 = source_for("", &data).sha256;
    let dest = dir.path().join("pool/hello_1.0_amd64.deb");

    talos_ext_fetch::download_sha256(&cfg, &server.url("/hello.deb"), &sha256, &dest, &NoReporter).unwrap();
    assert_eq!(fs::read(&dest).unwrap(), data);
    assert_eq!(crate::files_under(&dir.path().join("pool")), std::slice::from_ref(&dest), "no temp file is left");
    assert_eq!(server.connections(), 2);

    let wrong = Sha256::parse(&"3".repeat(64)).unwrap();
    let other = dir.path().join("pool/other.deb");
    let err =
        talos_ext_fetch::download_sha256(&cfg, &server.url("/other.deb"), &wrong, &other, &NoReporter).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, FetchError::Sha256Mismatch { .. }), "{msg}");
    assert!(msg.contains(wrong.as_str()) && msg.contains(sha256.as_str()) && msg.contains("hint:"), "{msg}");
    assert_eq!(
        crate::files_under(&dir.path().join("pool")),
        std::slice::from_ref(&dest),
        "nothing of a mismatch is kept"
    );

    let err =
        talos_ext_fetch::download_sha256(&cfg, &server.url("/gone.deb"), &sha256, &other, &NoReporter).unwrap_err();
    assert!(matches!(err, FetchError::HttpStatus { status: 404, attempts: 1, .. }), "{err}");
    assert!(!other.exists());
}
