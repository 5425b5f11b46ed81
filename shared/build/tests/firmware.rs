//! Kind `firmware` end to end, on a generated tiny linux-firmware release: the default recipe
//! stages the metadata's selection (a directory, a glob, a file that `WHENCE` makes a link) into
//! `/usr/lib/firmware/` with fixed modes and `WHENCE`'s links as symlinks, validated strictly;
//! from the release as a pinned tarball (through an offline directory mirror, unpacked once into
//! the shared cache) and from a stand-in directory (`--source linux-firmware=<dir>`: marked, the
//! SBOM says so); a path the release lacks fails naming the recipe, the path and the tree.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::Digest as _;
use talos_ext_build::model::firmware::LinuxFirmware;
use talos_ext_build::testing::{Staged, TestOptions, mode, stage_meta_with};
use talos_ext_build::{Arch, SourceOverride, default_recipe};

const TOP: &str = "linux-firmware-20991231";

/// The release's files (path, contents, mode in the release), links in its `WHENCE`.
const FILES: &[(&str, &str, u32)] = &[
    ("WHENCE", WHENCE_TEXT, 0o644),
    ("LICENCE.qla2xxx", "licence\n", 0o644),
    ("bnx2x/bnx2x-e1-7.13.21.0.fw", "e1", 0o600),
    ("bnx2x/bnx2x-e2-7.13.21.0.fw", "e2", 0o755),
    ("bnx2x/old/bnx2x-e1-6.2.9.0.fw", "old", 0o644),
    ("ql2100_fw.bin", "2100", 0o664),
    ("ql2500_fw.bin", "2500", 0o644),
    ("qlx_other.bin", "other", 0o644),
    ("intel/ice/ddp/ice-1.3.36.0.pkg", "ddp", 0o644),
    ("intel/ice/ddp-comms/ice_comms-1.3.52.0.pkg", "comms", 0o644),
];

const WHENCE_TEXT: &str = "Driver: bnx2x\nFile: bnx2x/bnx2x-e1-7.13.21.0.fw\n\
    Link: bnx2x/bnx2x-e1.fw -> bnx2x-e1-7.13.21.0.fw\n\n\
    Driver: ice\nFile: intel/ice/ddp/ice-1.3.36.0.pkg\nLink: intel/ice/ddp/ice.pkg -> ice-1.3.36.0.pkg\n\
    Link: ice.pkg -> intel/ice/ddp/ice.pkg\n";

const SELECTION: &str = r#"firmware = ["bnx2x", "ql*_fw.bin", "intel/ice/ddp/ice.pkg"]"#;

/// What the selection stages below `usr/lib/firmware/`: files and links (with their targets).
const STAGED: &[&str] = &[
    "bnx2x/bnx2x-e1-7.13.21.0.fw",
    "bnx2x/bnx2x-e1.fw -> bnx2x-e1-7.13.21.0.fw",
    "bnx2x/bnx2x-e2-7.13.21.0.fw",
    "bnx2x/old/bnx2x-e1-6.2.9.0.fw",
    "intel/ice/ddp/ice-1.3.36.0.pkg",
    "intel/ice/ddp/ice.pkg -> ice-1.3.36.0.pkg",
    "ql2100_fw.bin",
    "ql2500_fw.bin",
];

fn pinned() -> LinuxFirmware {
    let root = talos_ext_build::model::Pin::find_workspace_root(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
    LinuxFirmware::load(&root).unwrap()
}

fn meta(firmware: &str, date: &str) -> String {
    format!(
        "category = \"firmware\"\ntier = \"core\"\nkind = \"firmware\"\nauthor = \"talos-ext-build tests\"\n\
         description = \"Firmware test recipe\"\narches = [\"amd64\", \"arm64\"]\n\
         version = {{ format = \"firmware\", date = \"{date}\" }}\nlicense = \"LicenseRef-linux-firmware\"\n\
         purl = \"pkg:generic/linux-firmware@{date}\"\n{firmware}\n"
    )
}

/// The release as a directory (`dir/<TOP>/...`).
fn release_dir(dir: &Path) -> PathBuf {
    let top = dir.join(TOP);
    for (path, text, mode) in FILES {
        let p = top.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(*mode)).unwrap();
    }
    top
}

/// The release as a `.tar.gz` with one top directory, as gitlab serves it.
fn release_tarball(dir: &Path) -> PathBuf {
    let path = dir.join(format!("{TOP}.tar.gz"));
    let gz = flate2::write::GzEncoder::new(fs::File::create(&path).unwrap(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (name, text, mode) in FILES {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(*mode);
        h.set_cksum();
        tar.append_data(&mut h, format!("{TOP}/{name}"), text.as_bytes()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
    path
}

/// What is staged below `usr/lib/firmware/` (files and links), in the form of [`STAGED`], after
/// checking modes: 0644 files, 0755 directories.
fn staged_firmware(s: &Staged) -> Vec<String> {
    let mut out = Vec::new();
    for rel in s.rootfs_files() {
        let Some(path) = rel.strip_prefix("usr/lib/firmware/") else { continue };
        let full = s.rootfs(&rel);
        match fs::read_link(&full) {
            Ok(target) => out.push(format!("{path} -> {}", target.display())),
            Err(_) => {
                assert_eq!(mode(&full), 0o644, "{rel}");
                out.push(path.to_string());
            }
        }
        let mut dir = Path::new(&rel).parent();
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
            assert_eq!(mode(&s.rootfs(&d.to_string_lossy())), 0o755, "{}", d.display());
            dir = d.parent();
        }
    }
    out
}

fn sbom_component(s: &Staged, name: &str) -> talos_ext_build::sbom::PackageVersion {
    let doc = fs::read(s.rootfs(&talos_ext_build::sbom::spdx_path(name))).unwrap();
    let components = talos_ext_build::sbom::components(&doc).unwrap();
    components.into_iter().find(|c| c.name == "linux-firmware").expect("a linux-firmware component")
}

#[test]
fn the_pinned_release_is_fetched_unpacked_once_and_selected() {
    let tmp = tempfile::tempdir().unwrap();
    let tarball = release_tarball(tmp.path());
    let bytes = fs::read(&tarball).unwrap();
    let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
    let pin = LinuxFirmware {
        version: "20991231".into(),
        url: format!("https://gitlab.com/kernel-firmware/linux-firmware/-/archive/20991231/{TOP}.tar.gz"),
        sha256: talos_ext_build::model::Sha256::parse(&sha256).unwrap(),
        sha512: talos_ext_build::model::Sha512::parse(&hex::encode(sha2::Sha512::digest(&bytes))).unwrap(),
    };
    let mut opts = TestOptions::offline_mirror(tmp.path(), &[(&tarball, &sha256)]).unwrap();
    opts.linux_firmware = Some(pin.clone());
    let text = meta(SELECTION, &pin.version);
    for arch in [Arch::Amd64, Arch::Arm64] {
        let s = stage_meta_with("fw-test", &text, default_recipe, arch, &opts).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(staged_firmware(&s), STAGED, "{arch}");
        assert!(s.overridden_sources.is_empty());
        assert_eq!(fs::read(s.rootfs("usr/lib/firmware/ql2100_fw.bin")).unwrap(), b"2100");
        let c = sbom_component(&s, "fw-test");
        assert_eq!(c.version, "20991231");
        let doc = fs::read_to_string(s.rootfs(&talos_ext_build::sbom::spdx_path("fw-test"))).unwrap();
        assert!(doc.contains(&pin.url) && doc.contains(&sha256), "the SBOM lists the pinned release:\n{doc}");
        let manifest = fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
        assert!(manifest.contains("  version: '20991231'\n"), "{manifest}");
    }
    // Unpacked once, into the shared cache, for both arches.
    let trees: Vec<String> = fs::read_dir(opts.fetch.cache_dir.join("firmware"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".lock"))
        .collect();
    assert_eq!(trees, [format!("linux-firmware-20991231-{}", &sha256[..12])]);

    // The recipe's date must be the pinned release's.
    let e = stage_meta_with("fw-test", &meta(SELECTION, "20260810"), default_recipe, Arch::Amd64, &opts).unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("version.date: `20260810` is not the pinned linux-firmware release `20991231`"), "{msg}");
}

fn stand_in(dir: &Path) -> TestOptions {
    let mut opts = TestOptions::from_env().unwrap();
    opts.fetch = talos_ext_build::fetch::FetchConfig::new(dir.join("cache"));
    opts.fetch.offline = true;
    opts.overrides = vec![SourceOverride { extension: "linux-firmware".into(), source: None, path: release_dir(dir) }];
    opts
}

#[test]
fn a_stand_in_tree_is_marked_and_the_sbom_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = stand_in(tmp.path());
    let text = meta(SELECTION, &pinned().version);
    let s = stage_meta_with("fw-test", &text, default_recipe, Arch::Arm64, &opts).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(staged_firmware(&s), STAGED);
    assert_eq!(s.overridden_sources, ["linux-firmware"]);
    let c = sbom_component(&s, "fw-test");
    assert!(c.version.starts_with("stand-in") && c.version.contains(&pinned().version), "{}", c.version);
    assert!(!tmp.path().join("cache/firmware").exists(), "a stand-in never fetches the release");
}

#[test]
fn a_path_the_release_lacks_names_the_recipe_the_path_and_the_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = stand_in(tmp.path());
    let text = meta(r#"firmware = ["bnx2x", "rtl_nic/*"]"#, &pinned().version);
    let e = stage_meta_with("fw-test", &text, default_recipe, Arch::Amd64, &opts).unwrap_err();
    let msg = format!("{e:#}");
    let tree = tmp.path().join(TOP);
    assert!(
        msg.contains(&format!(
            "firmware recipe `fw-test`: `rtl_nic/*` matches nothing in the stand-in linux-firmware tree {}",
            tree.display()
        )),
        "{msg}"
    );
    // A link at the top of the release to a link: both come, each as WHENCE wrote it.
    let text = meta(r#"firmware = ["ice.pkg"]"#, &pinned().version);
    let s = stage_meta_with("fw-test", &text, default_recipe, Arch::Amd64, &opts).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        staged_firmware(&s),
        [
            "ice.pkg -> intel/ice/ddp/ice.pkg",
            "intel/ice/ddp/ice-1.3.36.0.pkg",
            "intel/ice/ddp/ice.pkg -> ice-1.3.36.0.pkg"
        ]
    );
}
