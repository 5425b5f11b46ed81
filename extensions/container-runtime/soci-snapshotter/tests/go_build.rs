//! Builds `soci-snapshotter` from soci's `cmd` module at v0.16.1's commit through the Go module
//! proxy (a nearby release: the pin is v0.15.0, whose `cmd` module the proxy does not serve; the
//! recipe's version says v0.16.1), with cgo linking the internal `zlib` stage (from Debian's
//! zlib 1.3.2 source, the listed override), for both arches: both programs are static for the
//! arch, hold no build path and report the stamped release (arm64 under qemu); the service spec
//! and the CRI part validate strictly (staging does that); the SBOM lists soci, zlib and Go.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

#[path = "../../../internal/zlib/build.rs"]
#[allow(dead_code)]
mod zlib;

use talos_ext_build::testing::{
    TestOptions, check_static_program, go_wrapper_requiring_the_pin, meta, mode, stage_with, target_command,
};
use talos_ext_build::{Arch, TestLibrary};

fn check(arch: Arch) {
    let mut opts = TestOptions::from_env().unwrap();
    opts.override_with_debian_orig("zlib", None, "zlib=1:1.3.dfsg+really1.3.2-3").unwrap_or_else(|e| panic!("{e:#}"));
    opts.libraries = vec![TestLibrary::internal("zlib", zlib::recipe)];
    let started = std::time::Instant::now();
    let s = stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts)
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    eprintln!("soci-snapshotter {arch}: built (soci v0.16.1, cgo + zlib) in {:.0?}", started.elapsed());
    assert_eq!(s.overridden_sources, ["zlib/zlib"], "only the zlib stage is overridden");
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("  name: soci-snapshotter\n  version: v0.16.1\n"), "{manifest}");

    let grpc = format!("{}/usr/local/bin/soci-snapshotter-grpc", build::CONTAINER);
    for rel in [grpc.as_str(), "usr/local/bin/soci"] {
        let path = s.rootfs(rel);
        assert_eq!(mode(&path), 0o755, "{rel}");
        check_static_program(arch, &path).unwrap_or_else(|e| panic!("{e:#}"));
        s.check_no_build_paths(rel).unwrap();
        eprintln!("soci-snapshotter {arch}: {rel} {} bytes", std::fs::metadata(&path).unwrap().len());
        let out = target_command(arch, &path).arg("--version").read().unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(out.contains("v0.16.1") && out.contains("61147fe7c929"), "{rel} --version: {out}");
        // zlib is linked in (cgo): its version string is in the binary of the ztoc code's user.
        if rel == "usr/local/bin/soci" {
            let bytes = std::fs::read(&path).unwrap();
            assert!(bytes.windows(5).any(|w| w == b"1.3.2"), "zlib 1.3.2 linked into soci");
        }
    }
    let spec = std::fs::read_to_string(s.rootfs("usr/local/etc/containers/soci-snapshotter.yaml")).unwrap();
    assert!(spec.contains("--address=/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock"), "{spec}");
    let part = std::fs::read_to_string(s.rootfs("etc/cri/conf.d/10-soci-snapshotter.part")).unwrap();
    assert!(part.contains("address = \"/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock\""), "{part}");

    let packages = s.sbom_packages("soci-snapshotter").unwrap();
    for (name, version) in [
        ("github.com/awslabs/soci-snapshotter", "v0.16.1"),
        ("github.com/awslabs/soci-snapshotter/cmd", "v0.0.0-20260930233240-61147fe7c929"),
        ("zlib", "1.3.2"),
        ("go", "1.26.8"),
    ] {
        assert!(packages.iter().any(|(n, v)| n == name && v == version), "{name} {version} in {packages:?}");
    }
}

#[test]
#[ignore = "tier full: soci's two programs (containerd, gRPC, cgo) for amd64"]
fn tier_full_amd64_nearby_release_with_cgo() {
    check(Arch::Amd64);
}

#[test]
#[ignore = "tier full: soci's two programs for arm64 (cgo through the aarch64 musl cross compiler), run under qemu"]
fn tier_full_arm64_nearby_release_with_cgo_under_qemu() {
    check(Arch::Arm64);
}

#[test]
fn the_wrapper_module_requires_the_pinned_module() {
    let meta = meta(env!("CARGO_MANIFEST_DIR")).unwrap();
    assert!(meta.go.as_ref().is_some_and(|go| go.cgo), "soci links zlib through cgo");
    let gomod = go_wrapper_requiring_the_pin(env!("CARGO_MANIFEST_DIR"));
    // Upstream's `../` replacement of its root module, as the release of the same commit.
    assert!(
        gomod.contains(
            "github.com/awslabs/soci-snapshotter v0.0.0-local => github.com/awslabs/soci-snapshotter v0.16.1"
        )
    );
}
