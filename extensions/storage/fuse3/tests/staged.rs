//! Builds `fuse3` from Debian's real libfuse 3.18.3 release tarball (a source override: the
//! pinned 3.18.2 is not reachable here and Debian carries 3.17.2 and 3.18.3; see
//! `extensions/test-overrides.toml`) for both arches. Checks the tree (validated strictly by
//! staging): what upstream installs under `/usr/local` and nothing else (no init script, no udev
//! rules, no setuid bit), the static musl programs without build paths, runs
//! `fusermount3 --version` and `mount.fuse3` (arm64 under qemu), and the SBOM.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::testing::{Staged, check_static_program, mode, stage_debian_override, target_command};
use talos_ext_build::{Arch, sbom};

const FUSERMOUNT: &str = "usr/local/bin/fusermount3";
const MOUNT: &str = "usr/local/sbin/mount.fuse3";

fn staged(arch: Arch) -> Staged {
    stage_debian_override(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, None, "fuse3=3.18.3-1")
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"))
}

fn check(arch: Arch) {
    let s = staged(arch);
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("  name: fuse3\n  version: 3.18.2\n"), "{manifest}");

    let files = s.rootfs_files();
    let spdx = sbom::spdx_path("fuse3");
    let expected_start = [
        FUSERMOUNT.to_string(),
        "usr/local/etc/fuse.conf".to_string(),
        "usr/local/include/fuse3/fuse.h".to_string(),
        "usr/local/include/fuse3/fuse_lowlevel.h".to_string(),
        "usr/local/include/fuse3/libfuse_config.h".to_string(),
        "usr/local/lib/libfuse3.a".to_string(),
        "usr/local/lib/pkgconfig/fuse3.pc".to_string(),
        MOUNT.to_string(),
        "usr/local/share/man/man1/fusermount3.1".to_string(),
        "usr/local/share/man/man8/mount.fuse3.8".to_string(),
        spdx.clone(),
    ];
    for want in &expected_start {
        assert!(files.contains(want), "{arch}: {want} is not shipped: {files:?}");
    }
    let shipped = |f: &String| f.starts_with("usr/local/include/fuse3/") || expected_start.contains(f);
    assert!(files.iter().all(shipped), "{arch}: only what upstream installs: {files:?}");
    assert!(!s.rootfs("etc").exists(), "no init script (initscriptdir is empty) and nothing else in /etc");
    assert!(!s.rootfs("usr/lib/udev").exists() && !s.rootfs("lib").exists(), "no udev rules");

    // useroot=false: no setuid fusermount3.
    for (program, want) in [(FUSERMOUNT, 0o755), (MOUNT, 0o755), ("usr/local/etc/fuse.conf", 0o644)] {
        assert_eq!(mode(&s.rootfs(program)), want, "{arch}: {program}");
    }
    for program in [FUSERMOUNT, MOUNT] {
        check_static_program(arch, &s.rootfs(program)).unwrap_or_else(|e| panic!("{e:#}"));
    }
    for file in files.iter().filter(|f| **f != spdx) {
        s.check_no_build_paths(file).unwrap_or_else(|e| panic!("{arch}: {e:#}"));
    }
    let pc = std::fs::read_to_string(s.rootfs("usr/local/lib/pkgconfig/fuse3.pc")).unwrap();
    assert!(pc.contains("prefix=/usr/local\n") && pc.contains("Version: 3.18.3\n"), "{pc}");

    let version =
        target_command(arch, &s.rootfs(FUSERMOUNT)).arg("--version").output().unwrap_or_else(|e| panic!("{e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&version.stdout), String::from_utf8_lossy(&version.stderr));
    assert!(text.contains("fusermount3 version: 3.18.3"), "{arch}: {text}");
    // Without arguments mount.fuse3 prints its usage and fails: it ran.
    let usage = target_command(arch, &s.rootfs(MOUNT)).output_unchecked().unwrap_or_else(|e| panic!("{e}"));
    assert!(!usage.status.success(), "{arch}: mount.fuse3 without arguments must fail");
    assert!(String::from_utf8_lossy(&usage.stderr).contains("usage: "), "{arch}: {usage:?}");

    assert_eq!(s.sbom_packages("fuse3").unwrap(), [("fuse3".to_string(), "3.18.2".to_string())]);
}

#[test]
fn tier_kinds_amd64_from_debian_fuse3_3_18_3() {
    check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_from_debian_fuse3_3_18_3_under_qemu() {
    check(Arch::Arm64);
}
