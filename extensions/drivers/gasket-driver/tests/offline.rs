//! `gasket-driver` offline: the pinned upstream source is not reachable here, so staging must fail
//! before any work and name the source (extension, URL, sha256, as pinned in its Cargo.toml);
//! with a stand-in source the pinned Talos toolchain must fail before any work too, naming the
//! kernel tarball it lacks (as pinned in `toolchain/`).

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::SourceOverride;
use talos_ext_build::testing::{Pins, TestOptions, assert_no_work_done, meta, stage_with};

#[test]
fn offline_build_fails_fast_naming_the_missing_source() {
    let (cache, opts) = TestOptions::offline_empty().unwrap();
    let meta = meta(env!("CARGO_MANIFEST_DIR")).unwrap();
    let pinned = meta.source("gasket-driver", Arch::Arm64).expect("the pinned source");
    let err = stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, Arch::Arm64, &opts).expect_err("offline");
    let msg = format!("{err:#}");
    assert!(msg.contains("source `gasket-driver` of extension `gasket-driver`"), "{msg}");
    assert!(msg.contains(&pinned.url) && msg.contains(pinned.sha256.as_str()), "{msg}");
    assert_no_work_done(cache.path(), &["stand-in"]);
}

#[test]
fn talos_toolchain_offline_names_the_kernel_source() {
    let (cache, mut opts) = TestOptions::offline_empty().unwrap();
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
    assert_no_work_done(cache.path(), &["stand-in"]);
}
