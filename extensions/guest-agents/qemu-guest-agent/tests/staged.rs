//! Builds `qemu-guest-agent` for both arches from Debian's real QEMU 10.2.2 release (a source
//! override: the pinned 11.1.0 is not reachable here and Debian's 11.1.x tarballs are missing
//! from the archive's pool; Debian's `qemu_10.2.2+ds.orig.tar.xz` is upstream's release
//! repacked), with GLib from Debian's 2.88.0 (an override too: the pin is 2.89.3), `pcre2` and
//! `libffi` from their exact pins through an offline directory mirror and `zlib` from Debian's
//! 1.3.2 (its listed override). Checks the tree (validated strictly by staging), the service spec
//! and container root, the SBOM (QEMU and every library stage), the program's machine, libc and
//! build paths, and runs `qemu-ga --version` (arm64 under qemu), which must name 10.2.2. The
//! service spec alone is checked in the smoke tier.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

#[path = "../../../internal/glib/build.rs"]
#[allow(dead_code)]
mod glib;
#[path = "../../../internal/libffi/build.rs"]
#[allow(dead_code)]
mod libffi;
#[path = "../../../internal/pcre2/build.rs"]
#[allow(dead_code)]
mod pcre2;
#[path = "../../../internal/zlib/build.rs"]
#[allow(dead_code)]
mod zlib;

use std::path::Path;

use talos_ext_build::testing::{
    Staged, TestOptions, check_static_program, internal_crate, mode, stage_with, target_command,
};
use talos_ext_build::validate::service;
use talos_ext_build::{Arch, TestLibrary};

const CONTAINER: &str = "usr/local/lib/containers/qemu-guest-agent";
const SPEC: &str = "usr/local/etc/containers/qemu-guest-agent.yaml";
const PORT: &str = "/dev/virtio-ports/org.qemu.guest_agent.0";

/// Debian's repacked QEMU 10.2.2 and upstream's GLib 2.88.0, listed in test-overrides.toml.
const QEMU: &str = "qemu=1:10.2.2+ds-1";
const GLIB: &str = "glib2.0=2.88.0-1";

fn staged(arch: Arch, tmp: &Path) -> Staged {
    // pcre2's and libffi's pins, served offline from a mirror of Debian's byte-identical tarballs.
    let pins =
        [(internal_crate("pcre2"), "pcre2", "pcre2=10.48-3.1"), (internal_crate("libffi"), "libffi", "libffi=3.8.0-2")];
    let mut opts = TestOptions::offline_debian_pins(tmp, arch, &pins).unwrap_or_else(|e| panic!("{e:#}"));
    for (extension, spec) in [("qemu-guest-agent", QEMU), ("glib", GLIB), ("zlib", "zlib=1:1.3.dfsg+really1.3.2-3")] {
        opts.override_with_debian_orig(extension, None, spec).unwrap_or_else(|e| panic!("{e:#}"));
    }
    let library = TestLibrary::internal;
    opts.libraries = vec![
        library("zlib", zlib::recipe),
        library("pcre2", pcre2::recipe),
        library("libffi", libffi::recipe),
        library("glib", glib::recipe),
    ];
    stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts)
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"))
}

fn check_staged(arch: Arch) {
    let started = std::time::Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let s = staged(arch, tmp.path());
    eprintln!(
        "qemu-guest-agent {arch}: built from QEMU 10.2.2 and GLib 2.88.0 (Debian's origs; the pins are 11.1.0 and \
         2.89.3) in {:.0?}",
        started.elapsed()
    );
    let mut overridden = s.overridden_sources.clone();
    overridden.sort();
    assert_eq!(overridden, ["glib/glib", "qemu", "zlib/zlib"], "pcre2 and libffi are the pinned bytes");
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("  name: qemu-guest-agent\n  version: 11.1.0\n"), "{manifest}");

    let rel = format!("{CONTAINER}/usr/local/bin/qemu-ga");
    let program = s.rootfs(&rel);
    assert_eq!(mode(&program), 0o755);
    check_static_program(arch, &program).unwrap_or_else(|e| panic!("{e:#}"));
    s.check_no_build_paths(&rel).unwrap();
    let size = std::fs::metadata(&program).unwrap().len();
    eprintln!("qemu-guest-agent {arch}: qemu-ga is {size} bytes");
    let out = target_command(arch, &program).arg("--version").read().unwrap_or_else(|e| panic!("{e}"));
    assert!(out.starts_with("QEMU Guest Agent 10.2.2"), "qemu-ga --version names the QEMU built: {out}");

    let spec = std::fs::read_to_string(s.rootfs(SPEC)).unwrap();
    assert_eq!(spec, include_str!("../files/qemu-guest-agent.yaml"), "the spec is installed as written");
    assert_eq!(mode(&s.rootfs(SPEC)), 0o644);
    assert_eq!(mode(&s.rootfs(&format!("{CONTAINER}/var/run"))), 0o755, "the state directory's mount point");
    let files = s.rootfs_files();
    let sbom = talos_ext_build::sbom::spdx_path("qemu-guest-agent");
    let shipped = |f: &String| f.starts_with(CONTAINER) || *f == sbom || f == SPEC;
    assert!(files.iter().all(shipped), "{files:?}");
    for absent in ["include", "lib", "share", "libexec"] {
        assert!(!s.rootfs(&format!("{CONTAINER}/usr/local/{absent}")).exists(), "{absent} is not shipped");
    }

    // The SBOM lists QEMU and every library stage built into it, each with its pinned source.
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(s.rootfs(&sbom)).unwrap()).unwrap();
    let mut packages: Vec<(&str, &str)> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["versionInfo"].as_str().unwrap()))
        .collect();
    assert_eq!(packages.remove(0), ("qemu-guest-agent", "11.1.0"), "the extension first");
    packages.sort();
    assert_eq!(packages, [("glib", "2.89.3"), ("libffi", "3.8.0"), ("pcre2", "10.48"), ("zlib", "1.3.2")]);
    let files: Vec<&str> = doc["files"].as_array().unwrap().iter().map(|f| f["fileName"].as_str().unwrap()).collect();
    for tarball in
        ["qemu-11.1.0.tar.xz", "glib-2.89.3.tar.xz", "pcre2-10.48.tar.gz", "v3.8.0.tar.gz", "zlib-1.3.2.tar.gz"]
    {
        assert!(files.iter().any(|f| f.ends_with(tarball)), "{tarball} in {files:?}");
    }
}

/// The service spec, on its own: Talos' rules, no key outside Talos' schema, and what it runs.
#[test]
fn the_service_spec_runs_qemu_ga_on_its_virtio_port() {
    let text = include_str!("../files/qemu-guest-agent.yaml");
    let spec = service::parse(text.as_bytes()).unwrap();
    assert_eq!(service::check(&spec), Vec::<String>::new());
    let unknown = talos_ext_build::model::yaml_keys::unknown_keys(text, &service::SCHEMA).unwrap();
    assert!(unknown.is_empty(), "{unknown:?}");
    assert_eq!(spec.name, "qemu-guest-agent", "the container root is named after the spec");
    assert_eq!(spec.container.entrypoint, "/usr/local/bin/qemu-ga");
    assert!(spec.container.args.contains(&format!("--path={PORT}")), "{:?}", spec.container.args);
    assert!(text.contains(&format!("  - path: {PORT}\n")), "the service waits for the port");
    assert!(text.contains("    - source: /dev\n      destination: /dev\n"), "the node's /dev is mounted");
}

#[test]
#[ignore = "tier full: QEMU's configure and qemu-ga with GLib's whole meson build, several minutes per arch"]
fn tier_full_amd64_from_debian_qemu_10_2_2() {
    check_staged(Arch::Amd64);
}

#[test]
#[ignore = "tier full: QEMU's configure and qemu-ga with GLib's whole meson build, several minutes per arch"]
fn tier_full_arm64_from_debian_qemu_10_2_2_under_qemu() {
    check_staged(Arch::Arm64);
}
