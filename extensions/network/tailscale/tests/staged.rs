//! Builds `tailscale` from the exact pin (the Go module `tailscale.com` v1.102.2, served by the
//! module proxy, or the cache after `cargo xtask fetch tailscale`) for both arches. Checks the
//! programs (static, ELF machine, no build paths), runs `tailscale --version` and `tailscaled
//! --version` (arm64 under qemu), the service spec (validated strictly by staging), the SBOM (the
//! main module, the Go toolchain and the other modules), and that a wrong graph hash fails before
//! anything is built. Tier full: a second amd64 build in other directories with an empty build
//! cache gives byte-identical programs (a whole tailscale compile again, about 5 CPU minutes;
//! `ecr-credential-provider`'s test checks the same for a smaller module in the default tier).

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use std::path::Path;

use talos_ext_build::testing::{
    Staged, TestOptions, check_static_program, meta, mode, stage, stage_with, target_command,
};
use talos_ext_build::{Arch, default_cache_dir, fetch::FetchConfig, model::Pin};

const CONTAINER: &str = "usr/local/lib/containers/tailscale";
const PROGRAMS: &[&str] = &["tailscaled", "tailscale", "containerboot"];

/// Stages `arch` with the test environment's options (`stage`), or with `opts` (another work
/// directory or Go build cache).
fn staged(arch: Arch, opts: Option<&TestOptions>) -> Staged {
    let started = std::time::Instant::now();
    let dir = env!("CARGO_MANIFEST_DIR");
    let s = match opts {
        None => stage(dir, build::recipe, arch),
        Some(opts) => stage_with(dir, build::recipe, arch, opts),
    }
    .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    eprintln!("tailscale {arch}: built from the exact pin tailscale.com v1.102.2 in {:.0?}", started.elapsed());
    s
}

fn check(arch: Arch, s: &Staged) {
    assert!(s.overridden_sources.is_empty());
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("  name: tailscale\n  version: 1.102.2\n"), "{manifest}");
    for program in PROGRAMS {
        let rel = format!("{CONTAINER}/usr/local/bin/{program}");
        assert_eq!(mode(&s.rootfs(&rel)), 0o755, "{program}");
        check_static_program(arch, &s.rootfs(&rel)).unwrap_or_else(|e| panic!("{e:#}"));
        s.check_no_build_paths(&rel).unwrap();
        let size = std::fs::metadata(s.rootfs(&rel)).unwrap().len();
        eprintln!("tailscale {arch}: {program} {size} bytes");
    }
    for program in ["tailscale", "tailscaled"] {
        let path = s.rootfs(&format!("{CONTAINER}/usr/local/bin/{program}"));
        let out = target_command(arch, &path).arg("--version").read().unwrap_or_else(|e| panic!("{e}"));
        let first = out.lines().next().unwrap_or_default();
        assert_eq!(first.trim(), "1.102.2", "{program} --version: {out}");
        assert!(out.contains("go version: go1.26.8"), "{program} --version names the toolchain: {out}");
    }
    let spec = std::fs::read_to_string(s.rootfs("usr/local/etc/containers/tailscale.yaml")).unwrap();
    assert!(spec.starts_with("name: tailscale\n"), "{spec}");
    assert!(spec.contains("entrypoint: /usr/local/bin/containerboot\n"), "{spec}");
    assert!(spec.contains("- TS_STATE_DIR=/var/lib/tailscale\n"), "{spec}");
    assert!(spec.contains("destination: /var/lib/tailscale\n"), "{spec}");
    assert_eq!(mode(&s.rootfs(&format!("{CONTAINER}/var/lib/tailscale"))), 0o755);

    let files = s.rootfs_files();
    let sbom = talos_ext_build::sbom::spdx_path("tailscale");
    let mut expected: Vec<String> = PROGRAMS.iter().map(|p| format!("{CONTAINER}/usr/local/bin/{p}")).collect();
    expected.push(sbom.clone());
    expected.push("usr/local/etc/containers/tailscale.yaml".into());
    expected.sort();
    assert_eq!(files, expected);

    // The SBOM: the extension, the Go toolchain, and every module built in (with purls).
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(s.rootfs(&sbom)).unwrap()).unwrap();
    let packages = doc["packages"].as_array().unwrap();
    let find = |name: &str| packages.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{name} in {doc}"));
    assert_eq!(find("tailscale")["versionInfo"], "1.102.2");
    assert_eq!(find("go")["versionInfo"], "1.26.8");
    let x = find("golang.org/x/crypto");
    let purl = x["externalRefs"].as_array().unwrap().iter().find(|r| r["referenceType"] == "purl").unwrap();
    assert!(purl["referenceLocator"].as_str().unwrap().starts_with("pkg:golang/golang.org/x/crypto@v"), "{x}");
    assert!(packages.len() > 20, "the modules built in: {} packages", packages.len());
}

#[test]
#[ignore = "tier full: a whole tailscale compile (about 5 CPU minutes); the default tier builds ecr-credential-provider"]
fn tier_full_amd64_exact_pin() {
    let s = staged(Arch::Amd64, None);
    check(Arch::Amd64, &s);
}

#[test]
#[ignore = "tier full: compiles tailscale twice more (about 10 CPU minutes); run with --ignored tier_full"]
fn tier_full_amd64_built_twice_in_different_directories_is_byte_identical() {
    let opts = TestOptions::from_env().unwrap();
    let first = staged(Arch::Amd64, None);
    // Again, in another work directory and with an empty Go build cache (only the module cache
    // is shared): everything is compiled anew.
    let tmp = tempfile::tempdir().unwrap();
    let mut again = opts.clone();
    again.work_dir = Some(tmp.path().join("elsewhere/out"));
    again.go_cache = Some(tmp.path().join("gocache"));
    let second = staged(Arch::Amd64, Some(&again));
    assert_ne!(first.dir, second.dir);
    for program in PROGRAMS {
        let rel = format!("{CONTAINER}/usr/local/bin/{program}");
        let (a, b) = (std::fs::read(first.rootfs(&rel)).unwrap(), std::fs::read(second.rootfs(&rel)).unwrap());
        assert!(a == b, "{program} differs between the two builds ({} and {} bytes)", a.len(), b.len());
    }
}

#[test]
#[ignore = "tier full: a whole tailscale compile for arm64 (about 5 CPU minutes)"]
fn tier_full_arm64_exact_pin_under_qemu() {
    let s = staged(Arch::Arm64, None);
    check(Arch::Arm64, &s);
}

#[test]
fn a_wrong_graph_hash_fails_before_anything_is_built() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let mut m = meta(dir).unwrap();
    let pinned = m.go.as_ref().unwrap().graph_hash.as_ref().unwrap().to_string();
    let wrong = "ab".repeat(32);
    m.go.as_mut().unwrap().graph_hash = Some(talos_ext_build::model::Sha256::parse(&wrong).unwrap());
    let root = Pin::find_workspace_root(Path::new(dir)).unwrap();
    let fetch = FetchConfig::from_env(default_cache_dir(&root)).unwrap();
    let tool = talos_ext_build::go::GoTool::prepare(&root, &fetch, &talos_ext_build::fetch::NoReporter).unwrap();
    let goproxy = talos_ext_build::go::goproxy(&fetch);
    let err = talos_ext_build::go::resolve(&tool, &m, Path::new(dir), &m.arches, &goproxy, false, None)
        .expect_err("a wrong graph hash");
    let msg = format!("{err:#}");
    assert!(msg.contains(&format!("{dir}/Cargo.toml")), "{msg}");
    assert!(
        msg.contains(&format!("graph_hash is {wrong}, but the module graph of `tailscale` hashes to {pinned}")),
        "{msg}"
    );
}
