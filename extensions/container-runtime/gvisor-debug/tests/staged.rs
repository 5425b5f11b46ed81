//! Stages `gvisor-debug` for both arches (our own two files; no upstream bytes are involved) and
//! checks them: exactly the CRI part and the runsc configuration it names, mode 0644 (and the
//! SBOM naming only this extension); the part
//! passes the strict `cri-part` rule, declares the `runsc` handler as the gvisor extension does
//! and names the shipped `runsc.toml` as its `ConfigPath`; that file turns on the shim's and
//! runsc's debug logs. A copy of the tree without `runsc.toml` is refused by strict validation,
//! naming the part.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use std::path::Path;

use talos_ext_build::testing::{Pins, Staged, mode, stage};
use talos_ext_build::validate::{Options, Rule, cri, validate_dir};
use talos_ext_build::{Arch, sbom};

const PART: &str = "etc/cri/conf.d/11-gvisor-debug.part";
const RUNSC: &str = "etc/cri/conf.d/runsc.toml";

fn staged(arch: Arch) -> Staged {
    stage(env!("CARGO_MANIFEST_DIR"), build::recipe, arch).unwrap_or_else(|e| panic!("staging {arch}: {e:#}"))
}

fn strict() -> Options {
    Options {
        strict: true,
        pkg_name: Some("gvisor-debug".into()),
        talos_version: Pins::load().unwrap().pin.talos.tag,
        kernel: None,
    }
}

fn check(arch: Arch) {
    let s = staged(arch);
    assert_eq!(s.overridden_sources, Vec::<String>::new());
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("  name: gvisor-debug\n  version: v1.0.0\n"), "{manifest}");
    // Configuration only: the two files and the SBOM every staged extension carries, which
    // names this extension alone (no upstream component: `sbom_exempt`).
    let spdx = sbom::spdx_path("gvisor-debug");
    assert_eq!(s.rootfs_files(), [PART, RUNSC, spdx.as_str()], "{arch}");
    assert_eq!(s.sbom_packages("gvisor-debug").unwrap(), [("gvisor-debug".to_string(), "v1.0.0".to_string())]);
    for file in [PART, RUNSC] {
        assert_eq!(mode(&s.rootfs(file)), 0o644, "{file}");
    }

    let part = std::fs::read(s.rootfs(PART)).unwrap();
    assert_eq!(cri::check("11-gvisor-debug.part", &part), Vec::<String>::new());
    assert_eq!(cri::config_paths(&part), ["/etc/cri/conf.d/runsc.toml"]);
    let table: toml::Table = toml::from_str(std::str::from_utf8(&part).unwrap()).unwrap();
    let runsc = &table["plugins"]["io.containerd.cri.v1.runtime"]["containerd"]["runtimes"]["runsc"];
    assert_eq!(runsc["runtime_type"].as_str(), Some("io.containerd.runsc.v1"), "the gvisor extension's shim");
    assert_eq!(runsc["options"]["TypeUrl"].as_str(), Some("io.containerd.runsc.v1.options"));

    let config: toml::Table = toml::from_str(&std::fs::read_to_string(s.rootfs(RUNSC)).unwrap()).unwrap();
    assert_eq!(config["log_level"].as_str(), Some("debug"), "the shim's log level");
    assert_eq!(config["log_path"].as_str(), Some("/var/log/runsc/%ID%/shim.log"));
    let flags = config["runsc_config"].as_table().unwrap();
    assert_eq!(flags["debug"].as_str(), Some("true"), "runsc --debug");
    assert_eq!(flags["debug-log"].as_str(), Some("/var/log/runsc/%ID%/gvisor.%COMMAND%.log"));

    // The staged tree validates strictly; without the file its part names (removed from this
    // test's own staging directory), it must not.
    assert!(validate_dir(&s.dir, &strict()).unwrap().findings.is_empty(), "the staged tree is clean");
    std::fs::remove_file(s.rootfs(RUNSC)).unwrap();
    let report = validate_dir(&s.dir, &strict()).unwrap();
    assert!(
        report.findings.iter().any(|f| f.rule == Rule::CriPart && f.path == format!("/{PART}")),
        "a part whose ConfigPath is not shipped is a cri-part finding naming it:\n{report}"
    );
}

/// The gvisor extension ships a `runsc.toml` at the same path with other contents: this
/// extension's file is meant to replace it (see `extensions/conflicts-allow.toml`), and both
/// parts declare the same handler with the same shim.
#[test]
fn replaces_the_runsc_configuration_of_the_gvisor_extension() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let gvisor = here.join("../gvisor/files");
    let ours = std::fs::read_to_string(here.join("files/runsc.toml")).unwrap();
    let theirs = std::fs::read_to_string(gvisor.join("runsc.toml")).unwrap();
    assert_ne!(ours, theirs, "otherwise there is nothing to replace");
    let ours_part = std::fs::read(here.join("files/11-gvisor-debug.part")).unwrap();
    let theirs_part = std::fs::read(gvisor.join("10-gvisor.part")).unwrap();
    assert_eq!(cri::config_paths(&ours_part), cri::config_paths(&theirs_part), "the same runsc.toml path");
    let allow = std::fs::read_to_string(here.join("../../conflicts-allow.toml")).unwrap();
    let allow: toml::Table = toml::from_str(&allow).unwrap();
    let listed = allow["allow"].as_array().unwrap().iter().any(|a| {
        a["path"].as_str() == Some("etc/cri/conf.d/runsc.toml")
            && a["extensions"].as_array().unwrap().iter().filter_map(|e| e.as_str()).eq(["gvisor", "gvisor-debug"])
    });
    assert!(listed, "extensions/conflicts-allow.toml lists the intended overlap");
}

#[test]
fn tier_kinds_amd64_debug_part_and_runsc_configuration() {
    check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_debug_part_and_runsc_configuration() {
    check(Arch::Arm64);
}
