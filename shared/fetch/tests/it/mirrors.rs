//! Mirrors and offline mode: the fallback order, corrupt mirrors, offline with and without a
//! cached copy, filling a directory mirror, and re-verifying the cache.

use std::fs;

use talos_ext_fetch::{CacheState, FetchError, Mirror, NoReporter, fetch, lookup, mirror_into, verify_cached};

use crate::server::{Reply, Server};
use crate::{assert_no_source_or_temp, bytes, config, source_for};

#[test]
fn mirrors_are_tried_in_order_before_upstream() {
    let data = bytes(70_000, 10);
    let upstream = Server::serving(data.clone());
    let body = data.clone();
    let http_mirror =
        Server::start(
            move |_, path| if path.starts_with("/m/sha256/") { Reply::Body(body.clone()) } else { Reply::Status(404) },
        );
    let empty_mirror_dir = tempfile::tempdir().unwrap();
    let missing_http_mirror = Server::start(|_, _| Reply::Status(404));
    let cache = tempfile::tempdir().unwrap();
    let mut cfg = config(cache.path());
    cfg.mirrors = vec![
        Mirror::Dir(empty_mirror_dir.path().to_path_buf()),
        Mirror::parse(&missing_http_mirror.url("/other/")).unwrap(),
        Mirror::parse(&http_mirror.url("/m/")).unwrap(),
    ];
    let source = source_for(&upstream.url("/f.tar.gz"), &data);

    let path = fetch(&cfg, "hello", &source, &NoReporter).unwrap();
    assert_eq!(fs::read(path).unwrap(), data);
    assert_eq!(missing_http_mirror.paths(), [format!("/other/sha256/{}", source.sha256)]);
    assert_eq!(http_mirror.paths(), [format!("/m/sha256/{}", source.sha256)]);
    assert_eq!(upstream.connections(), 0, "upstream must not be contacted");
}

#[test]
fn corrupt_dir_mirror_is_an_error_and_upstream_is_not_contacted() {
    let data = bytes(40_000, 11);
    let upstream = Server::serving(data.clone());
    let mirror = tempfile::tempdir().unwrap();
    let source = source_for(&upstream.url("/f"), &data);
    let bad = mirror.path().join("sha256").join(source.sha256.as_str());
    fs::create_dir_all(bad.parent().unwrap()).unwrap();
    let mut corrupt = data.clone();
    corrupt[1000] ^= 0xff;
    fs::write(&bad, &corrupt).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut cfg = config(cache.path());
    cfg.mirrors = vec![Mirror::Dir(mirror.path().to_path_buf())];

    let err = fetch(&cfg, "hello", &source, &NoReporter).unwrap_err();
    let FetchError::Mismatch(m) = &err else { panic!("expected a mismatch, got {err}") };
    assert!(m.from_mirror);
    assert_eq!(m.url, bad.display().to_string());
    assert!(err.to_string().contains("mirror"), "{err}");
    assert_eq!(upstream.connections(), 0, "a mismatch never falls back");
    assert_no_source_or_temp(&cfg);
}

#[test]
fn corrupt_http_mirror_is_an_error_and_upstream_is_not_contacted() {
    let data = bytes(40_000, 12);
    let upstream = Server::serving(data.clone());
    let mirror = Server::serving(bytes(40_000, 13));
    let cache = tempfile::tempdir().unwrap();
    let mut cfg = config(cache.path());
    cfg.mirrors = vec![Mirror::parse(&mirror.url("")).unwrap()];
    let source = source_for(&upstream.url("/f"), &data);
    let err = fetch(&cfg, "hello", &source, &NoReporter).unwrap_err();
    assert!(matches!(&err, FetchError::Mismatch(m) if m.from_mirror && m.url.contains("/sha256/")), "{err:?}");
    assert_eq!(upstream.connections(), 0);
    assert_no_source_or_temp(&cfg);
}

#[test]
fn offline_uses_the_cache_without_any_connection() {
    let data = bytes(30_000, 14);
    let server = Server::serving(data.clone());
    let cache = tempfile::tempdir().unwrap();
    let mut cfg = config(cache.path());
    let source = source_for(&server.url("/f"), &data);
    let path = fetch(&cfg, "hello", &source, &NoReporter).unwrap();
    assert_eq!(server.connections(), 1);

    cfg.offline = true;
    assert_eq!(fetch(&cfg, "hello", &source, &NoReporter).unwrap(), path);
    assert_eq!(lookup(&cfg, &source), Some(path));
    assert_eq!(server.connections(), 1);
}

#[test]
fn offline_uses_a_dir_mirror() {
    let data = bytes(30_000, 15);
    let upstream = Server::serving(data.clone());
    let source = source_for(&upstream.url("/f"), &data);
    // Another cache's `sources-v1` is a valid mirror root.
    let other = tempfile::tempdir().unwrap();
    let other_cfg = config(other.path());
    fetch(&other_cfg, "hello", &source, &NoReporter).unwrap();
    assert_eq!(upstream.connections(), 1);

    let cache = tempfile::tempdir().unwrap();
    let mut cfg = config(cache.path());
    cfg.offline = true;
    cfg.mirrors = vec![Mirror::Dir(other_cfg.sources_dir())];
    let path = fetch(&cfg, "hello", &source, &NoReporter).unwrap();
    assert_eq!(fs::read(path).unwrap(), data);
    assert_eq!(upstream.connections(), 1);
}

#[test]
fn offline_without_a_copy_names_extension_source_url_and_sha256() {
    let server = Server::start(|_, _| Reply::Status(500));
    let empty_mirror = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut cfg = config(cache.path());
    cfg.offline = true;
    cfg.mirrors = vec![Mirror::Dir(empty_mirror.path().to_path_buf())];
    let url = server.url("/util-linux-2.41.tar.xz");
    let mut source = source_for(&url, b"data");
    source.name = "util-linux".into();

    let err = fetch(&cfg, "zfs", &source, &NoReporter).unwrap_err();
    assert!(matches!(err, FetchError::Offline { .. }), "{err:?}");
    let msg = err.to_string();
    for needle in ["`zfs`", "`util-linux`", &url, source.sha256.as_str(), "cargo xtask fetch zfs", "--mirror"] {
        assert!(msg.contains(needle), "`{needle}` missing from:\n{msg}");
    }
    assert_eq!(server.connections(), 0);
    assert_eq!(lookup(&cfg, &source), None);
}

#[test]
fn mirror_into_fills_a_dir_mirror() {
    let data = bytes(20_000, 16);
    let upstream = Server::serving(data.clone());
    let source = source_for(&upstream.url("/f"), &data);
    let cache = tempfile::tempdir().unwrap();
    let cached = fetch(&config(cache.path()), "hello", &source, &NoReporter).unwrap();

    let mirror = tempfile::tempdir().unwrap();
    let dest = mirror_into(mirror.path(), &source, &cached).unwrap();
    assert_eq!(dest, mirror.path().join("sha256").join(source.sha256.as_str()));
    assert_eq!(fs::read(&dest).unwrap(), data);
    assert_eq!(crate::files_under(mirror.path()), std::slice::from_ref(&dest), "no temp file left");
    assert_eq!(mirror_into(mirror.path(), &source, &cached).unwrap(), dest, "idempotent");

    // A file that does not match is refused.
    let mut other = source.clone();
    other.sha256 = crate::sha256_of(b"something else");
    let wrong = mirror_into(mirror.path(), &other, &cached).unwrap_err();
    assert!(matches!(wrong, FetchError::Mismatch(_)), "{wrong:?}");
    assert_eq!(crate::files_under(mirror.path()), [dest]);
}

#[test]
fn verify_cached_rehashes_and_removes_a_corrupt_copy() {
    let data = bytes(20_000, 17);
    let server = Server::serving(data.clone());
    let source = source_for(&server.url("/f"), &data);
    let cache = tempfile::tempdir().unwrap();
    let cfg = config(cache.path());
    assert_eq!(verify_cached(&cfg, &source).unwrap(), CacheState::Missing);
    let path = fetch(&cfg, "hello", &source, &NoReporter).unwrap();
    assert_eq!(verify_cached(&cfg, &source).unwrap(), CacheState::Verified(path.clone()));

    fs::write(&path, b"tampered").unwrap();
    let err = verify_cached(&cfg, &source).unwrap_err();
    assert!(matches!(err, FetchError::CacheCorrupt { .. }), "{err:?}");
    assert!(!path.exists());
    fetch(&cfg, "hello", &source, &NoReporter).unwrap();
    assert_eq!(fs::read(&path).unwrap(), data);
}
