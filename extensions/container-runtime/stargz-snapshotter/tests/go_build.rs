//! Builds `stargz-snapshotter` from Debian's `golang-github-containerd-stargz-snapshotter_0.14.3
//! .orig.tar.gz` (upstream's own v0.14.3 tree, through the listed source override: the pinned
//! v0.18.2 GitHub tarball is not reachable offline), in its `cmd` module as the recipe builds the
//! pin, with the 117 modules its `go.sum` pins from the Go module proxy (or the cache) and the
//! graph hash of that release pinned by the test, for both arches: both programs are static for
//! the arch, hold no build path and run (`--version`, arm64 under qemu); the service spec and the
//! CRI part validate strictly (staging does that, and the smoke tests check them directly); the
//! SBOM lists the Go toolchain and the modules built in, not the tree's own modules.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::model::{ExtensionMeta, Sha256, VersionSpec};
use talos_ext_build::testing::{
    TestOptions, check_offline_fails_naming_a_source, check_static_program, meta, mode, stage_recipe_meta_with,
    target_command,
};
use talos_ext_build::validate::{cri, service};

/// Debian's upstream tarball of the release the tests build.
const DEBIAN: &str = "golang-github-containerd-stargz-snapshotter=0.14.3-7";
/// The graph hash of v0.14.3's `cmd` module (both arches): 117 modules.
const GRAPH_0_14_3: &str = "8f3d6be4520c2dc4b15f5f8353cbe9cc5f3c3e5b49e6eec6d80bd5ada7c27593";

/// The recipe's metadata with v0.14.3's pins where they differ from v0.18.2's: the version, its
/// stamp and its graph hash (the recipe's own `[go]` table pins none, see its Cargo.toml).
fn meta_0_14_3() -> ExtensionMeta {
    let mut m = meta(env!("CARGO_MANIFEST_DIR")).unwrap();
    m.version = VersionSpec::Upstream { upstream: "v0.14.3".into() };
    let go = m.go.as_mut().unwrap();
    assert!(go.graph_hash.is_none(), "the recipe pins no graph hash (v0.18.2's is not computable offline)");
    go.version = "v0.14.3".into();
    go.ldflags = vec!["-X=github.com/containerd/stargz-snapshotter/version.Version=v0.14.3".into()];
    go.graph_hash = Some(Sha256::parse(GRAPH_0_14_3).unwrap());
    m
}

fn build_and_check(arch: Arch) {
    let mut opts = TestOptions::from_env().unwrap();
    opts.override_with_debian_orig("stargz-snapshotter", Some("stargz-snapshotter"), DEBIAN)
        .unwrap_or_else(|e| panic!("{e:#}"));
    let started = std::time::Instant::now();
    let s = stage_recipe_meta_with(env!("CARGO_MANIFEST_DIR"), meta_0_14_3(), build::recipe, arch, &opts)
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    eprintln!("stargz-snapshotter {arch}: built (Debian's v0.14.3 tree, cmd module) in {:.0?}", started.elapsed());
    assert_eq!(s.overridden_sources, ["stargz-snapshotter"]);
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("  name: stargz-snapshotter\n  version: v0.14.3\n"), "{manifest}");

    let grpc = format!("{}/containerd-stargz-grpc", build::CONTAINER);
    let ctr = format!("{}/ctr-remote", build::CONTAINER);
    let spdx = talos_ext_build::sbom::spdx_path("stargz-snapshotter");
    let mut expected = vec![
        "etc/cri/conf.d/10-stargz-snapshotter.part".to_string(),
        grpc.clone(),
        ctr.clone(),
        "usr/local/etc/containers/stargz-snapshotter.yaml".to_string(),
        spdx,
    ];
    expected.sort();
    assert_eq!(s.rootfs_files(), expected);
    for rel in [grpc.as_str(), ctr.as_str()] {
        let path = s.rootfs(rel);
        assert_eq!(mode(&path), 0o755, "{rel}");
        check_static_program(arch, &path).unwrap_or_else(|e| panic!("{e:#}"));
        s.check_no_build_paths(rel).unwrap();
        eprintln!("stargz-snapshotter {arch}: {rel} {} bytes", std::fs::metadata(&path).unwrap().len());
    }
    let out = target_command(arch, &s.rootfs(&grpc)).arg("--version").read().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.trim(), "containerd-stargz-grpc v0.14.3 <unknown>", "containerd-stargz-grpc --version");
    // ctr-remote is containerd's ctr app with stargz's commands: it reports containerd's
    // name and version (the module v1.7.0-rc.2, unstamped as in upstream's build).
    let out = target_command(arch, &s.rootfs(&ctr)).arg("--version").read().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.trim(), "ctr github.com/containerd/containerd 1.7.0-rc.2+unknown", "ctr-remote --version");

    let packages = s.sbom_packages("stargz-snapshotter").unwrap();
    for (name, version) in [
        ("stargz-snapshotter", "v0.14.3"),
        ("github.com/containerd/containerd", "v1.7.0-rc.2"),
        ("github.com/hanwen/go-fuse/v2", "v2.2.0"),
        ("go", "1.26.8"),
    ] {
        assert!(packages.iter().any(|(n, v)| n == name && v == version), "{name} {version} in {packages:?}");
    }
    // The tree's own modules (the local `replace` targets) are the source, not graph lines.
    assert!(!packages.iter().any(|(n, _)| n.starts_with("github.com/containerd/stargz-snapshotter")), "{packages:?}");
}

#[test]
#[ignore = "tier full: containerd-stargz-grpc and ctr-remote (containerd, gRPC, k8s CRI) for amd64"]
fn tier_full_amd64_nearby_release_from_debian() {
    build_and_check(Arch::Amd64);
}

#[test]
#[ignore = "tier full: containerd-stargz-grpc and ctr-remote for arm64, run under qemu"]
fn tier_full_arm64_nearby_release_from_debian_under_qemu() {
    build_and_check(Arch::Arm64);
}

#[test]
fn the_go_build_runs_in_the_pinned_tarballs_cmd_module() {
    let m = meta(env!("CARGO_MANIFEST_DIR")).unwrap();
    let go = m.go.as_ref().unwrap();
    assert_eq!(go.source.as_deref(), Some("stargz-snapshotter"));
    assert_eq!(go.dir, "cmd");
    assert!(!go.vendor && !go.cgo);
    assert_eq!(go.module, "github.com/containerd/stargz-snapshotter/cmd");
    let source = m.sources.iter().find(|s| s.name == "stargz-snapshotter").unwrap();
    assert!(source.url.ends_with("/archive/refs/tags/v0.18.2.tar.gz"), "{}", source.url);
    assert_eq!(go.ldflags, ["-X=github.com/containerd/stargz-snapshotter/version.Version=v0.18.2"]);
}

#[test]
fn the_service_spec_and_the_cri_part_validate_strictly() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/files");
    let part = std::fs::read(format!("{dir}/10-stargz-snapshotter.part")).unwrap();
    assert_eq!(cri::check("10-stargz-snapshotter.part", &part), Vec::<String>::new());
    let part: toml::Table = toml::from_str(std::str::from_utf8(&part).unwrap()).unwrap();
    let address = part["proxy_plugins"]["stargz"]["address"].as_str().unwrap();
    assert_eq!(part["plugins"]["io.containerd.cri.v1.runtime"]["containerd"]["snapshotter"].as_str(), Some("stargz"));

    let bytes = std::fs::read(format!("{dir}/stargz-snapshotter.yaml")).unwrap();
    let spec = service::parse(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(service::check(&spec), Vec::<String>::new());
    let doc: serde_norway::Value = serde_norway::from_slice(&bytes).unwrap();
    assert_eq!(doc["container"]["entrypoint"].as_str(), Some("./containerd-stargz-grpc"));
    // The service listens where the part tells containerd to connect.
    let args: Vec<&str> = doc["container"]["args"].as_sequence().unwrap().iter().filter_map(|a| a.as_str()).collect();
    assert!(args.contains(&format!("--address={address}").as_str()), "{args:?}");
}

#[test]
fn offline_without_the_tarball_fails_naming_the_source() {
    check_offline_fails_naming_a_source(env!("CARGO_MANIFEST_DIR"), build::recipe);
}
