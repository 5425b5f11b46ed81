//! `gasket-driver` offline: the pinned upstream source is not reachable here, so staging must fail
//! fast and name the source (extension, URL, sha256); with a stand-in source the pinned Talos
//! toolchain must fail just as fast, naming the kernel tarball it lacks.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use std::time::{Duration, Instant};

use talos_ext_build::Arch;
use talos_ext_build::SourceOverride;
use talos_ext_build::testing::{TestOptions, stage_with};

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
    let (_cache, opts) = offline();
    let started = Instant::now();
    let err = stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, Arch::Arm64, &opts).expect_err("offline");
    let msg = format!("{err:#}");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert!(msg.contains("source `gasket-driver` of extension `gasket-driver`"), "{msg}");
    assert!(
        msg.contains("https://github.com/google/gasket-driver/archive/5815ee3908a46a415aac616ac7b9aedcb98a504c.tar.gz"),
        "{msg}"
    );
    assert!(msg.contains("90cb41d10df702ec63b86968e1e7123abef6df1fdef5e7e2138d57618efbffde"), "{msg}");
}

#[test]
fn talos_toolchain_offline_names_the_kernel_source() {
    let (cache, mut opts) = offline();
    let stand_in = cache.path().join("stand-in");
    std::fs::create_dir_all(stand_in.join("src")).unwrap();
    opts.overrides = vec![SourceOverride { extension: "gasket-driver".into(), source: None, path: stand_in }];
    let started = Instant::now();
    let err = stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, Arch::Arm64, &opts).expect_err("offline");
    let msg = format!("{err:#}");
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
    assert!(
        msg.contains("toolchain `talos-v1.14.0-beta.1` (arm64) needs kernel source `linux-6.18.45.tar.xz`"),
        "{msg}"
    );
    assert!(msg.contains("https://cdn.kernel.org/pub/linux/kernel/v6.x/linux-6.18.45.tar.xz"), "{msg}");
    assert!(msg.contains("30fa4a56579ca614ac125a12614f7f6466f87ab1278aef7b951dd74156deab33"), "{msg}");
}
