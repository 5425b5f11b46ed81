//! Stages `hello-module` for both arches through its real recipe (Debian 6.12 toolchain by
//! default) and checks the modules with kmod's own `modinfo`: signer, sha512, vermagic, ELF
//! machine and install path. Also builds a real third-party driver (Debian's
//! `v4l2loopback-dkms`) through the same out-of-tree path, and checks that a signing key that
//! differs from the key lock fails the build until the lock is deliberately updated.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use std::path::{Path, PathBuf};
use std::time::Instant;

use talos_ext_build::Arch;
use talos_ext_build::kernel::kmod::{self, SigningKey, Subject};
use talos_ext_build::kernel::toolchains::{KernelContext, KeyFiles, PrepareOptions, prepare_build_tree, rekey};
use talos_ext_build::kernel::{KernelOverrides, with_overrides};
use talos_ext_build::model::Pin;
use talos_ext_build::step::Command;
use talos_ext_build::testing::{Staged, debian_deb, extract_debs, scratch_stage, stage, test_fixture};

const TOOLCHAIN: &str = "debian-6.12";

fn root() -> PathBuf {
    Pin::find_workspace_root(Path::new(env!("CARGO_MANIFEST_DIR"))).expect("workspace root")
}

fn staged(arch: Arch) -> Staged {
    stage(env!("CARGO_MANIFEST_DIR"), build::recipe, arch).unwrap_or_else(|e| panic!("staging {arch}: {e:#}"))
}

/// The single release directory under `usr/lib/modules`.
fn release_dir(s: &Staged) -> (String, PathBuf) {
    let dir = s.rootfs("usr/lib/modules");
    let names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names.len(), 1, "{names:?}");
    (names[0].clone(), dir.join(&names[0]))
}

/// `modinfo -F <field> <file>` with kmod's modinfo.
fn modinfo(field: &str, ko: &Path) -> String {
    let out = Command::new("modinfo").args(["-F", field]).arg(ko).hint("apt-get install kmod").read();
    out.unwrap_or_else(|e| panic!("{e}")).trim().to_string()
}

fn check_signed_module(ko: &Path, release: &str, arch: Arch) {
    assert_eq!(modinfo("sig_id", ko), "PKCS#7");
    assert_eq!(modinfo("sig_hashalgo", ko), "sha512");
    let vermagic = modinfo("vermagic", ko);
    assert_eq!(vermagic.split_whitespace().next(), Some(release), "{vermagic}");
    let bytes = std::fs::read(ko).unwrap();
    let machine = kmod::elf_machine(&bytes).unwrap_or_else(|e| panic!("{}: {e}", ko.display()));
    assert_eq!(machine, kmod::ElfMachine::from_e_machine(arch.elf_machine()), "ELF machine of {}", ko.display());
    let file = Command::new("file").arg(ko).read();
    if let Ok(file) = file {
        let want = if arch == Arch::Amd64 { "x86-64" } else { "aarch64" };
        assert!(file.contains(want), "{file}");
    }
    // Stripped before signing: no DWARF left, and the signature is intact (trailer parses).
    assert!(!bytes.windows(12).any(|w| w == b".debug_info\0"), "{} still has debug info", ko.display());
    let sig = kmod::ModuleSignature::parse(&bytes).unwrap().expect("signed");
    let key = KernelContext::from_env(&root()).unwrap().module_key(TOOLCHAIN).unwrap();
    assert_eq!(sig.sig_key(), &key.key.key_id());
    assert_eq!(modinfo("signer", ko), key.key.signer().unwrap());
}

fn check_hello(arch: Arch) {
    let started = Instant::now();
    let s = staged(arch);
    eprintln!("hello-module {arch}: staged in {:.1?}", started.elapsed());
    let (release, dir) = release_dir(&s);
    let suffix = format!("-{arch}");
    assert!(release.starts_with("6.12.") && release.ends_with(&suffix), "{release}");
    let ko = dir.join("extras/hello.ko");
    assert!(ko.is_file(), "usr/lib/modules/{release}/extras/hello.ko");
    assert!(std::fs::metadata(&ko).unwrap().len() > 0);
    check_signed_module(&ko, &release, arch);
    assert_eq!(modinfo("description", &ko), "Example out-of-tree module");
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(manifest.contains("name: hello-module"), "{manifest}");
    check_abi_exact(&s, &ko, &release, arch);
}

/// ABI-exact: the module's `__versions` holds a CRC for every kernel symbol it uses, each equal
/// to the one in Debian's real Module.symvers (shipped in its linux-headers package); the
/// pre-boot check passes on the staged tree, and fails, naming module and symbol, once one CRC
/// is changed.
fn check_abi_exact(s: &Staged, ko: &Path, release: &str, arch: Arch) {
    use talos_ext_build::validate::{KernelExpectation, Options, Rule, validate_dir};

    let ctx = KernelContext::from_env(&root()).unwrap();
    let tree = prepare_build_tree(&ctx, &ctx.toolchain(TOOLCHAIN).unwrap(), arch, PrepareOptions::default()).unwrap();
    let symvers = tree.symvers().unwrap().expect("Debian's linux-headers ship Module.symvers");
    let bytes = std::fs::read(ko).unwrap();
    let versions = kmod::modversions(&bytes).unwrap().expect("a __versions section");
    assert!(versions.iter().any(|(name, _)| name == "_printk"), "{versions:?}");
    for (name, crc) in &versions {
        let export = symvers.exports.get(name).unwrap_or_else(|| panic!("{name} is not in Module.symvers"));
        assert_eq!(export.crc, *crc, "{arch}: CRC of {name}");
    }
    let kernel = KernelExpectation {
        release: release.to_string(),
        arch: Some(arch),
        vermagic_flags: tree.vermagic_flags().unwrap(),
        symvers: Some(std::sync::Arc::new(symvers)),
        ..Default::default()
    };
    let flags = kernel.vermagic_flags.clone().expect("the headers' .config");
    assert!(modinfo("vermagic", ko).ends_with(flags.trim_end()), "{flags:?}");
    let opts = Options { strict: true, pkg_name: None, talos_version: root_pin().talos.tag, kernel: Some(kernel) };
    let report = validate_dir(&s.dir, &opts).unwrap();
    assert!(report.is_ok(), "{report}");

    // Plant a different CRC for the first symbol, in this test's own staged tree (the signature
    // is checked for shape only).
    let section = kmod::section(&bytes, b"__versions").unwrap().unwrap();
    let at = section.as_ptr() as usize - bytes.as_ptr() as usize;
    let mut changed = bytes.clone();
    changed[at] ^= 0xff;
    std::fs::write(ko, &changed).unwrap();
    let report = validate_dir(&s.dir, &opts).unwrap();
    let crc: Vec<_> = report.of(Rule::ModuleCrc).collect();
    assert_eq!(crc.len(), 1, "{report}");
    assert!(
        crc[0].message.contains(&format!("\"{}\"", versions[0].0)) && crc[0].message.contains("hello.ko"),
        "{report}"
    );
}

fn root_pin() -> Pin {
    Pin::load(&root()).unwrap()
}

#[test]
fn tier_kinds_amd64_module_is_signed_sha512_for_the_toolchain_release() {
    check_hello(Arch::Amd64);
}

#[test]
fn tier_kinds_arm64_module_is_signed_sha512_for_the_toolchain_release() {
    check_hello(Arch::Arm64);
}

/// The `v4l2loopback-dkms` package taken: bookworm's, whose 0.12.7 needs the `strlcpy` fix below.
const V4L2LOOPBACK: &str = "v4l2loopback-dkms=0.12.7-2";

/// `v4l2loopback-dkms` from the Debian archive, extracted once into the workspace cache; returns
/// its source directory (`usr/src/v4l2loopback-<version>`).
fn v4l2loopback_source() -> PathBuf {
    let made = test_fixture("v4l2loopback-dkms", |partial| {
        let started = Instant::now();
        let deb = debian_deb(V4L2LOOPBACK)?;
        extract_debs(&[deb], &partial.join("tree"))?;
        eprintln!("{V4L2LOOPBACK}: downloaded and extracted in {:.1?}", started.elapsed());
        Ok(())
    });
    let dir = made.unwrap_or_else(|e| panic!("{e:#}"));
    std::fs::read_dir(dir.join("tree/usr/src"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("v4l2loopback-")))
        .expect("usr/src/v4l2loopback-* in the package")
}

#[test]
fn tier_kinds_v4l2loopback_from_debian_builds_and_signs_for_both_arches() {
    let src = v4l2loopback_source();
    for arch in Arch::ALL {
        let (_tmp, s) = scratch_stage(arch).unwrap();
        let started = Instant::now();
        let report = s
            .kbuild_modules("v4l2loopback")
            .source_dir(&src)
            // 0.12.7 predates Linux 6.8, which removed strlcpy.
            .replace("v4l2loopback.c", "strlcpy", "strscpy")
            .expect_modules(["v4l2loopback.ko"])
            .run()
            .unwrap_or_else(|e| panic!("{arch}: {e:#}"));
        let m = &report.modules[0];
        eprintln!(
            "v4l2loopback {arch}: make {:.1?}, whole step {:.1?}, strip {:.1?}, sign {:.1?}, {} bytes",
            report.build_time,
            started.elapsed(),
            m.strip_time,
            m.sign_time,
            m.size
        );
        assert_eq!(m.dest, format!("usr/lib/modules/{}/extras/v4l2loopback.ko", report.release));
        let ko = s.rootfs().join(&m.dest);
        check_signed_module(&ko, &report.release, arch);
        assert_eq!(modinfo("name", &ko), "v4l2loopback");
    }
}

#[test]
fn tier_kinds_a_key_that_differs_from_the_lock_fails_the_build_until_rekey() {
    let tmp = tempfile::tempdir().unwrap();
    let lock = tmp.path().join("keys.lock");
    // Lock the key builds use now (the cached key of the toolchain).
    let ctx = KernelContext::from_env(&root()).unwrap();
    let keys = talos_ext_build::kernel::toolchains::keys_dir(&ctx.kernel_dir(), TOOLCHAIN);
    let current = rekey(TOOLCHAIN, None, &keys, &lock, false).unwrap();
    let locked = KernelOverrides { keys_lock: Some(lock.clone()), ..Default::default() };
    with_overrides(locked.clone(), || staged(Arch::Amd64));

    // The key changes (here: another key given as if by TALOS_EXT_MODULE_KEY/CERT).
    let other = SigningKey::generate(2048, &Subject { common_name: "rotated key".into(), organization: None }).unwrap();
    let files = KeyFiles { key: tmp.path().join("k.pem"), cert: tmp.path().join("k.x509") };
    other.write_pem(&files.key, &files.cert).unwrap();
    let rotated = KernelOverrides { key_files: Some(files.clone()), ..locked };
    let err = with_overrides(rotated.clone(), || stage(env!("CARGO_MANIFEST_DIR"), build::recipe, Arch::Amd64))
        .expect_err("a key that differs from the lock must fail the build");
    let msg = format!("{err:#}");
    assert!(msg.contains("module signing key mismatch for toolchain `debian-6.12`"), "{msg}");
    assert!(msg.contains(&current.fingerprint) && msg.contains(&other.cert_fingerprint()), "{msg}");
    assert!(msg.contains("cargo xtask toolchain rekey --toolchain debian-6.12"), "{msg}");

    // A deliberate rekey records the new key; the build then signs with it.
    rekey(TOOLCHAIN, Some(&files), &keys, &lock, false).unwrap();
    let s = with_overrides(rotated, || staged(Arch::Amd64));
    let (_, dir) = release_dir(&s);
    let bytes = std::fs::read(dir.join("extras/hello.ko")).unwrap();
    let sig = kmod::ModuleSignature::parse(&bytes).unwrap().unwrap();
    assert_eq!(sig.sig_key(), &other.key_id());
    assert!(std::fs::read_to_string(&lock).unwrap().contains(&other.cert_fingerprint()));
}
