//! Builds `ecr-credential-provider` from the exact pin (the Go module `k8s.io/cloud-provider-aws`
//! v1.36.1 from the module proxy, or the cache after `cargo xtask fetch`) for both arches: the
//! program is static for the arch, holds no build path, reports the stamped version (arm64 under
//! qemu), the SBOM lists the module and the Go toolchain, and the kubelet configuration the crate
//! documents names the shipped plugin.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::{check_static_program, mode, stage, target_command};

fn check(arch: Arch) {
    let started = std::time::Instant::now();
    let s = stage(env!("CARGO_MANIFEST_DIR"), build::recipe, arch).unwrap_or_else(|e| panic!("{arch}: {e:#}"));
    eprintln!("ecr-credential-provider {arch}: built from the exact pin v1.36.1 in {:.0?}", started.elapsed());
    let rel = format!("{}/ecr-credential-provider", build::PLUGIN_DIR);
    let program = s.rootfs(&rel);
    assert_eq!(mode(&program), 0o755);
    check_static_program(arch, &program).unwrap_or_else(|e| panic!("{e:#}"));
    s.check_no_build_paths(&rel).unwrap();
    eprintln!("ecr-credential-provider {arch}: {} bytes", std::fs::metadata(&program).unwrap().len());
    let out = target_command(arch, &program).arg("--version").read().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.trim(), "ecr-credential-provider version v1.36.1", "--version");

    let sbom = talos_ext_build::sbom::spdx_path("ecr-credential-provider");
    assert_eq!(s.rootfs_files(), [rel.clone(), sbom.clone()]);
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(s.rootfs(&sbom)).unwrap()).unwrap();
    let names: Vec<(&str, &str)> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["versionInfo"].as_str().unwrap()))
        .collect();
    assert_eq!(names[0], ("ecr-credential-provider", "v1.36.1"));
    assert!(names.contains(&("go", "1.26.8")), "{names:?}");
    assert!(names.iter().any(|(n, _)| n.starts_with("github.com/aws/aws-sdk-go-v2")), "{names:?}");
}

#[test]
fn amd64_exact_pin() {
    check(Arch::Amd64);
}

#[test]
fn arm64_exact_pin_under_qemu() {
    check(Arch::Arm64);
}

#[test]
fn the_kubelet_configuration_names_the_plugin() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/files/credential-provider-config.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let doc: serde_json::Value = serde_norway::from_str(&text).unwrap();
    assert_eq!(doc["kind"], "CredentialProviderConfig");
    assert_eq!(doc["providers"][0]["name"], "ecr-credential-provider");
    assert_eq!(doc["providers"][0]["apiVersion"], "credentialprovider.kubelet.k8s.io/v1");
}
