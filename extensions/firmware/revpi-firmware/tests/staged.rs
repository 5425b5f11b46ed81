//! Builds `revpi-firmware` for both arches from the crate's own Go module (`go/`, the recipe's
//! own source: there is no upstream source to pin, so this is the exact program the recipe
//! ships), with the pinned Go toolchain: the program is static for the arch, holds no build path,
//! reports its stamped version, and does its job: on a TAP interface in a private network
//! namespace (`unshare -n`, as root; arm64 under qemu) it sets the address a generated EEPROM
//! atom gives plus the offset, and it exits 1 without the atom, 2 with an empty one, 3 on a bad
//! address or a missing interface. The udev rule runs the installed program for the
//! fd580000.ethernet controller, as upstream's.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use std::path::Path;

use talos_ext_build::Arch;
use talos_ext_build::testing::{mode, own_go, stage};

/// The program's path in the rootfs.
fn program_rel() -> String {
    format!("{}/{}", build::RULES_DIR, build::PROGRAM)
}

/// The command line that runs `program` for `arch` (qemu for arm64), as words.
fn argv(arch: Arch, program: &Path) -> Vec<String> {
    let program = program.display().to_string();
    match arch {
        Arch::Amd64 => vec![program],
        Arch::Arm64 => vec!["qemu-aarch64-static".into(), program],
    }
}

/// Runs the program with `args` in a new network namespace that has a TAP interface `eth0`;
/// returns its exit code, its output, and `eth0`'s address afterwards.
fn run_in_netns(arch: Arch, program: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let script = "ip tuntap add dev eth0 mode tap || exit 99\n\
                  \"$@\"; status=$?\n\
                  ip -br link show eth0 >&2 || exit 98\n\
                  exit $status";
    let out = talos_ext_build::step::Command::new("unshare")
        .hint("run the tests as root with util-linux and iproute2 (ci/setup.sh installs them)")
        .args(["-n", "sh", "-c", script, "sh"])
        .args(argv(arch, program))
        .args(args)
        .output_unchecked()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!matches!(out.status.code(), Some(98 | 99)), "{arch}: setting up the namespace failed:\n{stderr}");
    let link = stderr.lines().find(|l| l.starts_with("eth0")).unwrap_or_else(|| panic!("no eth0 line:\n{stderr}"));
    let address = link.split_whitespace().nth(2).unwrap_or_default().to_string();
    (out.status.code(), format!("{stdout}{stderr}"), address)
}

fn check_the_program_sets_the_address(arch: Arch, program: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let atom = tmp.path().join("custom_5");
    let atom_arg = atom.display().to_string();
    // As the device tree publishes it: text with a trailing NUL.
    std::fs::write(&atom, b"c8:3e:a7:01:02:fe\0").unwrap();
    let (code, out, address) = run_in_netns(arch, program, &["-eeprom", &atom_arg, "eth0", "0"]);
    assert_eq!(code, Some(0), "{arch}: {out}");
    assert_eq!(address, "c8:3e:a7:01:02:fe", "{arch}: {out}");
    assert!(out.contains("revpi_mac: eth0: MAC address set to c8:3e:a7:01:02:fe"), "{out}");
    // An offset carries into the next byte.
    let (code, out, address) = run_in_netns(arch, program, &["-eeprom", &atom_arg, "eth0", "3"]);
    assert_eq!(code, Some(0), "{arch}: {out}");
    assert_eq!(address, "c8:3e:a7:01:03:01", "{arch}: {out}");

    // No atom: 1, an empty one: 2, not an address: 3; the interface keeps its address.
    let missing = tmp.path().join("missing").display().to_string();
    let (code, out, address) = run_in_netns(arch, program, &["-eeprom", &missing, "eth0", "0"]);
    assert_eq!(code, Some(1), "{arch}: {out}");
    assert!(out.contains(&format!("{missing} does not exist")), "{out}");
    assert_ne!(address, "c8:3e:a7:01:02:fe");
    std::fs::write(&atom, b"\0").unwrap();
    let (code, out, _) = run_in_netns(arch, program, &["-eeprom", &atom_arg, "eth0", "0"]);
    assert_eq!(code, Some(2), "{arch}: {out}");
    assert!(out.contains("holds no address"), "{out}");
    std::fs::write(&atom, b"c8:3e:a7:01:02\0").unwrap();
    let (code, out, _) = run_in_netns(arch, program, &["-eeprom", &atom_arg, "eth0", "0"]);
    assert_eq!(code, Some(3), "{arch}: {out}");
    assert!(out.contains("not a 6-byte MAC address"), "{out}");

    // An interface that is not there is named.
    std::fs::write(&atom, b"c8:3e:a7:01:02:fe\0").unwrap();
    let (code, out, _) = run_in_netns(arch, program, &["-eeprom", &atom_arg, "eth7", "0"]);
    assert_eq!(code, Some(3), "{arch}: {out}");
    assert!(out.contains("setting the address of eth7"), "{out}");
}

fn build_and_check(arch: Arch) {
    let started = std::time::Instant::now();
    let s = stage(env!("CARGO_MANIFEST_DIR"), build::recipe, arch).unwrap_or_else(|e| panic!("{arch}: {e:#}"));
    eprintln!("revpi-firmware {arch}: built from the crate's own go/ module in {:.0?}", started.elapsed());
    let rel = program_rel();
    let rules = format!("{}/{}", build::RULES_DIR, build::RULES);
    let mut expected = vec![rel.clone(), rules.clone(), talos_ext_build::sbom::spdx_path("revpi-firmware")];
    expected.sort();
    assert_eq!(s.rootfs_files(), expected);
    assert_eq!(mode(&s.rootfs(&rules)), 0o644);
    let program = own_go::check_staged_program(&s, arch, "revpi-firmware", &rel, "revpi_mac v1.0.0");
    check_the_program_sets_the_address(arch, &program);
}

#[test]
fn tier_kinds_amd64_builds_and_sets_the_address() {
    build_and_check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_builds_and_sets_the_address_under_qemu() {
    build_and_check(Arch::Arm64);
}

/// The rule matches added Ethernet interfaces of the fd580000.ethernet controller and runs the
/// installed program with the interface's name and offset 0.
#[test]
fn the_udev_rule_runs_the_installed_program() {
    let text = std::fs::read_to_string(format!("{}/files/{}", env!("CARGO_MANIFEST_DIR"), build::RULES)).unwrap();
    let rules: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).collect();
    assert_eq!(rules.len(), 1, "{text}");
    let keys: Vec<&str> = rules[0].split(", ").collect();
    for key in [
        "ACTION==\"add\"",
        "SUBSYSTEM==\"net\"",
        "ATTR{type}==\"1\"",
        "DEVPATH==\"*/fd580000.ethernet/net/*\"",
        &format!("PROGRAM=\"/{} %k 0\"", program_rel()),
    ] {
        assert!(keys.contains(&key), "{key} in {}", rules[0]);
    }
}

/// The crate carries the Go module itself (standard library only); the version stamp is ours.
#[test]
fn the_go_module_is_the_crates_own() {
    let ldflags = own_go::check_crates_own_module(env!("CARGO_MANIFEST_DIR"));
    assert_eq!(ldflags, ["-X=main.version=v1.0.0"]);
}
