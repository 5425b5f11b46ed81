//! Stages `intel-ucode` from the real Intel microcode, as Debian ships it in its
//! `intel-microcode` binary package (Intel's release tarball is not reachable here; Debian's
//! non-free-firmware source pool is not either, its binary pool is), through a source override,
//! for both arches: every real file must pass the microcode checker, and the staged files must
//! be the package's files, byte for byte, and nothing else.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use talos_ext_build::microcode;
use talos_ext_build::testing::{Staged, TestOptions, debian_deb, extract_debs, stage_with};
use talos_ext_build::{Arch, SourceOverride};

/// The package, newest version in the index (Debian replaces versions with point releases).
const PACKAGE: &str = "intel-microcode";

/// The package unpacked and rearranged as Intel's release, in a temporary directory.
struct Release {
    /// `intel-ucode/<ff-mm-ss>` and `license`, as in Intel's tarball.
    dir: PathBuf,
    /// Each microcode file by its Intel name, with its bytes.
    ucode: BTreeMap<String, Vec<u8>>,
    license: Vec<u8>,
    _tmp: tempfile::TempDir,
}

/// Downloads (or takes from `<cache>/debian/pool`) the package, extracts it and builds the
/// override directory.
fn debian_release() -> Release {
    let started = std::time::Instant::now();
    let deb = debian_deb(PACKAGE).unwrap_or_else(|e| panic!("{e:#}"));
    let size = std::fs::metadata(&deb).unwrap().len();
    eprintln!("{}: {size} bytes, got in {:.1?}", deb.display(), started.elapsed());
    let tmp = tempfile::tempdir().unwrap();
    let unpacked = tmp.path().join("deb");
    let started = std::time::Instant::now();
    extract_debs(std::slice::from_ref(&deb), &unpacked).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("extracted in {:.1?}", started.elapsed());

    // Trixie ships the files under usr/lib (merged /usr), bookworm under lib.
    let deb_ucode = ["usr/lib/firmware/intel-ucode", "lib/firmware/intel-ucode"]
        .iter()
        .map(|d| unpacked.join(d))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| panic!("{} has no firmware/intel-ucode directory", deb.display()));
    let dir = tmp.path().join("release");
    std::fs::create_dir_all(dir.join("intel-ucode")).unwrap();
    let mut ucode = BTreeMap::new();
    for entry in std::fs::read_dir(&deb_ucode).unwrap() {
        let entry = entry.unwrap();
        assert!(entry.file_type().unwrap().is_file(), "{}: not a plain file", entry.path().display());
        let deb_name = entry.file_name().to_string_lossy().into_owned();
        // Debian renames the updates it wants loaded only early (from the initramfs), never late,
        // to `<ff-mm-ss>.initramfs`; in Intel's release they are plain `<ff-mm-ss>`.
        let name = deb_name.strip_suffix(".initramfs").unwrap_or(&deb_name).to_string();
        let bytes = std::fs::read(entry.path()).unwrap();
        std::fs::write(dir.join("intel-ucode").join(&name), &bytes).unwrap();
        assert!(ucode.insert(name, bytes).is_none(), "{deb_name}: two files for one CPU");
    }
    // Intel's `license` file: Debian ships it verbatim as usr/share/doc/intel-microcode/license
    // (its `copyright` file quotes the same terms within Debian's own text).
    let license = std::fs::read(unpacked.join("usr/share/doc/intel-microcode/license")).expect("Intel's license");
    std::fs::write(dir.join("license"), &license).unwrap();
    Release { dir, ucode, license, _tmp: tmp }
}

fn stage(arch: Arch, release: &Release) -> Staged {
    let mut opts = TestOptions::from_env().unwrap();
    opts.fetch.offline = true;
    opts.overrides = vec![SourceOverride {
        extension: "intel-ucode".into(),
        source: Some("intel-ucode".into()),
        path: release.dir.clone(),
    }];
    let started = std::time::Instant::now();
    // Staging runs the microcode checker on every file and validates the tree strictly.
    let s = stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts)
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    eprintln!("intel-ucode {arch}: staged {} files in {:.1?}", release.ucode.len(), started.elapsed());
    s
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn check(arch: Arch) {
    let release = debian_release();
    let s = stage(arch, &release);
    assert_eq!(s.overridden_sources, ["intel-ucode"], "the image is marked as built from an override");
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("  name: intel-ucode\n"), "{manifest}");

    let mut want: Vec<String> = release.ucode.keys().map(|n| format!("{}/{n}", build::UCODE_DIR)).collect();
    want.push(build::LICENSE.to_string());
    want.push(talos_ext_build::sbom::spdx_path("intel-ucode"));
    want.sort();
    assert_eq!(s.rootfs_files(), want, "exactly the package's microcode, the license and the SBOM");
    for (name, bytes) in &release.ucode {
        let path = s.rootfs(&format!("{}/{name}", build::UCODE_DIR));
        assert!(std::fs::read(&path).unwrap() == *bytes, "{name} differs from the package's file");
        assert_eq!(mode(&path), 0o644, "{name}");
    }
    assert_eq!(std::fs::read(s.rootfs(build::LICENSE)).unwrap(), release.license);
    assert_eq!(mode(&s.rootfs(build::LICENSE)), 0o644);
    for dir in ["usr", "usr/lib", "usr/lib/firmware", build::UCODE_DIR] {
        assert_eq!(mode(&s.rootfs(dir)), 0o755, "{dir}");
    }
}

#[test]
fn tier_kinds_real_microcode_passes_the_checker() {
    let release = debian_release();
    assert!(release.ucode.len() > 100, "only {} microcode files", release.ucode.len());
    let (mut updates, mut extended) = (0, 0);
    for (name, bytes) in &release.ucode {
        let found = microcode::check(&format!("intel-ucode/{name}"), bytes).unwrap_or_else(|e| panic!("{e}"));
        updates += found.len();
        extended += found.iter().filter(|u| !u.extended.is_empty()).count();
    }
    eprintln!("{} files, {updates} updates, {extended} with an extended signature table", release.ucode.len());
    // Intel's families: 6 (Core, Xeon, Atom) and 0xf (Pentium 4).
    assert!(release.ucode.contains_key("06-8f-08") && release.ucode.contains_key("0f-04-01"));
}

#[test]
fn tier_kinds_amd64_real_microcode_from_debian() {
    check(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_real_microcode_from_debian() {
    check(Arch::Arm64);
}
