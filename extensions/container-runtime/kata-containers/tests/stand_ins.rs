//! Stages `kata-containers` for both arches from GENERATED STAND-INS, never the real bytes:
//! Kata's release tarballs (`kata-static-3.32.0-<arch>.tar.zst`) are on GitHub, which is not
//! reachable here, and no package archive carries them. The stand-in (`testing::kata`, shared
//! with `kata-containers-snp`, whose pieces of the same release it also holds) is a `.tar.zst` in
//! the release's layout (`./opt/kata/...`: `cloud-hypervisor`, `qemu-system-<arch>` and `virtiofsd`
//! as small static musl programs the test builds, which print `stand-in <name>, not the vendor
//! bytes`; guest kernel and image as versioned files behind links; QEMU's data directory with
//! files the recipe keeps and files it must drop; AAVMF on arm64; a default
//! `configuration-qemu.toml` naming `/opt/kata` paths), served through an offline directory
//! mirror under the test's own pin (`testing::Repin`, listed in `extensions/test-overrides.toml`).
//!
//! Checks the exact file list, modes, the programs (ELF machine, static, they run: arm64 under
//! qemu), the SBOM's binary components, the QEMU firmware link, both configuration files (TOML,
//! the paths they name are shipped) and both CRI parts (the strict `cri-part` rule, the
//! handlers and the configuration each names), and that the other arch's programs are refused.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use std::path::{Path, PathBuf};

use talos_ext_build::testing::kata::{QEMU_DATA, QEMU_DEFAULTS, stand_in_kata_static};
use talos_ext_build::testing::prebuilt::stand_in_line;
use talos_ext_build::testing::{
    Staged, TestOptions, check_static_program, mode, stage_with, stand_in_options, target_command,
};
use talos_ext_build::validate::cri;
use talos_ext_build::{Arch, sbom};

/// What the stand-in shim prints for `--version`: its vendored package's line, then the values
/// upstream's Makefile generated into `pkg/katautils/config-settings.go`.
fn shim_line(goarch: &str) -> String {
    format!("stand-in containerd-shim-kata-v2, not Kata's source 3.32.0 {goarch} /usr/local")
}

/// The stand-in of Kata's release source tarball (`kata-containers-3.32.0/...`): at
/// `src/runtime` a Go module with Kata's module path, a `vendor/` directory holding one
/// generated package (the build must take it from there: `GOPROXY=off`), the template
/// `pkg/katautils/config-settings.go.in`, a Makefile whose only target generates the Go file
/// from it the way upstream's does (`sed` of `@VERSION@`, `@ARCH@`, `@PREFIX@`), and
/// `cmd/containerd-shim-kata-v2`, a `main` package using both. Not Kata's code.
fn stand_in_source(dir: &Path) -> PathBuf {
    let top = "kata-containers-3.32.0";
    let rt = format!("{top}/src/runtime");
    let files: Vec<(String, &str)> = vec![
        (format!("{top}/VERSION"), "3.32.0\n"),
        (format!("{rt}/VERSION"), "3.32.0\n"),
        (
            format!("{rt}/Makefile"),
            "# GENERATED STAND-IN of Kata's src/runtime/Makefile: only the generated Go file.\n\
             ARCH ?= $(shell uname -m)\nPREFIX ?= /usr\nVERSION := $(shell cat ./VERSION)\n\
             pkg/katautils/config-settings.go: pkg/katautils/config-settings.go.in VERSION\n\
             \tsed -e \"s|@VERSION@|$(VERSION)|g\" -e \"s|@ARCH@|$(ARCH)|g\" -e \"s|@PREFIX@|$(PREFIX)|g\" $< > $@\n",
        ),
        (
            format!("{rt}/go.mod"),
            "module github.com/kata-containers/kata-containers/src/runtime\n\ngo 1.23\n\nrequire example.com/standin v1.0.0\n",
        ),
        (
            format!("{rt}/go.sum"),
            "example.com/standin v1.0.0 h1:c3RhbmQtaW4gbW9kdWxlLCBub3QgcmVhbA==\n\
             example.com/standin v1.0.0/go.mod h1:c3RhbmQtaW4gZ28ubW9k\n",
        ),
        (
            format!("{rt}/vendor/modules.txt"),
            "# example.com/standin v1.0.0\n## explicit; go 1.21\nexample.com/standin\n",
        ),
        (
            format!("{rt}/vendor/example.com/standin/standin.go"),
            "package standin\n\n// Line is what the stand-in shim prints first.\nfunc Line(name string) string {\n\treturn \"stand-in \" + name + \", not Kata's source\"\n}\n",
        ),
        (
            format!("{rt}/pkg/katautils/config-settings.go.in"),
            "package katautils\n\nvar Version = \"@VERSION@\"\nvar Arch = \"@ARCH@\"\nvar Prefix = \"@PREFIX@\"\n",
        ),
        (
            format!("{rt}/cmd/containerd-shim-kata-v2/main.go"),
            "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/standin\"\n\t\"github.com/kata-containers/kata-containers/src/runtime/pkg/katautils\"\n)\n\n\
             func main() {\n\tfmt.Println(standin.Line(\"containerd-shim-kata-v2\"), katautils.Version, katautils.Arch, katautils.Prefix)\n}\n",
        ),
    ];
    let members: Vec<(String, Vec<u8>, u32)> =
        files.into_iter().map(|(path, text)| (path, text.as_bytes().to_vec(), 0o644)).collect();
    let file = dir.join("3.32.0.tar.gz");
    talos_ext_build::testing::write_tar_gz(&file, &members).unwrap_or_else(|e| panic!("{e:#}"));
    file
}

/// Stages `arch` from the stand-ins (the release tarball's programs built for `program_arch`),
/// offline: the stand-ins through a directory mirror, the pinned Go toolchain from the cache
/// (fetched from the module proxy first when it is not there yet).
fn stage_stand_in(arch: Arch, program_arch: Arch, tmp: &Path) -> anyhow::Result<Staged> {
    let tarball = stand_in_kata_static(arch, program_arch, tmp)?;
    let source = stand_in_source(tmp);
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = talos_ext_build::model::Pin::find_workspace_root(here).expect("the workspace root");
    let env = TestOptions::from_env()?;
    talos_ext_build::go::GoTool::prepare(&root, &env.fetch, &talos_ext_build::fetch::NoReporter)?;
    let opts =
        stand_in_options(&tmp.join("fetch"), &[("kata-static", arch, &tarball), ("kata-containers", arch, &source)])?;
    stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts)
}

/// The rootfs files a staging of `arch` must ship, sorted.
fn expected_files(arch: Arch) -> Vec<String> {
    let qemu = build::qemu_program(arch);
    let mut files = vec![
        "etc/cri/conf.d/10-kata-containers.part".to_string(),
        "etc/cri/conf.d/11-kata-qemu.part".to_string(),
        "usr/local/bin/cloud-hypervisor".to_string(),
        "usr/local/bin/containerd-shim-kata-v2".to_string(),
        format!("usr/local/bin/{qemu}"),
        "usr/local/bin/qemu-bundle/opt/kata/share/kata-qemu/qemu".to_string(),
        "usr/local/libexec/virtiofsd".to_string(),
        format!("{}/configuration-qemu.toml", build::SHARE),
        format!("{}/configuration.toml", build::SHARE),
        format!("{}/kata-containers.img", build::SHARE),
        format!("{}/vmlinux.container", build::SHARE),
        sbom::spdx_path("kata-containers"),
    ];
    for (name, kept) in QEMU_DATA {
        if *kept {
            files.push(format!("usr/local/share/kata-qemu/qemu/{name}"));
        }
    }
    if arch == Arch::Arm64 {
        files.push("usr/local/share/aavmf/AAVMF_CODE.fd".into());
    }
    files.sort();
    files
}

/// A TOML string value at `keys` of `table`.
fn string_at<'a>(table: &'a toml::Table, keys: &[&str]) -> &'a str {
    let mut value = table.get(keys[0]).unwrap_or_else(|| panic!("no `{}`", keys[0]));
    for key in &keys[1..] {
        value = value.get(key).unwrap_or_else(|| panic!("no `{}` in {keys:?}", key));
    }
    value.as_str().unwrap_or_else(|| panic!("{keys:?} is not a string"))
}

fn check(arch: Arch) {
    let tmp = tempfile::tempdir().unwrap();
    let s = stage_stand_in(arch, arch, tmp.path()).unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    eprintln!("kata-containers {arch}: staged from a GENERATED STAND-IN kata-static tarball, not Kata's release");
    assert_eq!(s.rootfs_files(), expected_files(arch), "{arch}: the rootfs");

    // The programs: the stand-ins' bytes (qemu stripped), static, for the arch, and they run.
    let qemu = build::qemu_program(arch);
    for dest in ["usr/local/bin/cloud-hypervisor", &format!("usr/local/bin/{qemu}"), "usr/local/libexec/virtiofsd"] {
        let path = s.rootfs(dest);
        assert_eq!(mode(&path), 0o755, "{dest}");
        check_static_program(arch, &path).unwrap_or_else(|e| panic!("{e:#}"));
        let out = target_command(arch, &path).read().unwrap_or_else(|e| panic!("running {dest}: {e:#}"));
        let name = dest.rsplit('/').next().unwrap();
        assert_eq!(out.trim(), stand_in_line(name), "{arch}: {dest}");
        s.check_no_build_paths(dest).unwrap_or_else(|e| panic!("{e:#}"));
    }
    // The shim, built with Go from the stand-in source's vendor directory and the file
    // upstream's Makefile generated: static, for the arch, and it runs.
    let shim = s.rootfs("usr/local/bin/containerd-shim-kata-v2");
    assert_eq!(mode(&shim), 0o755);
    check_static_program(arch, &shim).unwrap_or_else(|e| panic!("{e:#}"));
    let out = target_command(arch, &shim).arg("--version").read().unwrap_or_else(|e| panic!("{e:#}"));
    let goarch = if arch == Arch::Amd64 { "amd64" } else { "arm64" };
    assert_eq!(out.trim(), shim_line(goarch), "{arch}: the shim");
    s.check_no_build_paths("usr/local/bin/containerd-shim-kata-v2").unwrap_or_else(|e| panic!("{e:#}"));

    let packages = s.sbom_packages("kata-containers").unwrap();
    // The shim's build: the pinned Go toolchain and the one vendored module of the stand-in.
    for component in ["go", "example.com/standin"] {
        assert!(packages.iter().any(|(n, _)| n == component), "{arch}: no SBOM component {component}: {packages:?}");
    }
    for node in ["/usr/local/bin/cloud-hypervisor", &format!("/usr/local/bin/{qemu}"), "/usr/local/libexec/virtiofsd"] {
        assert!(packages.iter().any(|(n, _)| n == node), "{arch}: no SBOM component {node}: {packages:?}");
    }

    // Guest kernel and image: the files the release's links name, as regular files.
    let share = |name: &str| s.rootfs(&format!("{}/{name}", build::SHARE));
    assert_eq!(std::fs::read(share("vmlinux.container")).unwrap(), b"stand-in guest kernel\n");
    assert_eq!(std::fs::read(share("kata-containers.img")).unwrap(), b"stand-in guest image\n");
    assert!(std::fs::symlink_metadata(share("vmlinux.container")).unwrap().is_file());
    assert_eq!(mode(&share("kata-containers.img")), 0o644);

    // QEMU finds its data through the bundle link.
    let link = s.rootfs("usr/local/bin/qemu-bundle/opt/kata/share/kata-qemu/qemu");
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("../../../../../../share/kata-qemu/qemu"));
    assert_eq!(std::fs::read(link.join("bios-256k.bin")).unwrap(), b"stand-in QEMU data bios-256k.bin\n");

    // The configuration files: TOML, and every path they name is shipped (or under /run).
    let clh: toml::Table = std::fs::read_to_string(share("configuration.toml")).unwrap().parse().unwrap();
    let qemu_cfg_text = std::fs::read_to_string(share("configuration-qemu.toml")).unwrap();
    assert!(!qemu_cfg_text.contains("/opt/kata"), "{qemu_cfg_text}");
    let qemu_cfg: toml::Table = qemu_cfg_text.parse().unwrap();
    assert_eq!(string_at(&qemu_cfg, &["hypervisor", "qemu", "firmware_volume"]), "");
    let mut named = vec![
        string_at(&clh, &["hypervisor", "clh", "path"]).to_string(),
        string_at(&clh, &["hypervisor", "clh", "kernel"]).to_string(),
        string_at(&clh, &["hypervisor", "clh", "image"]).to_string(),
        string_at(&clh, &["hypervisor", "clh", "virtio_fs_daemon"]).to_string(),
        string_at(&qemu_cfg, &["hypervisor", "qemu", "path"]).to_string(),
        string_at(&qemu_cfg, &["hypervisor", "qemu", "kernel"]).to_string(),
        string_at(&qemu_cfg, &["hypervisor", "qemu", "image"]).to_string(),
        string_at(&qemu_cfg, &["hypervisor", "qemu", "virtio_fs_daemon"]).to_string(),
    ];
    for (cfg, hv) in [(&clh, "clh"), (&qemu_cfg, "qemu")] {
        for key in ["valid_hypervisor_paths", "valid_virtio_fs_daemon_paths"] {
            let list = cfg["hypervisor"][hv][key].as_array().unwrap_or_else(|| panic!("{hv}.{key}"));
            named.extend(list.iter().map(|v| v.as_str().unwrap().to_string()));
        }
    }
    for path in &named {
        let rel = path.strip_prefix('/').unwrap_or_else(|| panic!("{path} is not absolute"));
        assert!(s.rootfs(rel).is_file(), "{arch}: a configuration names {path}, which is not shipped");
    }
    assert_eq!(string_at(&clh, &["runtime", "internetworking_model"]), "tcfilter");
    assert_eq!(clh["hypervisor"]["clh"]["default_memory"].as_integer(), Some(2048));

    // The CRI parts: clean under the strict rule, each declaring its handler with Kata's shim
    // and naming the configuration file it ships.
    for (part, handler, config) in [
        ("10-kata-containers.part", "kata", "configuration.toml"),
        ("11-kata-qemu.part", "kata-qemu", "configuration-qemu.toml"),
    ] {
        let bytes = std::fs::read(s.rootfs(&format!("etc/cri/conf.d/{part}"))).unwrap();
        assert_eq!(cri::check(part, &bytes), Vec::<String>::new(), "{part}");
        assert_eq!(cri::config_paths(&bytes), [format!("/{}/{config}", build::SHARE)], "{part}");
        let table: toml::Table = std::str::from_utf8(&bytes).unwrap().parse().unwrap();
        let runtime = &table["plugins"]["io.containerd.cri.v1.runtime"]["containerd"]["runtimes"][handler];
        assert_eq!(runtime["runtime_type"].as_str(), Some("io.containerd.kata.v2"), "{part}");
        assert_eq!(runtime["privileged_without_host_devices"].as_bool(), Some(true), "{part}");
        assert_eq!(mode(&s.rootfs(&format!("etc/cri/conf.d/{part}"))), 0o644);
    }
}

#[test]
fn amd64_stand_in_release_installs_checks_and_configures() {
    check(Arch::Amd64);
}

#[test]
fn arm64_stand_in_release_installs_checks_and_configures_under_qemu() {
    check(Arch::Arm64);
}

/// Each arch's stand-in tarball with the other arch's programs is refused, naming the program
/// and both machines.
#[test]
fn the_other_arch_programs_are_refused_naming_both_machines() {
    for (arch, other) in [(Arch::Amd64, Arch::Arm64), (Arch::Arm64, Arch::Amd64)] {
        let tmp = tempfile::tempdir().unwrap();
        let err = stage_stand_in(arch, other, tmp.path()).expect_err("the other arch's programs must be refused");
        let msg = format!("{err:#}");
        assert!(msg.contains("usr/local/bin/cloud-hypervisor"), "{msg}");
        assert!(msg.contains("x86-64 (62)") && msg.contains("aarch64 (183)"), "{msg}");
    }
}

/// The rewrite of the release's QEMU configuration, and its refusal of a layout it does not know.
#[test]
fn qemu_configuration_moves_paths_and_empties_the_firmware_volume() {
    let out = build::qemu_configuration(&QEMU_DEFAULTS.replace("@QEMU@", "qemu-system-x86_64")).unwrap();
    assert!(out.contains("path = \"/usr/local/bin/qemu-system-x86_64\"\n"), "{out}");
    assert!(out.contains("firmware_volume = \"\"\n") && !out.contains("/opt/kata"), "{out}");
    let err = build::qemu_configuration("[hypervisor.qemu]\npath = \"/opt/kata/bin/q\"\n").unwrap_err();
    assert!(err.to_string().contains("firmware_volume"), "{err}");
    assert!(build::qemu_configuration("[hypervisor.qemu]\n").is_err());
    assert!(build::qemu_data_dropped("edk2-i386-vars.fd") && build::qemu_data_dropped("npcm8xx_bootrom.bin"));
    assert!(!build::qemu_data_dropped("bios-256k.bin") && !build::qemu_data_dropped("kvmvapic.bin"));
}
