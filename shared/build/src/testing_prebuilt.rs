//! The shared tests of `prebuilt` recipes, with generated stand-ins: the vendors' bytes are not
//! reachable offline, so for every payload the test builds a small static musl program per arch
//! ([`super::stand_in_program`]) that prints `stand-in <name>, not the vendor bytes`, puts it
//! where the vendor's file has it (the whole download, or the member of a `.tar.gz` with the
//! pinned file name), serves that through an offline directory mirror under the test's own pin
//! ([`super::Repin`], listed in `extensions/test-overrides.toml`), and stages the recipe. So the
//! fetch, verification, unpacking, ELF checks, install, SBOM and CRI-part validation run for
//! real; only the bytes are not the vendor's, and every message says so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use talos_ext_model::{Arch, ExtensionMeta};

use super::{Repin, Staged, TestOptions, check_static_program, stage_with, target_command};
use crate::script::{Recipe, load_meta};

/// The stand-ins' program bytes by payload destination.
type Programs = BTreeMap<String, Vec<u8>>;

/// The stand-in files of one arch: (source name, file served for it), and each payload's
/// program bytes by its rootfs destination.
struct StandIns {
    files: Vec<(String, PathBuf)>,
    programs: Programs,
}

/// What the line a stand-in prints says for the program `name`.
pub fn stand_in_line(name: &str) -> String {
    format!("stand-in {name}, not the vendor bytes")
}

/// Builds the stand-ins of `meta`'s payloads for `arch`, with programs built for `program_arch`
/// (the other arch, to test the machine check), into `dir`.
fn stand_ins(meta: &ExtensionMeta, arch: Arch, program_arch: Arch, dir: &Path) -> Result<StandIns> {
    let programs_dir = dir.join(format!("programs-{program_arch}"));
    let mut by_source: BTreeMap<String, Vec<(Option<String>, PathBuf, String)>> = BTreeMap::new();
    let mut programs = BTreeMap::new();
    for p in meta.payloads_for(arch) {
        let name = p.dest.rsplit('/').next().unwrap_or(&p.dest).to_string();
        let program = super::stand_in_program(program_arch, &programs_dir, &name)?;
        let bytes = std::fs::read(&program).with_context(|| format!("reading {}", program.display()))?;
        programs.insert(p.dest.clone(), bytes);
        by_source.entry(p.source.clone()).or_default().push((p.member.clone(), program, name));
    }
    let served = dir.join(format!("served-{arch}"));
    std::fs::create_dir_all(&served).with_context(|| format!("creating {}", served.display()))?;
    let mut files = Vec::new();
    for (source, entries) in by_source {
        let pinned = meta.source(&source, arch).with_context(|| format!("no source `{source}` for {arch}"))?;
        let file = served.join(pinned.file_name());
        match entries.as_slice() {
            [(None, program, _)] => {
                std::fs::copy(program, &file).with_context(|| format!("copying to {}", file.display()))?;
            }
            _ if entries.iter().all(|(member, _, _)| member.is_some()) => write_tar_gz(&file, &entries)?,
            _ => bail!("source `{source}` is both a whole-file payload and an archive"),
        }
        files.push((source, file));
    }
    Ok(StandIns { files, programs })
}

/// A `.tar.gz` (or `.tgz`) holding each program at its member path, mode 0755.
fn write_tar_gz(file: &Path, entries: &[(Option<String>, PathBuf, String)]) -> Result<()> {
    let mut members = Vec::new();
    for (member, program, _) in entries {
        let bytes = std::fs::read(program).with_context(|| format!("reading {}", program.display()))?;
        members.push((member.clone().unwrap_or_default(), bytes, 0o755));
    }
    super::write_tar_gz(file, &members)
}

/// Stages `recipe` for `arch` from stand-ins built for `program_arch`, served through an offline
/// directory mirror under the test's own pins. Returns the staging result and the stand-ins'
/// program bytes by destination; `tmp` holds the mirror and must outlive the result.
fn stage_stand_ins(
    manifest_dir: &str,
    recipe: Recipe,
    arch: Arch,
    program_arch: Arch,
    tmp: &Path,
) -> Result<(Result<Staged>, Programs)> {
    let meta = load_meta(Path::new(manifest_dir))?;
    let made = stand_ins(&meta, arch, program_arch, tmp)?;
    let mut repins = Vec::new();
    let mut mirrored = Vec::new();
    for (source, file) in &made.files {
        let repin = Repin::of_file(source, arch, file)?;
        mirrored.push((file.clone(), repin.sha256.to_string()));
        repins.push(repin);
    }
    let list: Vec<(&Path, &str)> = mirrored.iter().map(|(f, s)| (f.as_path(), s.as_str())).collect();
    let mut opts = TestOptions::offline_mirror(&tmp.join("fetch"), &list)?;
    opts.repins = repins;
    Ok((stage_with(manifest_dir, recipe, arch, &opts), made.programs))
}

/// The `files[]` sha256 of `path` and whether a package named `path` has purpose `APPLICATION`,
/// from a staged SBOM.
fn sbom_binary(staged: &Staged, meta: &ExtensionMeta, path: &str) -> Result<(Option<String>, bool)> {
    let doc_path = staged.rootfs(&talos_ext_sbom::spdx_path(&meta.name));
    let text = std::fs::read(&doc_path).with_context(|| format!("reading {}", doc_path.display()))?;
    let doc: serde_json::Value = serde_json::from_slice(&text).with_context(|| format!("{}", doc_path.display()))?;
    let sha = doc["files"].as_array().into_iter().flatten().find(|f| f["fileName"] == path).and_then(|f| {
        f["checksums"].as_array()?.iter().find(|c| c["algorithm"] == "SHA256")?["checksumValue"]
            .as_str()
            .map(String::from)
    });
    let application = doc["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|p| p["name"] == path && p["primaryPackagePurpose"] == "APPLICATION");
    Ok((sha, application))
}

/// The CRI parts a staged tree ships (`etc/cri/conf.d/*`), relative to the rootfs.
fn cri_parts(staged: &Staged) -> Vec<String> {
    staged.rootfs_files().into_iter().filter(|f| f.starts_with("etc/cri/conf.d/")).collect()
}

/// The stand-in test of a `prebuilt` recipe, for every arch: each payload is installed at its
/// destination with its mode, is the stand-in's bytes, is static (unless it declares a loader)
/// and runs (arm64 under qemu), and is a binary component of the SBOM with its sha256; every
/// CRI part passes the strict validator's `cri-part` rule, and the same tree with a broken part
/// is reported naming that file. Panics with the reason otherwise.
pub fn check_prebuilt_recipe_with_stand_ins(manifest_dir: &str, recipe: Recipe) {
    use sha2::Digest as _;
    let meta = load_meta(Path::new(manifest_dir)).expect("the recipe's metadata");
    for arch in meta.arches.clone() {
        let tmp = tempfile::tempdir().expect("a temp dir");
        let (staged, programs) =
            stage_stand_ins(manifest_dir, recipe, arch, arch, tmp.path()).unwrap_or_else(|e| panic!("{e:#}"));
        let s = staged.unwrap_or_else(|e| panic!("staging {} {arch} from stand-ins: {e:#}", meta.name));
        eprintln!("{} {arch}: staged from STAND-INS (not the vendor bytes): {:?}", meta.name, programs.keys());
        for p in meta.payloads_for(arch) {
            let path = s.rootfs(&p.dest);
            assert_eq!(super::mode(&path), p.mode, "{}: mode of {}", meta.name, p.dest);
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(bytes == programs[&p.dest], "{} {arch}: {} is not the stand-in served for it", meta.name, p.dest);
            if p.loader.is_none() {
                check_static_program(arch, &path).unwrap_or_else(|e| panic!("{e:#}"));
                let name = p.dest.rsplit('/').next().unwrap_or(&p.dest);
                let out = target_command(arch, &path).read().unwrap_or_else(|e| panic!("running {}: {e}", p.dest));
                assert_eq!(out.trim(), stand_in_line(name), "{} {arch}: the stand-in's output", p.dest);
            }
            let (sha, application) = sbom_binary(&s, &meta, &p.node_path()).unwrap_or_else(|e| panic!("{e:#}"));
            assert!(application, "{} {arch}: no APPLICATION package {} in the SBOM", meta.name, p.node_path());
            assert_eq!(sha.as_deref(), Some(hex::encode(sha2::Sha256::digest(&bytes)).as_str()), "{}", p.dest);
        }
        for part in cri_parts(&s) {
            let bytes = std::fs::read(s.rootfs(&part)).expect("the CRI part");
            let name = part.rsplit('/').next().unwrap_or(&part);
            let problems = talos_ext_validate::cri::check(name, &bytes);
            assert!(problems.is_empty(), "{} {arch}: {part}: {problems:?}", meta.name);
            assert!(
                String::from_utf8_lossy(&bytes).contains("runtime_type"),
                "{part}: a runtime part declares its runtime_type"
            );
            check_broken_part_is_reported(&s, &part);
        }
    }
}

/// A copy of the staged tree with `part` cut in the middle of a table header must fail the
/// strict validator with a `cri-part` finding naming `/<part>`.
fn check_broken_part_is_reported(s: &Staged, part: &str) {
    let copy = tempfile::tempdir().expect("a temp dir");
    let dir = copy.path().join("tree");
    talos_ext_fs::copy_tree(&s.dir, &dir).expect("copying the staged tree");
    let path = dir.join("rootfs").join(part);
    let mut text = std::fs::read_to_string(&path).expect("the CRI part");
    text.push_str("\n[plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.broken\n");
    std::fs::write(&path, text).expect("writing the broken part");
    let manifest = std::fs::read_to_string(dir.join("manifest.yaml")).expect("manifest.yaml");
    let name = manifest.lines().find_map(|l| l.strip_prefix("  name: ")).map(str::to_string);
    let opts = talos_ext_validate::Options {
        strict: true,
        pkg_name: name,
        talos_version: super::Pins::load().expect("the pins").pin.talos.tag,
        kernel: None,
    };
    let report = talos_ext_validate::validate_dir(&dir, &opts).expect("validating the copy");
    let want = format!("/{part}");
    assert!(
        report.findings.iter().any(|f| f.rule == talos_ext_validate::Rule::CriPart && f.path == want),
        "a broken {part} must be a cri-part finding naming it:\n{report}"
    );
}

/// The wrong-arch test of a `prebuilt` recipe: staging each arch from the other arch's stand-ins
/// must fail, naming the payload's destination and both ELF machines.
pub fn check_prebuilt_recipe_refuses_the_wrong_arch(manifest_dir: &str, recipe: Recipe) {
    let meta = load_meta(Path::new(manifest_dir)).expect("the recipe's metadata");
    for arch in meta.arches.clone() {
        let other = if arch == Arch::Amd64 { Arch::Arm64 } else { Arch::Amd64 };
        let tmp = tempfile::tempdir().expect("a temp dir");
        let (staged, _) =
            stage_stand_ins(manifest_dir, recipe, arch, other, tmp.path()).unwrap_or_else(|e| panic!("{e:#}"));
        let err = staged.expect_err("the other arch's stand-in must be refused");
        let msg = format!("{err:#}");
        let first = meta.payloads_for(arch).next().expect("a payload");
        let machine = |a: Arch| crate::prebuilt::machine_name(a.elf_machine());
        assert!(msg.contains(&format!("payload `{}`", first.dest)), "{msg}");
        assert!(msg.contains(&machine(arch)) && msg.contains(&machine(other)), "{msg}");
        eprintln!("{} {arch}: the {other} stand-in is refused: {msg}", meta.name);
    }
}

/// The tests of a `prebuilt` recipe, with stand-ins (see the module docs): its whole
/// `tests/stand_ins.rs` is `talos_ext_build::prebuilt_recipe_tests!(build::recipe);` after
/// including its `build.rs` as module `build`.
#[macro_export]
macro_rules! prebuilt_recipe_tests {
    ($recipe:path) => {
        #[test]
        fn stand_in_payloads_install_run_and_are_in_the_sbom_not_the_vendor_bytes() {
            $crate::testing::prebuilt::check_prebuilt_recipe_with_stand_ins(env!("CARGO_MANIFEST_DIR"), $recipe);
        }

        #[test]
        fn a_stand_in_for_the_wrong_arch_is_refused_naming_both_machines() {
            $crate::testing::prebuilt::check_prebuilt_recipe_refuses_the_wrong_arch(
                env!("CARGO_MANIFEST_DIR"),
                $recipe,
            );
        }
    };
}
