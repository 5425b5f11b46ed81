//! Stages `intel-ucode` from a generated tarball with the layout of Intel's release (the real
//! one is not reachable here) through a source override, for both arches, and checks that
//! exactly the microcode files, the license and the SBOM are staged, with mode 0644.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use talos_ext_build::testing::{Staged, TestOptions, stage_with};
use talos_ext_build::{Arch, SourceOverride};

const TOP: &str = "Intel-Linux-Processor-Microcode-Data-Files-microcode-20260812";
const UCODE: &[(&str, &[u8])] =
    &[("06-55-04", b"skylake-sp"), ("06-8f-08", b"sapphire-rapids"), ("06-9a-03", b"alder")];

/// A `.tar.gz` shaped like Intel's release: microcode, caveats microcode, license, docs.
fn release_tarball(dir: &Path) -> PathBuf {
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
    for (name, data) in UCODE {
        add(format!("{TOP}/intel-ucode/{name}"), data, 0o664);
    }
    add(format!("{TOP}/intel-ucode-with-caveats/06-4f-01"), b"caveats", 0o664);
    add(format!("{TOP}/license"), b"Intel microcode license text\n", 0o664);
    add(format!("{TOP}/README.md"), b"readme\n", 0o664);
    add(format!("{TOP}/releasenote.md"), b"notes\n", 0o664);
    tar.into_inner().unwrap().finish().unwrap();
    path
}

fn staged(arch: Arch, tmp: &Path) -> Staged {
    let mut opts = TestOptions::from_env().unwrap();
    opts.fetch.offline = true;
    opts.overrides = vec![SourceOverride {
        extension: "intel-ucode".into(),
        source: Some("intel-ucode".into()),
        path: release_tarball(tmp),
    }];
    stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts)
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"))
}

/// Every non-directory below `root`, relative, sorted.
fn files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

fn check(arch: Arch) {
    let tmp = tempfile::tempdir().unwrap();
    let s = staged(arch, tmp.path());
    assert_eq!(s.overridden_sources, ["intel-ucode"]);
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("  name: intel-ucode\n"), "{manifest}");
    assert!(manifest.contains("20260812"), "{manifest}");

    let mut want: Vec<String> = UCODE.iter().map(|(n, _)| format!("{}/{n}", build::UCODE_DIR)).collect();
    want.push(build::LICENSE.to_string());
    want.push(talos_ext_build::sbom::spdx_path("intel-ucode"));
    want.sort();
    assert_eq!(files(&s.dir.join("rootfs")), want, "nothing else is staged (but the SBOM)");
    for (name, data) in UCODE {
        let path = s.rootfs(&format!("{}/{name}", build::UCODE_DIR));
        assert_eq!(std::fs::read(&path).unwrap(), *data);
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
