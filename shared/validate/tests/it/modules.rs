//! The strict module checks on real modules: small C objects with a `.modinfo` section, compiled
//! with gcc (and aarch64-linux-gnu-gcc), signed with `talos_ext_kmod::sign_module` and keys made
//! once per test run. Each case runs on a directory tree ([`validate_dir`], which reads modules on
//! demand) and on a tar stream ([`validate_tar`], which keeps their contents).

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Mutex, OnceLock};

use talos_ext_kmod::symvers::Symvers;
use talos_ext_kmod::{HashAlgo, MAGIC, SigningKey, Subject, TRAILER_LEN, sign_module};
use talos_ext_model::Arch;
use talos_ext_validate::{
    KernelExpectation, Options, Report, Rule, Tree, certificate_key_id, is_module_path, validate, validate_dir,
    validate_tar,
};

use crate::support::{TarItem, base_steps, base_tar_items, build, expect, opts, tar_stream};

/// The release the test modules are "built" for (a real Debian vermagic).
const RELEASE: &str = "6.12.117+deb12-amd64";
/// Another release.
const OTHER: &str = "6.18.45-talos";

const GOOD: &str = "rootfs/usr/lib/modules/6.12.117+deb12-amd64/extras/hello.ko";
const GOOD_SHOWN: &str = "/usr/lib/modules/6.12.117+deb12-amd64/extras/hello.ko";

/// Compiled objects by arch, release and whether they have `__versions`.
type ObjectCache = Mutex<HashMap<(Arch, String, bool), Vec<u8>>>;

/// The `__versions` entries of the test modules, as a C initializer, and as Module.symvers has them.
const VERSIONS: &[(&str, u32)] = &[("printk", 0x1234_5678), ("kmalloc", 0xdead_beef)];

/// An unsigned relocatable object with a `.modinfo` holding `vermagic=<release> ...` and
/// `name=hello`, and a `__versions` section ([`VERSIONS`]), compiled once per `(arch, release)`.
fn object(arch: Arch, release: &str) -> Vec<u8> {
    compile(arch, release, true)
}

fn compile(arch: Arch, release: &str, versions: bool) -> Vec<u8> {
    static CACHE: OnceLock<ObjectCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(bytes) = cache.lock().unwrap().get(&(arch, release.to_string(), versions)) {
        return bytes.clone();
    }
    let versions_c = if versions {
        let entries: Vec<String> = VERSIONS.iter().map(|(name, crc)| format!("{{ {crc:#x}, \"{name}\" }}")).collect();
        format!(
            "struct modversion_info {{ unsigned long crc; char name[56]; }};\n\
             __attribute__((section(\"__versions\"), used)) static const struct modversion_info v[] = {{ {} }};\n",
            entries.join(", ")
        )
    } else {
        String::new()
    };
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("hello.c");
    fs::write(
        &source,
        format!(
            "__attribute__((section(\".modinfo\"), used, aligned(1))) static const char vm[] =\n\
             \t\"vermagic={release} SMP preempt mod_unload modversions \";\n\
             __attribute__((section(\".modinfo\"), used, aligned(1))) static const char nm[] = \"name=hello\";\n\
             {versions_c}\
             int hello_init(void) {{ return 0; }}\n"
        ),
    )
    .unwrap();
    let gcc = match arch {
        Arch::Amd64 => "gcc",
        Arch::Arm64 => "aarch64-linux-gnu-gcc",
    };
    let object = dir.path().join("hello.o");
    talos_ext_process::Command::new(gcc)
        .arg("-c")
        .arg("-o")
        .arg(&object)
        .arg(&source)
        .hint("apt-get install gcc gcc-aarch64-linux-gnu")
        .run()
        .unwrap_or_else(|e| panic!("{e}"));
    let bytes = fs::read(&object).unwrap();
    cache.lock().unwrap().insert((arch, release.to_string(), versions), bytes.clone());
    bytes
}

fn key(which: usize) -> &'static SigningKey {
    static KEYS: [OnceLock<SigningKey>; 2] = [OnceLock::new(), OnceLock::new()];
    KEYS[which].get_or_init(|| {
        let subject = Subject { common_name: format!("Test module key {which}"), organization: None };
        SigningKey::generate(2048, &subject).expect("key generates")
    })
}

fn key_a() -> &'static SigningKey {
    key(0)
}

fn key_b() -> &'static SigningKey {
    key(1)
}

fn signed(arch: Arch, release: &str, key: &SigningKey) -> Vec<u8> {
    sign_module(&object(arch, release), key, HashAlgo::Sha512).expect("module signs")
}

fn good() -> Vec<u8> {
    signed(Arch::Amd64, RELEASE, key_a())
}

/// The full expectation: release, key A, amd64.
fn kernel() -> KernelExpectation {
    KernelExpectation {
        release: RELEASE.to_string(),
        signer_key_id: Some(key_a().key_id().to_string()),
        arch: Some(Arch::Amd64),
        ..Default::default()
    }
}

fn strict(kernel: Option<KernelExpectation>) -> Options {
    Options { kernel, ..opts(true) }
}

/// The base extension plus `files`, as a directory.
fn dir_report(files: &[(&'static str, Vec<u8>)], opts: &Options) -> Report {
    let fx = build(&base_steps());
    for (path, bytes) in files {
        let path = fx.path(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    }
    validate_dir(fx.root(), opts).expect("directory tree reads")
}

/// The base extension plus `files`, as a tar stream.
fn tar_report(files: &[(&'static str, Vec<u8>)], opts: &Options) -> Report {
    let mut items = base_tar_items();
    items.extend(files.iter().map(|(path, bytes)| TarItem::File(path, 0o644, bytes.clone())));
    validate_tar(tar_stream(&items).as_slice(), opts).expect("tar tree reads")
}

/// Asserts the findings in both forms, and none in non-strict mode.
#[track_caller]
fn check(files: &[(&'static str, Vec<u8>)], kernel: Option<KernelExpectation>, want: &[(Rule, &str)]) -> Report {
    let opts = strict(kernel);
    let report = dir_report(files, &opts);
    expect(&report, want);
    expect(&tar_report(files, &opts), want);
    expect(&dir_report(files, &Options { strict: false, ..opts }), &[]);
    report
}

#[track_caller]
fn message(report: &Report, rule: Rule) -> &str {
    &report.of(rule).next().unwrap_or_else(|| panic!("no {rule} finding in:\n{report}")).message
}

#[test]
fn good_module_passes() {
    let files = [(GOOD, good())];
    check(&files, Some(kernel()), &[]);
    check(&files, None, &[]);
    // The key id compares in any spelling.
    let relaxed = KernelExpectation { signer_key_id: Some(key_a().key_id().to_hex()), ..kernel() };
    check(&files, Some(relaxed), &[]);
}

#[test]
fn good_arm64_module_passes() {
    let files = [(GOOD, signed(Arch::Arm64, RELEASE, key_a()))];
    check(&files, Some(KernelExpectation { arch: Some(Arch::Arm64), ..kernel() }), &[]);
}

#[test]
fn unsigned_module() {
    let files = [(GOOD, object(Arch::Amd64, RELEASE))];
    let report = check(&files, Some(kernel()), &[(Rule::ModuleUnsigned, GOOD_SHOWN)]);
    assert!(message(&report, Rule::ModuleUnsigned).contains("not signed"), "{report}");
    check(&files, None, &[(Rule::ModuleUnsigned, GOOD_SHOWN)]);
}

#[test]
fn truncated_signature() {
    // sig_len claims one byte more than there is between the ELF header and the trailer.
    let mut module = good();
    let at = module.len() - MAGIC.len() - TRAILER_LEN + 8;
    let available = module.len() - MAGIC.len() - TRAILER_LEN - 64;
    module[at..at + 4].copy_from_slice(&u32::try_from(available + 1).unwrap().to_be_bytes());
    let files = [(GOOD, module)];
    let report = check(&files, Some(kernel()), &[(Rule::ModuleSignature, GOOD_SHOWN)]);
    assert!(message(&report, Rule::ModuleSignature).contains("truncated signature"), "{report}");
    check(&files, None, &[(Rule::ModuleSignature, GOOD_SHOWN)]);
}

#[test]
fn malformed_signatures() {
    let module = good();
    let trailer = module.len() - MAGIC.len() - TRAILER_LEN;
    let sig_len = u32::from_be_bytes(module[trailer + 8..trailer + 12].try_into().unwrap()) as usize;

    let mut garbage_cms = module.clone();
    garbage_cms[trailer - sig_len..trailer].fill(0x5a);
    let mut bad_id_type = module.clone();
    bad_id_type[trailer + 2] = 1;
    for broken in [garbage_cms, bad_id_type] {
        let report = check(&[(GOOD, broken)], Some(kernel()), &[(Rule::ModuleSignature, GOOD_SHOWN)]);
        assert!(message(&report, Rule::ModuleSignature).contains("malformed signature"), "{report}");
    }
}

#[test]
fn module_for_another_release() {
    let files = [(GOOD, signed(Arch::Amd64, OTHER, key_a()))];
    let report = check(&files, Some(kernel()), &[(Rule::ModuleVermagic, GOOD_SHOWN)]);
    assert!(message(&report, Rule::ModuleVermagic).contains(OTHER), "{report}");
    // Without an expectation the directory it sits in is the reference.
    check(&files, None, &[(Rule::ModuleVermagic, GOOD_SHOWN)]);
}

#[test]
fn module_in_the_wrong_directory() {
    const ELSEWHERE: &str = "rootfs/usr/lib/modules/6.18.45-talos/extras/hello.ko";
    const LOOSE: &str = "rootfs/usr/lib/modules/loose.ko";
    let files = [(ELSEWHERE, good()), (LOOSE, good())];
    check(
        &files,
        Some(kernel()),
        &[
            (Rule::ModuleDirectory, "/usr/lib/modules/6.18.45-talos"),
            (Rule::ModuleDirectory, "/usr/lib/modules/6.18.45-talos/extras/hello.ko"),
            (Rule::ModuleDirectory, "/usr/lib/modules/loose.ko"),
        ],
    );
    // Without an expectation: directly under the modules dir, and a vermagic naming another dir.
    check(
        &files,
        None,
        &[
            (Rule::ModuleDirectory, "/usr/lib/modules/loose.ko"),
            (Rule::ModuleVermagic, "/usr/lib/modules/6.18.45-talos/extras/hello.ko"),
        ],
    );
}

#[test]
fn modules_in_two_release_directories() {
    const ELSEWHERE: &str = "rootfs/usr/lib/modules/6.18.45-talos/extras/other.ko";
    let files = [(GOOD, good()), (ELSEWHERE, signed(Arch::Amd64, OTHER, key_a()))];
    let shown = "/usr/lib/modules/6.18.45-talos/extras/other.ko";
    let report = check(&files, None, &[(Rule::ModuleDirectory, GOOD_SHOWN), (Rule::ModuleDirectory, shown)]);
    assert!(message(&report, Rule::ModuleDirectory).contains("other modules are in"), "{report}");
    check(
        &files,
        Some(kernel()),
        &[
            (Rule::ModuleDirectory, "/usr/lib/modules/6.18.45-talos"),
            (Rule::ModuleDirectory, shown),
            (Rule::ModuleVermagic, shown),
        ],
    );
}

#[test]
fn signed_with_another_key() {
    let files = [(GOOD, signed(Arch::Amd64, RELEASE, key_b()))];
    let report = check(&files, Some(kernel()), &[(Rule::ModuleSigner, GOOD_SHOWN)]);
    let text = message(&report, Rule::ModuleSigner);
    assert!(text.contains(&key_b().key_id().to_string()) && text.contains(&key_a().key_id().to_string()), "{report}");
    // Unknown signer: nothing to compare.
    check(&files, Some(KernelExpectation { signer_key_id: None, ..kernel() }), &[]);
    check(&files, None, &[]);
}

#[test]
fn compressed_modules() {
    const XZ: &str = "rootfs/usr/lib/modules/6.12.117+deb12-amd64/extras/a.ko.xz";
    const ZST: &str = "rootfs/usr/lib/modules/6.12.117+deb12-amd64/extras/b.ko.zst";
    let files = [(XZ, b"\xfd7zXZ\0".to_vec()), (ZST, b"\x28\xb5\x2f\xfd".to_vec())];
    let want = [
        (Rule::ModuleCompressed, "/usr/lib/modules/6.12.117+deb12-amd64/extras/a.ko.xz"),
        (Rule::ModuleCompressed, "/usr/lib/modules/6.12.117+deb12-amd64/extras/b.ko.zst"),
    ];
    check(&files, Some(kernel()), &want);
    check(&files, None, &want);
}

#[test]
fn module_for_another_arch() {
    let files = [(GOOD, signed(Arch::Arm64, RELEASE, key_a()))];
    let report = check(&files, Some(kernel()), &[(Rule::ModuleArch, GOOD_SHOWN)]);
    assert!(message(&report, Rule::ModuleArch).contains("aarch64"), "{report}");
    check(&files, Some(KernelExpectation { arch: None, ..kernel() }), &[]);
}

#[test]
fn trees_without_module_contents() {
    let fx = build(&base_steps());
    let path = fx.path(GOOD);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, good()).unwrap();
    let opts = strict(Some(kernel()));

    let bare = Tree::from_dir(fx.root()).unwrap();
    let report = validate(&bare, &opts);
    expect(&report, &[(Rule::ModuleSignature, GOOD_SHOWN)]);
    assert!(message(&report, Rule::ModuleSignature).contains("were not read"), "{report}");

    let loaded = Tree::from_dir_with(fx.root(), &is_module_path).unwrap();
    assert!(loaded.contents(GOOD).is_some());
    expect(&validate(&loaded, &opts), &[]);
    // validate_tar keeps module contents only when the module checks run.
    let mut items = base_tar_items();
    items.push(TarItem::File(GOOD, 0o644, good()));
    let tree = Tree::from_tar(tar_stream(&items).as_slice()).unwrap();
    assert!(tree.contents(GOOD).is_none());
}

#[test]
fn certificate_key_ids() {
    let key = key_a();
    let want = key.key_id().to_string();
    assert_eq!(certificate_key_id(key.certificate_der()).unwrap(), want);
    let pem = key.certificate_pem().unwrap();
    assert_eq!(certificate_key_id(pem.as_bytes()).unwrap(), want);
    // A kbuild-style combined file: private key first, then the certificate.
    let combined = format!("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n{pem}");
    assert_eq!(certificate_key_id(combined.as_bytes()).unwrap(), want);
}

/// A Module.symvers holding the test modules' symbols, `printk`'s CRC changed by `planted`.
fn symvers(planted: u32) -> std::sync::Arc<Symvers> {
    let text: String = VERSIONS
        .iter()
        .map(|(name, crc)| {
            let crc = if *name == "printk" { crc ^ planted } else { *crc };
            format!("{crc:#010x}\t{name}\tvmlinux\tEXPORT_SYMBOL\t\n")
        })
        .collect();
    std::sync::Arc::new(Symvers::parse(&text, std::path::Path::new("Module.symvers")).unwrap())
}

#[test]
fn modversions_crcs_equal_to_the_kernels_pass() {
    let files = [(GOOD, good())];
    let kernel = KernelExpectation {
        vermagic_flags: Some("SMP preempt mod_unload modversions ".into()),
        symvers: Some(symvers(0)),
        ..kernel()
    };
    check(&files, Some(kernel), &[]);
}

#[test]
fn a_crc_that_differs_from_the_kernels_names_module_and_symbol() {
    let files = [(GOOD, good())];
    let kernel = KernelExpectation { symvers: Some(symvers(1)), ..kernel() };
    let report = check(&files, Some(kernel), &[(Rule::ModuleCrc, GOOD_SHOWN)]);
    let text = message(&report, Rule::ModuleCrc);
    assert!(text.contains("\"printk\" with CRC 0x12345678") && text.contains("kernel's is 0x12345679"), "{text}");
    assert!(text.contains("hello.ko") && text.contains("disagrees about version of symbol printk"), "{text}");
}

#[test]
fn a_modversions_module_without_versions_is_refused() {
    let files = [(GOOD, sign_module(&compile(Arch::Amd64, RELEASE, false), key_a(), HashAlgo::Sha512).unwrap())];
    // Known from the module's own vermagic, and from the kernel's flags.
    let report = check(&files, Some(kernel()), &[(Rule::ModuleVersions, GOOD_SHOWN)]);
    assert!(message(&report, Rule::ModuleVersions).contains("no __versions section"), "{report}");
    check(&files, None, &[(Rule::ModuleVersions, GOOD_SHOWN)]);
}

#[test]
fn vermagic_flags_other_than_the_kernels_are_refused() {
    let files = [(GOOD, good())];
    let arm64_flags =
        KernelExpectation { vermagic_flags: Some("SMP mod_unload modversions aarch64".into()), ..kernel() };
    let report = check(&files, Some(arm64_flags), &[(Rule::ModuleVermagic, GOOD_SHOWN)]);
    let text = message(&report, Rule::ModuleVermagic);
    assert!(
        text.contains(
            "flags \"SMP preempt mod_unload modversions \" where the kernel has \"SMP mod_unload modversions aarch64\""
        ),
        "{text}"
    );
}
