//! Builds `bird2` from Debian's real BIRD 2.0.12 release tarball (a source override: the pinned
//! GitLab archive of v2.18 is not reachable here, and of Debian's bird2 releases only bookworm's
//! 2.0.12 tarball is in the pool; see `extensions/test-overrides.toml`) for both arches. Checks
//! the tree (validated strictly by staging, the service spec included): the spec and the
//! container root as upstream installs it (`bird`, `birdcl`, no `birdc`, no sample
//! `bird.conf`), the static musl programs without build paths, and runs them (arm64 under qemu):
//! `bird --version`, `bird -p` parsing a small configuration (and refusing a broken one), and
//! `birdcl` failing to reach a control socket that is not there. And the SBOM.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::testing::{Staged, check_static_program, mode, stage_debian_override, target_command};
use talos_ext_build::{Arch, sbom};

const CONTAINER: &str = "usr/local/lib/containers/bird2";
const SPEC: &str = "usr/local/etc/containers/bird2.yaml";

fn staged(arch: Arch) -> Staged {
    stage_debian_override(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, None, "bird2=2.0.12-7")
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"))
}

/// Runs `bird -p -c <config>` (parse the configuration and exit) with `text` as the configuration.
fn parse_config(arch: Arch, bird: &std::path::Path, text: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bird.conf");
    std::fs::write(&config, text).unwrap();
    let out = target_command(arch, bird).arg("-p").arg("-c").arg(&config).output_unchecked();
    out.unwrap_or_else(|e| panic!("{e}"))
}

fn check(arch: Arch) {
    let s = staged(arch);
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(
        manifest.contains("  name: bird2\n  version: '2.18'\n")
            || manifest.contains("  name: bird2\n  version: \"2.18\"\n"),
        "{manifest}"
    );

    let programs: Vec<String> = build::PROGRAMS.iter().map(|p| format!("{CONTAINER}/usr/local/sbin/{p}")).collect();
    let mut want: Vec<String> = programs.clone();
    want.push(SPEC.to_string());
    want.push(sbom::spdx_path("bird2"));
    want.sort();
    assert_eq!(s.rootfs_files(), want, "{arch}: the programs, the spec and the SBOM");
    for dir in ["usr/local/etc", "usr/local/var/run"] {
        let path = s.rootfs(&format!("{CONTAINER}/{dir}"));
        assert!(path.is_dir() && std::fs::read_dir(&path).unwrap().next().is_none(), "{dir}: an empty directory");
        assert_eq!(mode(&path), 0o755, "{dir}");
    }
    let spec = std::fs::read_to_string(s.rootfs(SPEC)).unwrap();
    assert!(spec.starts_with("name: bird2\n"), "{spec}");
    assert!(spec.contains("entrypoint: /usr/local/sbin/bird\n") && spec.contains("- configuration: true\n"), "{spec}");
    assert_eq!(mode(&s.rootfs(SPEC)), 0o644);

    for program in &programs {
        assert_eq!(mode(&s.rootfs(program)), 0o755, "{program}");
        check_static_program(arch, &s.rootfs(program)).unwrap_or_else(|e| panic!("{e:#}"));
        s.check_no_build_paths(program).unwrap_or_else(|e| panic!("{arch}: {e:#}"));
    }
    let bird = s.rootfs(&programs[0]);
    let version = target_command(arch, &bird).arg("--version").output().unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&version.stderr);
    assert_eq!(text.trim(), "BIRD version 2.0.12", "{arch}: bird --version");

    let ok = parse_config(arch, &bird, "log stderr all;\nrouter id 192.0.2.1;\nprotocol device {}\n");
    assert!(ok.status.success(), "{arch}: bird -p refused a valid configuration: {ok:?}");
    let broken = parse_config(arch, &bird, "router id 192.0.2.1;\nprotocol device {\n");
    assert!(!broken.status.success(), "{arch}: bird -p accepted a broken configuration");
    assert!(String::from_utf8_lossy(&broken.stderr).contains("bird.conf"), "{arch}: {broken:?}");

    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("bird.ctl");
    let birdcl = target_command(arch, &s.rootfs(&programs[1])).arg("-s").arg(&socket).output_unchecked();
    let birdcl = birdcl.unwrap_or_else(|e| panic!("{e}"));
    assert!(!birdcl.status.success(), "{arch}: birdcl without a daemon must fail");
    let text = String::from_utf8_lossy(&birdcl.stderr);
    assert!(text.contains("Unable to connect to server control socket"), "{arch}: {birdcl:?}");

    assert_eq!(s.sbom_packages("bird2").unwrap(), [("bird2".to_string(), "2.18".to_string())]);
}

#[test]
fn tier_kinds_amd64_from_debian_bird2_2_0_12() {
    check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_from_debian_bird2_2_0_12_under_qemu() {
    check(Arch::Arm64);
}
