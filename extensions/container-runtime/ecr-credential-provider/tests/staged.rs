//! Builds `ecr-credential-provider` from the exact pin (the Go module `k8s.io/cloud-provider-aws`
//! v1.36.1 from the module proxy, or the cache after `cargo xtask fetch`) for both arches: the
//! program is static for the arch, holds no build path, reports the stamped version (arm64 under
//! qemu), the SBOM lists the module and the Go toolchain, and the kubelet configuration the crate
//! documents names the shipped plugin. The amd64 build is done twice, the second time in other
//! directories with an empty Go build cache: the programs are byte-identical. An empty offline
//! cache resolves the pinned module graph from a mirror (the air-gapped path).

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::{Staged, TestOptions, check_static_program, mode, stage, stage_with, target_command};

/// Stages `arch` with the test environment's options (`stage`), or with `opts` (another work
/// directory or Go build cache).
fn staged(arch: Arch, opts: Option<&TestOptions>) -> Staged {
    let started = std::time::Instant::now();
    let dir = env!("CARGO_MANIFEST_DIR");
    let s = match opts {
        None => stage(dir, build::recipe, arch),
        Some(opts) => stage_with(dir, build::recipe, arch, opts),
    }
    .unwrap_or_else(|e| panic!("{arch}: {e:#}"));
    eprintln!("ecr-credential-provider {arch}: built from the exact pin v1.36.1 in {:.0?}", started.elapsed());
    s
}

fn check(arch: Arch, s: &Staged) {
    let rel = format!("{}/ecr-credential-provider", build::PLUGIN_DIR);
    let program = s.rootfs(&rel);
    assert_eq!(mode(&program), 0o755);
    check_static_program(arch, &program).unwrap_or_else(|e| panic!("{e:#}"));
    s.check_no_build_paths(&rel).unwrap();
    eprintln!("ecr-credential-provider {arch}: {} bytes", std::fs::metadata(&program).unwrap().len());
    let out = target_command(arch, &program).arg("--version").read().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.trim(), "ecr-credential-provider version v1.36.1", "--version");

    let sbom = talos_ext_build::sbom::spdx_path("ecr-credential-provider");
    assert_eq!(s.rootfs_files(), [rel.clone(), sbom]);
    let names = s.sbom_packages("ecr-credential-provider").unwrap();
    let names: Vec<(&str, &str)> = names.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert_eq!(names[0], ("ecr-credential-provider", "v1.36.1"));
    assert!(names.contains(&("go", "1.26.8")), "{names:?}");
    assert!(names.iter().any(|(n, _)| n.starts_with("github.com/aws/aws-sdk-go-v2")), "{names:?}");
}

#[test]
fn tier_kinds_amd64_exact_pin_built_twice_in_different_directories_is_byte_identical() {
    let opts = TestOptions::from_env().unwrap();
    let first = staged(Arch::Amd64, None);
    check(Arch::Amd64, &first);
    // Again, in another work directory and with an empty Go build cache (only the module cache
    // is shared): everything is compiled anew.
    let tmp = tempfile::tempdir().unwrap();
    let mut again = opts.clone();
    again.work_dir = Some(tmp.path().join("elsewhere/out"));
    again.go_cache = Some(tmp.path().join("gocache"));
    let second = staged(Arch::Amd64, Some(&again));
    assert_ne!(first.dir, second.dir);
    let rel = format!("{}/ecr-credential-provider", build::PLUGIN_DIR);
    let (a, b) = (std::fs::read(first.rootfs(&rel)).unwrap(), std::fs::read(second.rootfs(&rel)).unwrap());
    assert!(a == b, "the two builds differ ({} and {} bytes)", a.len(), b.len());
}

#[test]
fn tier_kinds_arm64_exact_pin_under_qemu() {
    let s = staged(Arch::Arm64, None);
    check(Arch::Arm64, &s);
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

/// Air-gapped: the toolchain and modules written to a directory mirror (as `cargo xtask mirror`
/// writes them) serve a machine with an empty cache and no network: the toolchain comes from
/// `<mirror>/sha256/`, the modules through `GOPROXY=file://<mirror>/go`, and the graph hashes to
/// the pin.
#[test]
fn an_empty_offline_cache_resolves_the_pinned_graph_from_a_mirror() {
    use talos_ext_build::fetch::{FetchConfig, Mirror, NoReporter};
    use talos_ext_build::go::{GoTool, goproxy, mirror_modules, resolve};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let meta = talos_ext_build::testing::meta(env!("CARGO_MANIFEST_DIR")).unwrap();
    let root = talos_ext_build::model::Pin::find_workspace_root(dir).unwrap();
    let online = FetchConfig::from_env(talos_ext_build::default_cache_dir(&root)).unwrap();
    let tool = GoTool::prepare(&root, &online, &NoReporter).unwrap();
    resolve(&tool, &meta, dir, &meta.arches, &goproxy(&online), false, None).unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let mirror = tmp.path().join("mirror");
    talos_ext_build::fetch::mirror_into(&mirror, &tool.source, &online.cache_path(&tool.source.sha256)).unwrap();
    assert!(mirror_modules(&tool, &mirror).unwrap() > 0);
    let escaped = mirror.join("go/k8s.io/cloud-provider-aws/@v");
    for file in ["v1.36.1.mod", "v1.36.1.zip", "v1.36.1.info"] {
        assert!(escaped.join(file).is_file(), "{file} in the proxy layout");
    }

    let mut offline = FetchConfig::new(tmp.path().join("cache"));
    offline.mirrors = vec![Mirror::Dir(mirror.clone())];
    offline.offline = true;
    assert_eq!(goproxy(&offline), format!("file://{}", mirror.join("go").display()));
    let air_gapped = GoTool::prepare(&root, &offline, &NoReporter).unwrap();
    assert_eq!(air_gapped.version, "go1.26.8");
    let graph = resolve(&air_gapped, &meta, dir, &meta.arches, &goproxy(&offline), false, None).unwrap();
    assert_eq!(Some(graph.hash.as_str()), meta.go.as_ref().unwrap().graph_hash.as_ref().map(|h| h.as_str()));
    assert!(graph.modules.iter().any(|m| m.path == "k8s.io/cloud-provider-aws" && m.version == "v1.36.1"));
    // Without the mirror nothing is there: the error says to fetch first.
    let mut bare = FetchConfig::new(tmp.path().join("cache"));
    bare.offline = true;
    assert_eq!(goproxy(&bare), "off");
    let empty = tmp.path().join("empty");
    let mut fresh = bare.clone();
    fresh.cache_dir = empty;
    fresh.mirrors = vec![Mirror::Dir(mirror)];
    let tool = GoTool::prepare(&root, &fresh, &NoReporter).unwrap();
    let err = resolve(&tool, &meta, dir, &meta.arches, "off", false, None).expect_err("no modules, no proxy");
    assert!(format!("{err:#}").contains("run `cargo xtask fetch` first"), "{err:#}");
}
