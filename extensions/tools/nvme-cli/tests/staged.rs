//! Stages `nvme-cli` for both arches through its real recipe and the real recipes of its library
//! stages, from real upstream code given as local source overrides (the pinned URLs are
//! unreachable here): Debian's nvme-cli 2.16 and json-c 0.18 upstream tarballs and PyPI's sdist of
//! libnvme 1.16.2. Checks the tree (validated strictly by staging), that `nvme` is a static musl
//! binary for the right machine, that it runs (arm64 under `qemu-aarch64-static`) and reports
//! the versions it was built from, and that the overrides are recorded.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

#[path = "../../../internal/libnvme/build.rs"]
#[allow(dead_code)]
mod libnvme;

#[path = "../../../internal/json-c/build.rs"]
#[allow(dead_code)]
mod json_c;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use talos_ext_build::elf::ElfInfo;
use talos_ext_build::prelude::Result;
use talos_ext_build::testing::{Staged, TestOptions, debian_orig, pypi_sdist, stage_with, target_command};
use talos_ext_build::{Arch, SourceOverride, TestLibrary};

const NVME: &str = "usr/bin/nvme";
const RULES: &str = "usr/lib/udev/rules.d";

fn staged(arch: Arch) -> Staged {
    let source = |extension: &str, path: Result<PathBuf>| SourceOverride {
        extension: extension.into(),
        source: None,
        path: path.unwrap_or_else(|e| panic!("{e:#}")),
    };
    let mut opts = TestOptions::from_env().unwrap();
    opts.overrides = vec![
        source("nvme-cli", debian_orig("nvme-cli=2.16-1")),
        source("libnvme", pypi_sdist("libnvme==1.16.2")),
        source("json-c", debian_orig("json-c=0.18+ds-1")),
    ];
    opts.libraries =
        vec![TestLibrary::internal("json-c", json_c::recipe), TestLibrary::internal("libnvme", libnvme::recipe)];
    stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts).unwrap_or_else(|e| panic!("{arch}: {e:#}"))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Whether `text` holds a meson `@NAME@` placeholder (`nvmf-connect@--device` is not one).
fn has_placeholder(text: &str) -> bool {
    let parts: Vec<&str> = text.split('@').collect();
    let between = parts.get(1..parts.len().saturating_sub(1)).unwrap_or_default();
    between.iter().any(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
}

/// Checks one arch's tree and runs `nvme version` (arm64 under qemu).
fn check(arch: Arch) {
    let s = staged(arch);
    let mut overridden = s.overridden_sources.clone();
    overridden.sort();
    assert_eq!(
        overridden,
        ["json-c/json-c", "libnvme/libnvme", "nvme-cli"],
        "its own and its libraries' overridden sources"
    );

    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("  name: nvme-cli\n  version: v2.14\n"), "{manifest}");

    let all = s.rootfs_files();
    let sbom = talos_ext_build::sbom::spdx_path("nvme-cli");
    assert!(all.contains(&sbom), "{all:?}");
    let shipped = |f: &&String| f.as_str() == NVME || f.starts_with(RULES) || **f == sbom;
    assert!(all.iter().all(|f| shipped(&f)), "only nvme, udev rules and the SBOM ship: {all:?}");
    assert_eq!(mode(&s.rootfs(NVME)), 0o755);
    let rules: Vec<&String> = all.iter().filter(|f| f.starts_with(RULES)).collect();
    assert!(rules.iter().any(|f| f.ends_with("/70-nvmf-autoconnect.rules")), "{rules:?}");
    for r in &rules {
        assert_eq!(mode(&s.rootfs(r)), 0o644, "{r}");
        let text = std::fs::read_to_string(s.rootfs(r)).unwrap();
        assert!(!has_placeholder(&text), "{r} has an unsubstituted @VAR@:\n{text}");
    }
    // The TLS key rule runs the shipped program, with upstream's sbindir and sysconfdir.
    let keys = std::fs::read_to_string(s.rootfs(&format!("{RULES}/70-nvmf-keys.rules"))).unwrap();
    assert!(keys.contains(r#"RUN+="/usr/bin/nvme tls --import --keyfile /etc/nvme/tls-keys""#), "{keys}");

    let elf = ElfInfo::read(&s.rootfs(NVME)).unwrap();
    elf.check_talos_userland(arch.elf_machine()).unwrap();
    assert_eq!(elf.interpreter, None, "statically linked");
    assert!(elf.needed.is_empty(), "{:?}", elf.needed);

    let stdout = target_command(arch, &s.rootfs(NVME)).arg("version").read().unwrap_or_else(|e| panic!("{e}"));
    assert!(stdout.contains("nvme version 2.16"), "{stdout}");
    assert!(stdout.contains("libnvme version 1.16.2"), "{stdout}");
}

#[test]
fn tier_kinds_amd64_tree_binary_and_version() {
    check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_tree_binary_and_version_under_qemu() {
    check(Arch::Arm64);
}
