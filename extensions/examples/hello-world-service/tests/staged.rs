//! Stages `hello-world-service` for both arches through its real recipe and checks the tree:
//! files and modes, the manifest, the binaries' machine and libc, and that the program answers.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

use talos_ext_build::Arch;
use talos_ext_build::elf::ElfInfo;
use talos_ext_build::testing::{Staged, stage, target_command};

const BIN: &str = "usr/local/lib/containers/hello-world/hello-world";

fn staged(arch: Arch) -> Staged {
    stage(env!("CARGO_MANIFEST_DIR"), build::recipe, arch).unwrap_or_else(|e| panic!("staging {arch}: {e:#}"))
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Runs the program (directly on amd64, under qemu on arm64) on a free port and fetches one page.
/// The test reads the port from the program's stdout, so it takes the pipe itself
/// (`std_command`: the runner's program, arguments and clean environment).
fn answers_http(arch: Arch, program: &Path) -> String {
    let mut cmd = target_command(arch, program).args(["--port", "0", "--once"]).std_command();
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("starting hello-world");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port: u16 = line.trim().strip_prefix("listening on port ").expect(&line).parse().unwrap();
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).unwrap();
    assert!(child.wait().unwrap().success());
    reply
}

#[test]
fn tier_kinds_amd64_tree_manifest_and_program() {
    let s = staged(Arch::Amd64);
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.starts_with("version: v1alpha1\nmetadata:\n  name: hello-world-service\n  version: v1.0.0\n"));
    assert_eq!(mode(&s.rootfs(BIN)), 0o755);
    let spec = s.rootfs("usr/local/etc/containers/hello-world.yaml");
    assert_eq!(mode(&spec), 0o644);
    assert!(std::fs::read_to_string(spec).unwrap().contains("entrypoint: ./hello-world"));

    let elf = ElfInfo::read(&s.rootfs(BIN)).unwrap();
    elf.check_talos_userland(Arch::Amd64.elf_machine()).unwrap();
    assert_eq!(elf.interpreter, None, "statically linked");
    assert!(elf.needed.is_empty());

    let reply = answers_http(Arch::Amd64, &s.rootfs(BIN));
    assert!(reply.starts_with("HTTP/1.0 200 OK"), "{reply}");
    assert!(reply.ends_with("Hello from Talos Linux Extension Service!\n"), "{reply}");
}

#[test]
fn tier_kinds_arm64_program_is_static_aarch64_and_runs_under_qemu() {
    let s = staged(Arch::Arm64);
    let elf = ElfInfo::read(&s.rootfs(BIN)).unwrap();
    elf.check_talos_userland(Arch::Arm64.elf_machine()).unwrap();
    assert_eq!(elf.machine, 183);
    assert_eq!(elf.interpreter, None);
    let reply = answers_http(Arch::Arm64, &s.rootfs(BIN));
    assert!(reply.ends_with("Hello from Talos Linux Extension Service!\n"), "{reply}");
}

#[test]
fn tier_kinds_staging_twice_gives_identical_binaries() {
    let a = std::fs::read(staged(Arch::Arm64).rootfs(BIN)).unwrap();
    let b = std::fs::read(staged(Arch::Arm64).rootfs(BIN)).unwrap();
    assert_eq!(a, b, "the compiled program must be reproducible");
}
