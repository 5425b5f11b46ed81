//! Stages `rpcsvc-proto` for both arches from Debian's real rpcsvc-proto 1.4.3 release (a source
//! override: the pinned 1.4.4 tarball is byte-identical to Debian's `rpcsvc-proto_1.4.4.orig.tar.xz`
//! by its index, but that file is missing from the archive's pool here) and checks the sysroot:
//! rpcgen is a build-machine program that runs and compiles a protocol, and the rpcsvc headers
//! it generated are there.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use talos_ext_build::Arch;
use talos_ext_build::testing::{stage_debian_override, target_command};

fn check(arch: Arch) {
    let tmp = tempfile::tempdir().unwrap();
    let s = stage_debian_override(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, None, "rpcsvc-proto=1.4.3-1")
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));

    // rpcgen runs on the build machine, whatever the arch of the stage.
    let rpcgen = s.dir.join("usr/bin/rpcgen");
    let head = std::fs::read(&rpcgen).unwrap_or_else(|e| panic!("{arch}: {}: {e}", rpcgen.display()));
    assert_eq!(&head[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([head[18], head[19]]), Arch::Amd64.elf_machine(), "{arch}: an x86_64 program");
    let version = target_command(Arch::Amd64, &rpcgen).arg("--version").read().unwrap_or_else(|e| panic!("{e}"));
    assert!(version.contains("rpcsvc-proto") && version.contains("1.4.3"), "{version}");

    // The protocol definitions and the headers generated from them.
    let rpcsvc = s.dir.join("usr/include/rpcsvc");
    for name in ["sm_inter", "nlm_prot", "mount", "nfs_prot", "rquota", "klm_prot"] {
        assert!(rpcsvc.join(format!("{name}.x")).is_file(), "{arch}: {name}.x");
        assert!(rpcsvc.join(format!("{name}.h")).is_file(), "{arch}: {name}.h");
    }
    let sm = std::fs::read_to_string(rpcsvc.join("sm_inter.h")).unwrap();
    assert!(sm.contains("#define SM_PROG 100024"), "the NSM program number: {sm}");
    assert!(!s.dir.join("usr/share/man").exists(), "no man pages");

    // rpcgen compiles a protocol into XDR routines.
    let out = tmp.path().join("sm_inter_xdr.c");
    target_command(Arch::Amd64, &rpcgen)
        .arg("-c")
        .arg("-o")
        .arg(&out)
        .arg(rpcsvc.join("sm_inter.x"))
        .run()
        .unwrap_or_else(|e| panic!("{e}"));
    let xdr = std::fs::read_to_string(&out).unwrap();
    assert!(xdr.contains("xdr_sm_name"), "{xdr}");
}

#[test]
fn tier_kinds_amd64_rpcgen_and_headers_from_debian_1_4_3() {
    check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_rpcgen_and_headers_from_debian_1_4_3() {
    check(Arch::Arm64);
}
