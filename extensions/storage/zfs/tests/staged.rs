//! Stages `zfs` for both arches from the exact pin (OpenZFS 2.4.3: Debian's
//! `zfs-linux_2.4.3.orig.tar.gz`, in trixie-backports, is the pinned upstream tarball, served
//! through an offline directory mirror), against Debian's 6.12 kernel toolchain (the Talos kernel
//! needs network), with its internal libraries: libtirpc, util-linux-libs and libcrypto from their
//! exact pins through the same mirror, zlib from Debian's 1.3.2 (a listed override: the pinned
//! release, repacked). Checks the modules with kmod's `modinfo` (vermagic, sha512 signature by the
//! toolchain key, `extras/`), runs `zfs --version` and `zpool --help` (arm64 under qemu), the udev
//! rules, the service spec and its program, and strict validation of the staged tree.
//!
//! Heavy (OpenZFS configures and builds twice per arch: kernel and user side), hence tier full.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

#[path = "../../../internal/libcrypto/build.rs"]
#[allow(dead_code)]
mod libcrypto;
#[path = "../../../internal/libtirpc/build.rs"]
#[allow(dead_code)]
mod libtirpc;
#[path = "../../../internal/util-linux-libs/build.rs"]
#[allow(dead_code)]
mod util_linux_libs;
#[path = "../../../internal/zlib/build.rs"]
#[allow(dead_code)]
mod zlib;

use std::path::{Path, PathBuf};
use std::time::Instant;

use talos_ext_build::kernel::{KernelOverrides, with_overrides};
use talos_ext_build::model::Pin;
use talos_ext_build::step::Command;
use talos_ext_build::testing::{
    Staged, TestOptions, check_out_of_tree_modules, check_static_program, internal_crate, mode, stage_with,
    target_command,
};
use talos_ext_build::validate::{Options, validate_dir};
use talos_ext_build::{Arch, TestLibrary};

const TOOLCHAIN: &str = "debian-6.12";
/// The OpenZFS release built (the pin) and the version string its programs print.
const ZFS_VERSION: &str = "2.4.3";

fn root() -> PathBuf {
    Pin::find_workspace_root(Path::new(env!("CARGO_MANIFEST_DIR"))).expect("workspace root")
}

fn staged(arch: Arch, tmp: &Path) -> Staged {
    let pins = [
        (PathBuf::from(env!("CARGO_MANIFEST_DIR")), "zfs", "zfs-linux=2.4.3-1~bpo13+1"),
        (internal_crate("libtirpc"), "libtirpc", "libtirpc=1.3.6+ds-1"),
        (internal_crate("util-linux-libs"), "util-linux", "util-linux=2.42.2-1"),
        (internal_crate("libcrypto"), "openssl", "openssl=3.5.7-1~deb13u2"),
    ];
    let mut opts = TestOptions::offline_debian_pins(tmp, arch, &pins).unwrap_or_else(|e| panic!("{e:#}"));
    opts.override_with_debian_orig("zlib", None, "zlib=1:1.3.dfsg+really1.3.2-3").unwrap_or_else(|e| panic!("{e:#}"));
    let library = TestLibrary::internal;
    opts.libraries = vec![
        library("libtirpc", libtirpc::recipe),
        library("zlib", zlib::recipe),
        library("util-linux-libs", util_linux_libs::recipe),
        library("libcrypto", libcrypto::recipe),
    ];
    let debian = KernelOverrides { toolchain: Some(TOOLCHAIN.into()), ..Default::default() };
    let started = Instant::now();
    let s = with_overrides(debian, || stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts))
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    eprintln!("zfs {arch}: staged in {:.1?} (OpenZFS {ZFS_VERSION}, the exact pin)", started.elapsed());
    s
}

/// `modinfo -F <field> <file>` with kmod's modinfo.
fn modinfo(field: &str, ko: &Path) -> String {
    let out = Command::new("modinfo").args(["-F", field]).arg(ko).hint("apt-get install kmod").read();
    out.unwrap_or_else(|e| panic!("{e}")).trim().to_string()
}

/// `cache` is the test's own cache (`TestOptions::offline_mirror`'s), where the toolchain's
/// signing key was made.
fn check_modules(s: &Staged, arch: Arch, cache: &Path) {
    let (release, versions) = check_out_of_tree_modules(s, arch, TOOLCHAIN, cache, &["extras/spl.ko", "extras/zfs.ko"]);
    for (name, version) in ["spl", "zfs"].iter().zip(&versions) {
        assert_eq!(version, &format!("{ZFS_VERSION}-1"), "{name}.ko version");
    }
    let zfs = s.rootfs(&format!("usr/lib/modules/{release}/extras/zfs.ko"));
    assert!(modinfo("depends", &zfs).split(',').any(|d| d == "spl"), "zfs.ko depends on spl");
}

fn check_userland(s: &Staged, arch: Arch) {
    for program in ["zpool", "zfs", "zdb", "zed", "zinject", "zstream", "zhack", "mount.zfs", "zvol_id"] {
        let rel = format!("usr/local/sbin/{program}");
        let path = s.rootfs(&rel);
        assert_eq!(mode(&path), 0o755, "{rel}");
        check_static_program(arch, &path).unwrap_or_else(|e| panic!("{e:#}"));
        s.check_no_build_paths(&rel).unwrap();
    }
    // `zfs --version` prints the userland's version, then fails on the module's (not loaded
    // here: exit status 1). `zfs version` would stop before either: it needs /dev/zfs.
    let out = target_command(arch, &s.rootfs("usr/local/sbin/zfs")).arg("--version").output_unchecked().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with(&format!("zfs-{ZFS_VERSION}-1\n")), "zfs --version: {text:?}");
    let help = target_command(arch, &s.rootfs("usr/local/sbin/zpool")).arg("--help").read().unwrap();
    assert!(help.contains("usage: zpool command args") && help.contains("import"), "zpool --help: {help}");
    // zed's scripts and its configuration, as upstream installs them.
    assert!(s.rootfs("usr/local/etc/zfs/zed.d/zed.rc").is_file());
    assert!(s.rootfs("usr/local/libexec/zfs/zed.d").is_dir());
    // What a node cannot use is not shipped.
    for absent in
        ["usr/local/include", "usr/local/lib/pkgconfig", "usr/local/share/man", "usr/local/share/zfs", "sbin", "etc"]
    {
        assert!(!s.rootfs(absent).exists(), "{absent} is not shipped");
    }
}

fn check_udev_rules(s: &Staged) {
    let dir = s.rootfs("usr/lib/udev/rules.d");
    let mut rules: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    rules.sort();
    assert_eq!(rules, ["60-zvol.rules", "69-vdev.rules", "90-zfs.rules"]);
    let zvol = std::fs::read_to_string(dir.join("60-zvol.rules")).unwrap();
    assert!(zvol.contains("/usr/local/sbin/zvol_id"), "60-zvol.rules runs the shipped zvol_id:\n{zvol}");
    let vdev = std::fs::read_to_string(dir.join("69-vdev.rules")).unwrap();
    assert!(vdev.contains("/usr/local/sbin/vdev_id"), "69-vdev.rules runs the shipped vdev_id:\n{vdev}");
    assert!(s.rootfs("usr/local/sbin/vdev_id").is_file());
    for rule in &rules {
        assert_eq!(mode(&dir.join(rule)), 0o644, "{rule}");
    }
}

fn check_service(s: &Staged, arch: Arch, tmp: &Path) {
    let spec = std::fs::read_to_string(s.rootfs("usr/local/etc/containers/zfs-service.yaml")).unwrap();
    assert!(spec.starts_with("name: zfs-service\n"), "{spec}");
    assert!(spec.contains("entrypoint: /zfs-service\n") && spec.contains("restart: always\n"), "{spec}");
    let program = s.rootfs("usr/local/lib/containers/zfs-service/zfs-service");
    assert_eq!(mode(&program), 0o755);
    check_static_program(arch, &program).unwrap_or_else(|e| panic!("{e:#}"));

    // The program imports at start and exports on SIGTERM, through the zpool it is given (a
    // script that records its arguments stands in for the real one, which needs /dev/zfs).
    let record = tmp.join("zpool-calls");
    let fake = tmp.join("zpool");
    std::fs::write(&fake, format!("#!/bin/sh\necho \"$*\" >> {}\n", record.display())).unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut run = Command::new("timeout").args(["--preserve-status", "--signal=TERM", "3"]);
    if arch == Arch::Arm64 {
        run = run.arg("qemu-aarch64-static");
    }
    let out = run.arg(&program).arg(&fake).output().unwrap_or_else(|e| panic!("zfs-service: {e}"));
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(std::fs::read_to_string(&record).unwrap(), "import -a\nexport -a\n", "{log}");
    assert!(log.contains("SIGTERM received"), "{log}");

    // With the real zpool and no zfs module, the import fails and so does the service (Talos
    // restarts it), saying which command failed.
    let real = s.rootfs("usr/local/sbin/zpool");
    let out = target_command(arch, &program).arg(&real).output_unchecked().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("import -a failed"), "{log}");
}

/// Strict validation of the staged tree passes (staging ran it too), and catches a broken spec.
fn check_validation(s: &Staged) {
    let pin = Pin::load(&root()).unwrap();
    let opts = Options { strict: true, pkg_name: Some("zfs".into()), talos_version: pin.talos.tag, kernel: None };
    let report = validate_dir(&s.dir, &opts).unwrap();
    assert!(report.is_ok(), "{report}");
    let spec = s.rootfs("usr/local/etc/containers/zfs-service.yaml");
    let text = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(&spec, text.replace("restart: always\n", "restart: always\nrestrat: never\n")).unwrap();
    let report = validate_dir(&s.dir, &opts).unwrap();
    assert!(!report.is_ok() && report.to_string().contains("restrat"), "an unknown key is reported: {report}");
    std::fs::write(&spec, text).unwrap();
}

fn check(arch: Arch) {
    let tmp = tempfile::tempdir().unwrap();
    let s = staged(arch, tmp.path());
    assert_eq!(s.overridden_sources, ["zlib/zlib"], "only zlib is not the pinned bytes");
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    let pin = Pin::load(&root()).unwrap();
    assert!(manifest.contains(&format!("  name: zfs\n  version: {ZFS_VERSION}-{}\n", pin.talos.tag)), "{manifest}");
    check_modules(&s, arch, &tmp.path().join("cache"));
    check_userland(&s, arch);
    check_udev_rules(&s);
    check_service(&s, arch, tmp.path());
    let sbom = std::fs::read_to_string(s.rootfs(&talos_ext_build::sbom::spdx_path("zfs"))).unwrap();
    for package in ["zfs", "libtirpc", "zlib", "util-linux-libs", "libcrypto"] {
        assert!(sbom.contains(&format!("\"name\": \"{package}\",")), "no package {package}:\n{sbom}");
    }
    check_validation(&s);
}

#[test]
#[ignore = "tier full: OpenZFS 2.4.3 kernel modules and userland for amd64 (about 25 min on 2 loaded cores once the library stages are built)"]
fn tier_full_amd64_exact_pin_against_debian_6_12() {
    check(Arch::Amd64);
}

#[test]
#[ignore = "tier full: OpenZFS 2.4.3 kernel modules and userland for arm64, run under qemu (about 25 min on 2 loaded cores once the library stages are built)"]
fn tier_full_arm64_exact_pin_against_debian_6_12_under_qemu() {
    check(Arch::Arm64);
}
