//! `gasket-driver` offline: the pinned upstream source is not reachable here, so staging must fail
//! before any work and name the source (extension, URL, sha256, as pinned in its Cargo.toml);
//! with a stand-in source the pinned Talos toolchain must fail before any work too, naming the
//! kernel tarball it lacks (as pinned in `toolchain/`).

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::SourceOverride;
use talos_ext_build::testing::{Pins, TestOptions, meta, stage_with};

fn offline() -> (tempfile::TempDir, TestOptions) {
    let cache = tempfile::tempdir().unwrap();
    let mut opts = TestOptions::from_env().unwrap();
    opts.fetch.cache_dir = cache.path().to_path_buf();
    opts.fetch.mirrors.clear();
    opts.fetch.offline = true;
    (cache, opts)
}

#[test]
fn offline_build_fails_fast_naming_the_missing_source() {
    let (cache, opts) = offline();
    let meta = meta(env!("CARGO_MANIFEST_DIR")).unwrap();
    let pinned = meta.source("gasket-driver", Arch::Arm64).expect("the pinned source");
    let err = stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, Arch::Arm64, &opts).expect_err("offline");
    let msg = format!("{err:#}");
    assert!(msg.contains("source `gasket-driver` of extension `gasket-driver`"), "{msg}");
    assert!(msg.contains(&pinned.url) && msg.contains(pinned.sha256.as_str()), "{msg}");
    assert_no_work_done(cache.path());
}

#[test]
fn talos_toolchain_offline_names_the_kernel_source() {
    let (cache, mut opts) = offline();
    let stand_in = cache.path().join("stand-in");
    std::fs::create_dir_all(stand_in.join("src")).unwrap();
    opts.overrides = vec![SourceOverride { extension: "gasket-driver".into(), source: None, path: stand_in }];
    let pins = Pins::load().unwrap();
    let source = &pins.talos_spec().kernel.source;
    let err = stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, Arch::Arm64, &opts).expect_err("offline");
    let msg = format!("{err:#}");
    let needs = format!("toolchain `{}` (arm64) needs kernel source `{}`", pins.talos.name, source.file_name());
    assert!(msg.contains(&needs), "{msg}");
    assert!(msg.contains(&source.url) && msg.contains(source.sha256.as_str()), "{msg}");
    assert_no_work_done(cache.path());
}

/// Failing fast means failing before any heavy work: nothing was downloaded, unpacked or prepared
/// in the (empty, offline) cache; only its bookkeeping files and the module signing key (made
/// first, on purpose: it is cheap and a key problem should show before an hour of kernel build).
fn assert_no_work_done(cache: &std::path::Path) {
    let mut found = Vec::new();
    let mut dirs = vec![cache.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                dirs.push(path);
            } else {
                found.push(path);
            }
        }
    }
    let work: Vec<_> = found
        .iter()
        .filter(|p| !p.starts_with(cache.join("stand-in")) && !p.starts_with(cache.join("kernel/keys")))
        .filter(|p| p.extension().is_none_or(|e| e != "lock"))
        .filter(|p| p.file_name().is_none_or(|n| n != "CACHEDIR.TAG" && n != ".gitignore"))
        .collect();
    assert!(work.is_empty(), "work was done before failing: {work:?}");
}
