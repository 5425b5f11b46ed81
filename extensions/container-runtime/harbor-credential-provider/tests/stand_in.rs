//! Stages `harbor-credential-provider` for both arches from a GENERATED STAND-IN source tree,
//! never upstream's code: the pinned v0.0.1 tarball of
//! container-registry/harbor-workload-identity-federation is on GitHub, which is not reachable
//! here, no package archive carries it, and the Go module proxy does not serve its module. The
//! stand-in is a `.tar.gz` in the release tarball's layout (`harbor-workload-identity-federation-
//! 0.0.1/`): a `go.mod` declaring upstream's module path (no dependencies: the standard library
//! only, so nothing is downloaded), an empty `go.sum`, and our own small `main` package at
//! upstream's `cmd/credential-provider-harbor` that speaks the kubelet's credential provider
//! protocol the way upstream's program does (a `CredentialProviderRequest` with a service
//! account token on stdin, a `CredentialProviderResponse` with `jwt:<token>` for the image's
//! registry on stdout; `--version` prints the stamped version). It is served through an offline
//! directory mirror under the test's own pin (`testing::Repin`, listed in
//! `extensions/test-overrides.toml`), so the recipe's real source-tree Go build runs on it.
//!
//! Checks the installed path, name and mode, that the program is static for the arch, holds no
//! build path and runs (arm64 under qemu) with the recipe's version stamp, the SBOM, and the
//! kubelet configuration the crate documents (`files/credential-provider-config.yaml`).

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use std::path::{Path, PathBuf};

use talos_ext_build::Arch;
use talos_ext_build::testing::{
    Staged, TestOptions, check_offline_fails_naming_a_source, check_static_program, meta, mode, stage_with,
    stand_in_options, target_command, write_tar_gz,
};

/// The pinned source's name in the recipe.
const SOURCE: &str = "harbor-workload-identity-federation";

/// What the stand-in prints after the stamped version for `--version`.
const STAND_IN: &str = "(GENERATED STAND-IN of credential-provider-harbor, not upstream's source)";

/// The stand-in's `main` package (our own code, not upstream's): the kubelet's credential
/// provider exchange with the standard library's JSON.
const MAIN_GO: &str = r#"// GENERATED STAND-IN of upstream's cmd/credential-provider-harbor, written for the tests.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
)

var version = "unset"

type request struct {
	APIVersion          string `json:"apiVersion"`
	Kind                string `json:"kind"`
	Image               string `json:"image"`
	ServiceAccountToken string `json:"serviceAccountToken"`
}

type auth struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type response struct {
	APIVersion   string          `json:"apiVersion"`
	Kind         string          `json:"kind"`
	CacheKeyType string          `json:"cacheKeyType"`
	Auth         map[string]auth `json:"auth"`
}

const api = "credentialprovider.kubelet.k8s.io/v1"

func main() {
	username := flag.String("username", "jwt", "the user name of the returned credentials")
	showVersion := flag.Bool("version", false, "print the version")
	flag.Parse()
	if *showVersion {
		fmt.Println(version, "(GENERATED STAND-IN of credential-provider-harbor, not upstream's source)")
		return
	}
	var req request
	dec := json.NewDecoder(os.Stdin)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, "error parsing input:", err)
		os.Exit(1)
	}
	if req.APIVersion != api || req.Kind != "CredentialProviderRequest" || req.ServiceAccountToken == "" {
		fmt.Fprintln(os.Stderr, "not a credential provider request with a service account token")
		os.Exit(1)
	}
	host := strings.SplitN(req.Image, "/", 2)[0]
	out := response{APIVersion: api, Kind: "CredentialProviderResponse", CacheKeyType: "Image",
		Auth: map[string]auth{host: {Username: *username, Password: req.ServiceAccountToken}}}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
"#;

/// The stand-in release tarball in `dir`.
fn stand_in_source(dir: &Path) -> PathBuf {
    let top = "harbor-workload-identity-federation-0.0.1";
    let files = [
        (
            format!("{top}/go.mod"),
            "module github.com/container-registry/harbor-workload-identity-federation\n\ngo 1.24.0\n",
        ),
        (format!("{top}/go.sum"), ""),
        (format!("{top}/README.md"), "GENERATED STAND-IN of harbor-workload-identity-federation v0.0.1's tree.\n"),
        (format!("{top}/cmd/credential-provider-harbor/main.go"), MAIN_GO),
    ];
    let members: Vec<(String, Vec<u8>, u32)> =
        files.into_iter().map(|(path, text)| (path, text.as_bytes().to_vec(), 0o644)).collect();
    let file = dir.join("v0.0.1.tar.gz");
    write_tar_gz(&file, &members).unwrap_or_else(|e| panic!("{e:#}"));
    file
}

/// Stages `arch` from the stand-in, offline: the stand-in through a directory mirror under the
/// test's own pin, the pinned Go toolchain from the cache (fetched first when it is not there).
fn stage_stand_in(arch: Arch, tmp: &Path) -> anyhow::Result<Staged> {
    let source = stand_in_source(tmp);
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = talos_ext_build::model::Pin::find_workspace_root(here).expect("the workspace root");
    let env = TestOptions::from_env()?;
    talos_ext_build::go::GoTool::prepare(&root, &env.fetch, &talos_ext_build::fetch::NoReporter)?;
    let opts = stand_in_options(&tmp.join("fetch"), &[(SOURCE, arch, &source)])?;
    stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts)
}

fn check(arch: Arch) {
    let tmp = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let s = stage_stand_in(arch, tmp.path()).unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    eprintln!(
        "harbor-credential-provider {arch}: built from a GENERATED STAND-IN source tree, not upstream's v0.0.1, in {:.0?}",
        started.elapsed()
    );
    let rel = format!("{}/{}", build::PLUGIN_DIR, build::PLUGIN);
    let sbom = talos_ext_build::sbom::spdx_path("harbor-credential-provider");
    assert_eq!(s.rootfs_files(), [rel.clone(), sbom]);
    let program = s.rootfs(&rel);
    assert_eq!(mode(&program), 0o755);
    check_static_program(arch, &program).unwrap_or_else(|e| panic!("{e:#}"));
    s.check_no_build_paths(&rel).unwrap();

    // The recipe's version stamp (`-X main.version=v0.0.1`) reached the program.
    let out = target_command(arch, &program).arg("--version").read().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.trim(), format!("v0.0.1 {STAND_IN}"));

    // The kubelet's exchange, with the arguments the documented configuration passes.
    let request = r#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"harbor.example.com/library/nginx:1.27","serviceAccountToken":"eyJ.token"}"#;
    let out = target_command(arch, &program)
        .arg("--username=jwt")
        .stdin_bytes(request)
        .read()
        .unwrap_or_else(|e| panic!("{e}"));
    let response: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(response["kind"], "CredentialProviderResponse");
    assert_eq!(response["apiVersion"], "credentialprovider.kubelet.k8s.io/v1");
    assert_eq!(response["auth"]["harbor.example.com"]["username"], "jwt");
    assert_eq!(response["auth"]["harbor.example.com"]["password"], "eyJ.token");

    // The SBOM: the extension and the Go toolchain; the stand-in has no module dependencies.
    let packages = s.sbom_packages("harbor-credential-provider").unwrap();
    assert_eq!(packages[0], ("harbor-credential-provider".to_string(), "v0.0.1".to_string()), "{packages:?}");
    assert!(packages.iter().any(|(n, _)| n == "go"), "{packages:?}");
}

#[test]
fn amd64_stand_in_source_builds_installs_and_answers_the_kubelet() {
    check(Arch::Amd64);
}

#[test]
fn arm64_stand_in_source_builds_installs_and_answers_the_kubelet_under_qemu() {
    check(Arch::Arm64);
}

/// The recipe builds upstream's package in the pinned tarball's top module, with its stamp.
#[test]
fn the_go_build_runs_in_the_pinned_tarballs_top_module() {
    let m = meta(env!("CARGO_MANIFEST_DIR")).unwrap();
    let go = m.go.as_ref().unwrap();
    assert_eq!(go.source.as_deref(), Some(SOURCE));
    assert_eq!(go.dir, "");
    assert!(!go.vendor && !go.cgo);
    assert_eq!(go.packages, [format!("{}/cmd/credential-provider-harbor", go.module)]);
    assert_eq!(go.ldflags, ["-X=main.version=v0.0.1"]);
    let source = m.sources.iter().find(|s| s.name == SOURCE).unwrap();
    assert!(source.url.ends_with("/archive/refs/tags/v0.0.1.tar.gz"), "{}", source.url);
}

/// The kubelet configuration the crate documents names the shipped plugin, asks the kubelet for
/// a service account token with the registry as its audience, and passes `--username=jwt`.
#[test]
fn the_kubelet_configuration_names_the_plugin() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/files/credential-provider-config.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let doc: serde_json::Value = serde_norway::from_str(&text).unwrap();
    assert_eq!(doc["apiVersion"], "kubelet.config.k8s.io/v1");
    assert_eq!(doc["kind"], "CredentialProviderConfig");
    let provider = &doc["providers"][0];
    assert_eq!(provider["name"], build::PLUGIN);
    assert_eq!(provider["apiVersion"], "credentialprovider.kubelet.k8s.io/v1");
    assert!(provider["defaultCacheDuration"].is_string(), "the kubelet's API requires it");
    let tokens = &provider["tokenAttributes"];
    assert_eq!(tokens["requireServiceAccount"], true);
    assert_eq!(tokens["cacheType"], "Token");
    assert_eq!(provider["matchImages"][0], tokens["serviceAccountTokenAudience"], "the audience is the registry");
    assert_eq!(provider["args"], serde_json::json!(["--username=jwt"]));
}

#[test]
fn offline_without_the_tarball_fails_naming_the_source() {
    check_offline_fails_naming_a_source(env!("CARGO_MANIFEST_DIR"), build::recipe);
}
