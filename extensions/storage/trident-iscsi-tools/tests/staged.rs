//! Builds `trident-iscsi-tools` from its exact pins, offline, through a directory mirror holding
//! the four real upstream tarballs (Debian's `.orig` of lsscsi 0.32, coreutils 9.10, procps-ng
//! 4.0.4 and util-linux 2.42.2, each checked to be the pinned file byte for byte), for both
//! arches; checks the staged tree, the SBOM, the binaries' machine and libc, and runs each
//! program (amd64 natively, arm64 under qemu).

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::elf::ElfInfo;
use talos_ext_build::testing::{
    Staged, TestOptions, check_offline_fails_naming_a_source, mode, stage_with, target_command,
};

/// Debian's source packages carrying each pinned tarball.
const DEBIAN: &[(&str, &str)] = &[
    ("lsscsi", "lsscsi=0.32-2"),
    ("coreutils", "coreutils=9.10-1"),
    ("procps-ng", "procps=2:4.0.4-9"),
    ("util-linux", "util-linux=2.42.2-1"),
];

/// Stages `arch` from a fresh cache and a mirror holding only the pinned tarballs, offline.
fn staged_from_mirror(arch: Arch) -> Staged {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let pins: Vec<_> = DEBIAN.iter().map(|(source, spec)| (here, *source, *spec)).collect();
    let tmp = tempfile::tempdir().unwrap();
    // Fails unless each of Debian's tarballs is the pinned file.
    let opts = TestOptions::offline_debian_pins(tmp.path(), arch, &pins).unwrap_or_else(|e| panic!("{e:#}"));
    let staged = stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts)
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    assert!(staged.overridden_sources.is_empty(), "built from the pins, not overrides");
    staged
}

/// A program's `--version` output names its project's pinned release.
fn version_line(dest: &str) -> &'static str {
    match dest.rsplit('/').next().unwrap() {
        "lsscsi" => "0.32",
        "blockdev" => "util-linux 2.42.2",
        "free" | "pgrep" => "procps-ng 4.0.4",
        _ => "coreutils) 9.10",
    }
}

fn check(s: &Staged, arch: Arch) {
    let programs: Vec<&str> =
        build::BUILT_PROGRAMS.iter().chain(build::INSTALLED_PROGRAMS).map(|(_, _, dest)| *dest).collect();
    let mut want: Vec<String> = programs.iter().map(|p| p.to_string()).collect();
    want.push(talos_ext_build::sbom::spdx_path("trident-iscsi-tools"));
    want.sort();
    assert_eq!(s.rootfs_files(), want, "the seven programs and the SBOM, nothing else");
    for rel in &programs {
        let path = s.rootfs(rel);
        assert_eq!(mode(&path), 0o755, "{rel}");
        let elf = ElfInfo::read(&path).unwrap();
        elf.check_talos_userland(arch.elf_machine()).unwrap_or_else(|e| panic!("{rel}: {e:#}"));
        assert_eq!(elf.interpreter, None, "{rel} is statically linked");
        assert!(elf.needed.is_empty(), "{rel} needs {:?}", elf.needed);
        // lsscsi prints its version with -V; the others take --version.
        let flag = if rel.ends_with("/lsscsi") { "-V" } else { "--version" };
        let out = target_command(arch, &path).arg(flag).output().unwrap_or_else(|e| panic!("{rel} {flag}: {e}"));
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(text.contains(version_line(rel)), "{rel} {flag}: {text}");
    }
    // They do their jobs: cat and dd copy bytes, ls lists a directory, pgrep finds no such process.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data");
    std::fs::write(&file, b"iscsi\n").unwrap();
    let cat = target_command(arch, &s.rootfs("usr/local/bin/cat")).arg(&file).read().unwrap();
    assert_eq!(cat, "iscsi\n");
    let ls = target_command(arch, &s.rootfs("usr/local/bin/ls")).arg(dir.path()).read().unwrap();
    assert_eq!(ls.trim(), "data");
    let out = dir.path().join("copy");
    target_command(arch, &s.rootfs("usr/local/bin/dd"))
        .arg(format!("if={}", file.display()))
        .arg(format!("of={}", out.display()))
        .arg("status=none")
        .output()
        .unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), b"iscsi\n");
    // The SBOM lists each project built in, with its pinned source.
    let sbom = std::fs::read(s.rootfs(&talos_ext_build::sbom::spdx_path("trident-iscsi-tools"))).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&sbom).unwrap();
    let mut packages: Vec<(&str, &str)> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["versionInfo"].as_str().unwrap()))
        .collect();
    packages.sort();
    let mut want: Vec<(&str, &str)> = build::BUNDLED.iter().map(|(name, version, ..)| (*name, *version)).collect();
    want.push(("trident-iscsi-tools", "v0.0.1"));
    want.sort();
    assert_eq!(packages, want);
}

#[test]
fn offline_without_the_source_fails_naming_it() {
    check_offline_fails_naming_a_source(env!("CARGO_MANIFEST_DIR"), build::recipe);
}

#[test]
fn tier_kinds_amd64_from_pins_through_mirror_offline() {
    let s = staged_from_mirror(Arch::Amd64);
    check(&s, Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_from_pins_through_mirror_offline() {
    let s = staged_from_mirror(Arch::Arm64);
    check(&s, Arch::Arm64);
}
