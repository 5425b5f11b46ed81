//! Interoperability with the real `cosign` 2.5 (Debian trixie, fetched on first use into
//! `<workspace>/target/talos-ext-test/cosign/`): its keys load here, it verifies our payload
//! signatures (`verify-blob`), and it signs with keys we wrote.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use talos_ext_process::Command;
use talos_ext_sign::testing::fetch_cosign;
use talos_ext_sign::{COSIGN_PASSWORD_ENV, PublicKey, SigningKey, sign_image};

use crate::support::{digest, repo, run, scratch};

/// cosign with the runner's clean environment, a `HOME` of its own (no user configuration), and
/// no network: no TUF roots or transparency log are looked up.
fn cosign() -> Command {
    let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join("talos-ext-sign/cosign-home");
    std::fs::create_dir_all(&home).expect("create cosign's HOME");
    Command::new(fetch_cosign())
        .env("HOME", &home)
        .env("SIGSTORE_NO_CACHE", "1")
        .env("TUF_ROOT", std::env::temp_dir().join("talos-ext-sign-tuf"))
}

#[test]
fn cosign_generated_key_pair_loads() {
    let dir = scratch("cosign-generate");
    run(cosign().arg("generate-key-pair").dir(&dir).env(COSIGN_PASSWORD_ENV, "pw from cosign"));
    let key = SigningKey::load_with_password(&dir.join("cosign.key"), Some(b"pw from cosign")).unwrap();
    assert_eq!(key.public_key(), PublicKey::load(&dir.join("cosign.pub")).unwrap());
    // Also with an empty password, which cosign allows.
    let dir = scratch("cosign-generate-empty");
    run(cosign().arg("generate-key-pair").dir(&dir).env(COSIGN_PASSWORD_ENV, ""));
    let key = SigningKey::load_with_password(&dir.join("cosign.key"), Some(b"")).unwrap();
    assert_eq!(key.public_key(), PublicKey::load(&dir.join("cosign.pub")).unwrap());
}

#[test]
fn cosign_verify_blob_accepts_our_signature() {
    let dir = scratch("cosign-verify-blob");
    let key = SigningKey::generate();
    key.write_pair(&dir.join("ours.key"), &dir.join("ours.pub"), None).unwrap();
    let image = sign_image(&key, &repo(), &digest(0x42));
    std::fs::write(dir.join("payload.json"), &image.payload.bytes).unwrap();
    std::fs::write(dir.join("sig.b64"), &image.signature).unwrap();
    let out = run(cosign()
        .args(["verify-blob", "--key", "ours.pub", "--signature", "sig.b64", "--insecure-ignore-tlog=true"])
        .arg("payload.json")
        .dir(&dir));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Verified OK"), "{}", String::from_utf8_lossy(&out.stderr));

    // And it rejects a payload we did not sign.
    std::fs::write(dir.join("other.json"), b"{}").unwrap();
    let out = cosign()
        .args(["verify-blob", "--key", "ours.pub", "--signature", "sig.b64", "--insecure-ignore-tlog=true"])
        .arg("other.json")
        .dir(&dir)
        .output_unchecked()
        .unwrap();
    assert!(!out.status.success(), "cosign accepted a signature over other bytes");
}

#[test]
fn cosign_signs_with_our_encrypted_key() {
    let dir = scratch("cosign-sign-blob");
    let key = SigningKey::generate();
    key.write_pair(&dir.join("ours.key"), &dir.join("ours.pub"), Some(b"our pw")).unwrap();
    std::fs::write(dir.join("blob"), b"signed by cosign with a key written by talos-ext-sign").unwrap();
    run(cosign()
        .args(["sign-blob", "--key", "ours.key", "--tlog-upload=false", "--yes", "--output-signature", "sig.b64"])
        .arg("blob")
        .dir(&dir)
        .env(COSIGN_PASSWORD_ENV, "our pw"));
    let sig = STANDARD.decode(std::fs::read_to_string(dir.join("sig.b64")).unwrap().trim()).unwrap();
    key.public_key().verify(b"signed by cosign with a key written by talos-ext-sign", &sig).unwrap();
}
