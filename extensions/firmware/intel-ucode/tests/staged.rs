//! Stages `intel-ucode` from a generated tarball with the layout of Intel's release (the real
//! one is not reachable here; `tests/debian.rs` stages the real microcode from Debian) through a
//! source override, for both arches, and checks that exactly the microcode files, the license
//! and the SBOM are staged, with mode 0644; and that a corrupt microcode file fails the build,
//! naming the file.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use talos_ext_build::microcode::{self, Signature};
use talos_ext_build::prelude::Result;
use talos_ext_build::testing::{Staged, TestOptions, stage_with};
use talos_ext_build::{Arch, SourceOverride};

const TOP: &str = "Intel-Linux-Processor-Microcode-Data-Files-microcode-20260812";
/// The generated files: name, processor signature and flags of their one update.
const UCODE: &[(&str, u32, u32)] =
    &[("06-55-04", 0x00050654, 0xb7), ("06-8f-08", 0x000806f8, 0x87), ("06-9a-03", 0x000906a3, 0x80)];

/// A valid single-update microcode file for `signature` (1 KiB, as Intel's sizes go).
fn ucode(signature: u32, processor_flags: u32) -> Vec<u8> {
    let data: Vec<u8> = (0..1024 - microcode::HEADER_SIZE).map(|i| (i as u32 ^ signature) as u8).collect();
    microcode::encode(Signature { signature, processor_flags }, 0x100, &data, &[])
}

/// A `.tar.gz` shaped like Intel's release: microcode (`corrupt` applied to each file's bytes),
/// caveats microcode, license, docs.
fn release_tarball(dir: &Path, corrupt: impl Fn(&str, &mut Vec<u8>)) -> PathBuf {
    let path = dir.join("intel-ucode.tar.gz");
    let gz = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let mut add = |name: String, data: &[u8], mode: u32| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_cksum();
        tar.append_data(&mut h, name, data).unwrap();
    };
    for (name, signature, flags) in UCODE {
        let mut data = ucode(*signature, *flags);
        corrupt(name, &mut data);
        add(format!("{TOP}/intel-ucode/{name}"), &data, 0o664);
    }
    add(format!("{TOP}/intel-ucode-with-caveats/06-4f-01"), b"caveats", 0o664);
    add(format!("{TOP}/license"), b"Intel microcode license text\n", 0o664);
    add(format!("{TOP}/README.md"), b"readme\n", 0o664);
    add(format!("{TOP}/releasenote.md"), b"notes\n", 0o664);
    tar.into_inner().unwrap().finish().unwrap();
    path
}

fn stage_tarball(arch: Arch, tarball: PathBuf) -> Result<Staged> {
    let mut opts = TestOptions::from_env().unwrap();
    opts.fetch.offline = true;
    opts.overrides =
        vec![SourceOverride { extension: "intel-ucode".into(), source: Some("intel-ucode".into()), path: tarball }];
    stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts)
}

fn staged(arch: Arch, tmp: &Path) -> Staged {
    stage_tarball(arch, release_tarball(tmp, |_, _| {})).unwrap_or_else(|e| panic!("staging {arch}: {e:#}"))
}

fn check(arch: Arch) {
    let tmp = tempfile::tempdir().unwrap();
    let s = staged(arch, tmp.path());
    assert_eq!(s.overridden_sources, ["intel-ucode"]);
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("  name: intel-ucode\n"), "{manifest}");
    assert!(manifest.contains("20260812"), "{manifest}");

    let mut want: Vec<String> = UCODE.iter().map(|(n, ..)| format!("{}/{n}", build::UCODE_DIR)).collect();
    want.push(build::LICENSE.to_string());
    want.push(talos_ext_build::sbom::spdx_path("intel-ucode"));
    want.sort();
    assert_eq!(s.rootfs_files(), want, "nothing else is staged (but the SBOM)");
    for (name, signature, flags) in UCODE {
        let path = s.rootfs(&format!("{}/{name}", build::UCODE_DIR));
        assert_eq!(std::fs::read(&path).unwrap(), ucode(*signature, *flags));
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777, 0o644, "{name}");
    }
    assert_eq!(std::fs::metadata(s.rootfs(build::LICENSE)).unwrap().permissions().mode() & 0o7777, 0o644);
    for dir in ["usr", "usr/lib", "usr/lib/firmware", build::UCODE_DIR] {
        assert_eq!(std::fs::metadata(s.rootfs(dir)).unwrap().permissions().mode() & 0o7777, 0o755, "{dir}");
    }
}

#[test]
fn amd64_release_layout() {
    check(Arch::Amd64);
}

#[test]
fn arm64_release_layout() {
    check(Arch::Arm64);
}

#[test]
fn corrupt_microcode_fails_the_build_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    // One bit of 06-8f-08's data flipped: its checksum no longer holds.
    let tarball = release_tarball(tmp.path(), |name, data| {
        if name == "06-8f-08" {
            data[100] ^= 0x10;
        }
    });
    let err = stage_tarball(Arch::Amd64, tarball).expect_err("a corrupt microcode file must fail the build");
    let msg = format!("{err:#}");
    assert!(msg.contains("intel-ucode/06-8f-08: update at byte 0: bad checksum"), "{msg}");
}

#[test]
fn misnamed_microcode_fails_the_build_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    // 06-9a-03 holding Sapphire Rapids' update: the kernel would never load it for either CPU.
    let tarball = release_tarball(tmp.path(), |name, data| {
        if name == "06-9a-03" {
            *data = ucode(0x000806f8, 0x87);
        }
    });
    let err = stage_tarball(Arch::Arm64, tarball).expect_err("a misnamed microcode file must fail the build");
    let msg = format!("{err:#}");
    assert!(msg.contains("intel-ucode/06-9a-03: the name `06-9a-03` is not the family-model-stepping"), "{msg}");
    assert!(msg.contains("(06-8f-08)"), "{msg}");
}
