//! Signing: byte equality with `sign-file` (committed vectors, and live for RSA-2048/4096 with
//! sha512/sha256, openssl-made and self-generated keys, x86_64 and aarch64 modules), what
//! `modinfo` and `openssl cms -verify` make of our output, and the re-signing rules.

use std::os::unix::fs::PermissionsExt;
use std::time::Instant;

use talos_ext_kmod::{
    HashAlgo, IfSigned, MAGIC, ModuleSignature, SignError, SigningKey, detached_signature, resign_module,
    sign_file_in_place, sign_module, strip_signature,
};
use talos_ext_process::Command;

use crate::support::{self, KeySource, Target, data, run, scratch};

#[test]
fn committed_vector_matches_sign_file() {
    let pem = data("signing_key.pem");
    let key = SigningKey::load(&pem, &pem).unwrap();
    let module = std::fs::read(data("hello.ko")).unwrap();
    let expected = std::fs::read(data("hello.ko.sha512.p7s")).unwrap();
    assert_eq!(detached_signature(&module, &key, HashAlgo::Sha512).unwrap(), expected);

    let signed = sign_module(&module, &key, HashAlgo::Sha512).unwrap();
    let mut want = module.clone();
    want.extend_from_slice(&expected);
    want.extend_from_slice(&[0, 0, 2, 0, 0, 0, 0, 0]);
    want.extend_from_slice(&u32::try_from(expected.len()).unwrap().to_be_bytes());
    want.extend_from_slice(MAGIC);
    assert_eq!(signed, want);
}

#[track_caller]
fn check_against_sign_file(source: KeySource, bits: usize, hash: HashAlgo, target: Target) {
    let keys = support::key(source, bits);
    let module = support::module(target);
    let name = format!("{source:?}-{bits}-{hash}-{target:?}.ko");
    let expected = support::sign_with_sign_file(hash.name(), keys, module, &name);
    let start = Instant::now();
    let ours = sign_module(module, &keys.signing_key, hash).unwrap();
    eprintln!("{name}: signed {} bytes in {:?}", module.len(), start.elapsed());
    assert!(ours == expected, "{name}: our signature differs from sign-file's");
}

#[test]
fn matches_sign_file_openssl_rsa2048() {
    for hash in [HashAlgo::Sha512, HashAlgo::Sha256] {
        check_against_sign_file(KeySource::Openssl, 2048, hash, Target::X86_64);
    }
    check_against_sign_file(KeySource::Openssl, 2048, HashAlgo::Sha512, Target::Aarch64);
}

#[test]
fn matches_sign_file_openssl_rsa4096() {
    for hash in [HashAlgo::Sha512, HashAlgo::Sha256] {
        check_against_sign_file(KeySource::Openssl, 4096, hash, Target::X86_64);
    }
    check_against_sign_file(KeySource::Openssl, 4096, HashAlgo::Sha512, Target::Aarch64);
}

#[test]
fn matches_sign_file_generated_keys() {
    check_against_sign_file(KeySource::Ours, 2048, HashAlgo::Sha512, Target::X86_64);
    check_against_sign_file(KeySource::Ours, 4096, HashAlgo::Sha512, Target::X86_64);
    check_against_sign_file(KeySource::Ours, 4096, HashAlgo::Sha256, Target::Aarch64);
}

/// `modinfo`'s view of a module we signed, as `field -> value`.
fn modinfo_fields(signed: &[u8], name: &str) -> Vec<(String, String)> {
    let path = scratch("modinfo").join(name);
    std::fs::write(&path, signed).unwrap();
    let out = run(Command::new("modinfo").arg(&path));
    let text = String::from_utf8(out.stdout).unwrap();
    // Continuation lines (the wrapped `signature:` hex) start with a tab; skip them.
    text.lines()
        .filter(|l| !l.starts_with('\t'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

#[test]
fn modinfo_shows_what_key_id_predicts() {
    for (source, bits) in [(KeySource::Openssl, 2048), (KeySource::Ours, 2048), (KeySource::Ours, 4096)] {
        let keys = support::key(source, bits);
        let signed = sign_module(support::module(Target::X86_64), &keys.signing_key, HashAlgo::Sha512).unwrap();
        let fields = modinfo_fields(&signed, &format!("{source:?}-{bits}.ko"));
        let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
        assert_eq!(get("sig_id"), Some("PKCS#7"));
        assert_eq!(get("signer"), Some(support::CN));
        assert_eq!(get("sig_hashalgo"), Some("sha512"));
        let key_id = keys.signing_key.key_id().to_string();
        assert_eq!(get("sig_key"), Some(key_id.as_str()));
        assert_eq!(keys.signing_key.signer().as_deref(), Some(support::CN));
        assert_eq!(get("name"), Some("kmodtest"));
    }
}

#[test]
fn openssl_cms_verifies_our_signature() {
    for (source, bits) in [(KeySource::Openssl, 4096), (KeySource::Ours, 2048)] {
        let keys = support::key(source, bits);
        let signed = sign_module(support::module(Target::Aarch64), &keys.signing_key, HashAlgo::Sha512).unwrap();
        let sig = ModuleSignature::locate(&signed).unwrap().unwrap();
        let dir = scratch(&format!("cms-verify/{source:?}-{bits}"));
        std::fs::write(dir.join("sig.p7"), sig.cms).unwrap();
        std::fs::write(dir.join("body"), sig.body).unwrap();
        run(Command::new("openssl")
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-noverify", "-out", "/dev/null"])
            .arg("-in")
            .arg(dir.join("sig.p7"))
            .arg("-content")
            .arg(dir.join("body"))
            .arg("-certfile")
            .arg(&keys.cert));

        // A flipped byte in the body must fail verification.
        let mut body = sig.body.to_vec();
        body[100] ^= 1;
        std::fs::write(dir.join("body"), &body).unwrap();
        let status = Command::new("openssl")
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-noverify", "-out", "/dev/null"])
            .arg("-in")
            .arg(dir.join("sig.p7"))
            .arg("-content")
            .arg(dir.join("body"))
            .arg("-certfile")
            .arg(&keys.cert)
            .output_unchecked()
            .unwrap()
            .status;
        assert!(!status.success(), "openssl accepted a signature over different bytes");
    }
}

#[test]
fn refuses_to_sign_twice_unless_resigning() {
    let keys = support::key(KeySource::Openssl, 2048);
    let module = support::module(Target::X86_64);
    let signed = sign_module(module, &keys.signing_key, HashAlgo::Sha512).unwrap();
    assert!(matches!(sign_module(&signed, &keys.signing_key, HashAlgo::Sha512), Err(SignError::AlreadySigned)));

    // Re-signing strips the old signature first: same bytes as signing the original.
    let other = support::key(KeySource::Ours, 2048);
    let resigned = resign_module(&signed, &other.signing_key, HashAlgo::Sha256).unwrap();
    assert_eq!(resigned, sign_module(module, &other.signing_key, HashAlgo::Sha256).unwrap());
    assert_eq!(strip_signature(&resigned).unwrap(), module);
    assert_eq!(resign_module(module, &other.signing_key, HashAlgo::Sha256).unwrap(), resigned);

    assert!(matches!(sign_module(b"not an elf file", &keys.signing_key, HashAlgo::Sha512), Err(SignError::NotElf)));
}

#[test]
fn sign_file_in_place_is_atomic_and_keeps_mode() {
    let keys = support::key(KeySource::Openssl, 2048);
    let module = support::module(Target::X86_64);
    let dir = scratch("in-place");
    let path = dir.join("hello.ko");
    std::fs::write(&path, module).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();

    sign_file_in_place(&path, &keys.signing_key, HashAlgo::Sha512, IfSigned::Refuse).unwrap();
    let signed = std::fs::read(&path).unwrap();
    assert_eq!(signed, sign_module(module, &keys.signing_key, HashAlgo::Sha512).unwrap());
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777, 0o640);

    let err = sign_file_in_place(&path, &keys.signing_key, HashAlgo::Sha512, IfSigned::Refuse).unwrap_err();
    assert!(matches!(&err, SignError::InFile { cause, .. } if matches!(**cause, SignError::AlreadySigned)));
    assert!(err.to_string().contains("hello.ko"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), signed, "a refused signing must leave the file alone");

    sign_file_in_place(&path, &keys.signing_key, HashAlgo::Sha256, IfSigned::Resign).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), sign_module(module, &keys.signing_key, HashAlgo::Sha256).unwrap());
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(leftovers, ["hello.ko"], "temporary files left behind");
}
