//! Builds `util-linux-tools` from its exact pin, offline, through a directory mirror holding the
//! real upstream tarball (Debian's `.orig`, byte-identical to the kernel.org release), for both
//! arches; checks the staged tree, the binaries' machine and libc, and runs them.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use std::os::unix::fs::PermissionsExt;

use talos_ext_build::Arch;
use talos_ext_build::elf::ElfInfo;
use talos_ext_build::testing::{Staged, stage_debian_pin, target_command};

const VERSION: &str = "2.42.2";

/// Stages `arch` from a fresh cache and a mirror holding only the pinned tarball, offline.
fn staged_from_mirror(arch: Arch) -> Staged {
    // Fails unless Debian's orig is the pinned release, byte for byte, and nothing is overridden.
    stage_debian_pin(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, "util-linux", "util-linux=2.42.2-1")
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"))
}

/// Checks the tree, the ELF headers, and that each program reports the pinned version.
fn check(s: &Staged, arch: Arch) {
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains(&format!("  version: {VERSION}\n")), "{manifest}");
    let programs: Vec<String> = build::PROGRAMS.iter().map(|p| format!("usr/local/{p}")).collect();
    let mut want = programs.clone();
    want.push(talos_ext_build::sbom::spdx_path("util-linux-tools"));
    want.sort();
    assert_eq!(s.rootfs_files(), want, "the programs and the SBOM, nothing else");
    for rel in &programs {
        let path = s.rootfs(rel);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777, 0o755, "{rel}");
        let elf = ElfInfo::read(&path).unwrap();
        elf.check_talos_userland(arch.elf_machine()).unwrap_or_else(|e| panic!("{rel}: {e:#}"));
        assert_eq!(elf.interpreter, None, "{rel} is statically linked");
        assert!(elf.needed.is_empty(), "{rel} needs {:?}", elf.needed);
        let text = target_command(arch, &path).arg("--version").read();
        let text = text.unwrap_or_else(|e| panic!("{rel} --version: {e}"));
        assert!(text.contains(&format!("util-linux {VERSION}")), "{rel} --version: {text}");
    }
}

#[test]
fn tier_kinds_amd64_from_pin_through_mirror_offline() {
    let s = staged_from_mirror(Arch::Amd64);
    check(&s, Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_from_pin_through_mirror_offline() {
    let s = staged_from_mirror(Arch::Arm64);
    check(&s, Arch::Arm64);
}
