//! Key loading and writing: our own pairs (plain and encrypted), openssl's PEM kinds, the committed
//! key written by `cosign generate-key-pair`, and keys that must be refused.

use talos_ext_process::Command;
use talos_ext_sign::{COSIGN_PASSWORD_ENV, KeyError, PublicKey, SigningKey};

use crate::support::{cosign_signed, run, scratch};

/// The password of the committed `tests/data/cosign-signed/cosign.key`.
const FIXTURE_PASSWORD: &[u8] = b"hunter2";

#[test]
fn write_pair_plain_and_encrypted() {
    let dir = scratch("write-pair");
    let key = SigningKey::generate();
    let (private, public) = (dir.join("plain.key"), dir.join("plain.pub"));
    key.write_pair(&private, &public, None).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&private).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(&private).unwrap();
    assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{text}");
    assert_eq!(SigningKey::load_with_password(&private, None).unwrap().public_key(), key.public_key());
    assert_eq!(PublicKey::load(&public).unwrap(), key.public_key());
    let err = key.write_pair(&private, &dir.join("other.pub"), None).unwrap_err();
    assert!(matches!(err, KeyError::Exists { .. }), "{err}");

    let (private, public) = (dir.join("enc.key"), dir.join("enc.pub"));
    key.write_pair(&private, &public, Some(b"s3cret")).unwrap();
    let text = std::fs::read_to_string(&private).unwrap();
    assert!(text.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"), "{text}");
    assert_eq!(SigningKey::load_with_password(&private, Some(b"s3cret")).unwrap().public_key(), key.public_key());
    let err = SigningKey::load_with_password(&private, Some(b"nope")).unwrap_err();
    assert!(matches!(err, KeyError::WrongPassword), "{err}");
}

#[test]
fn cosign_generated_key_from_fixture() {
    let pem = String::from_utf8(cosign_signed("cosign.key")).unwrap();
    let public = PublicKey::from_pem(std::str::from_utf8(&cosign_signed("cosign.pub")).unwrap()).unwrap();
    let key = SigningKey::from_pem(&pem, Some(FIXTURE_PASSWORD)).unwrap();
    assert_eq!(key.public_key(), public);
    let err = SigningKey::from_pem(&pem, None).unwrap_err();
    assert!(matches!(err, KeyError::PasswordRequired { .. }), "{err}");
    assert!(err.to_string().contains("COSIGN_PASSWORD"), "{err}");
    let err = SigningKey::from_pem(&pem, Some(b"wrong")).unwrap_err();
    assert!(matches!(err, KeyError::WrongPassword), "{err}");
    // cosign 1.x wrote the same format under another label.
    let old = pem.replace("ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY");
    assert_eq!(SigningKey::from_pem(&old, Some(FIXTURE_PASSWORD)).unwrap().public_key(), public);
}

/// `SigningKey::load` takes the password from `$COSIGN_PASSWORD`. Setting the variable in this
/// process would need `unsafe`, so the test re-runs itself as a child with the variable set.
#[test]
fn load_reads_cosign_password_env() {
    const CHILD: &str = "TALOS_EXT_SIGN_TEST_CHILD";
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cosign-signed/cosign.key");
    if std::env::var_os(CHILD).is_some() {
        let key = SigningKey::load(&fixture).unwrap();
        let public = PublicKey::from_pem(std::str::from_utf8(&cosign_signed("cosign.pub")).unwrap()).unwrap();
        assert_eq!(key.public_key(), public);
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let filter = "keys::load_reads_cosign_password_env";
    let out = run(Command::new(&exe)
        .args([filter, "--exact", "--nocapture"])
        .env(CHILD, "1")
        .env(COSIGN_PASSWORD_ENV, std::str::from_utf8(FIXTURE_PASSWORD).unwrap()));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"), "{}", String::from_utf8_lossy(&out.stdout));
    let out = Command::new(&exe)
        .args([filter, "--exact"])
        .env(CHILD, "1")
        .env(COSIGN_PASSWORD_ENV, "wrong")
        .output_unchecked()
        .unwrap();
    assert!(!out.status.success(), "a wrong $COSIGN_PASSWORD must fail");
}

#[test]
fn openssl_pem_kinds() {
    let dir = scratch("openssl");
    let openssl = |args: &[&str]| run(Command::new("openssl").args(args).dir(&dir));
    // SEC1 `EC PRIVATE KEY`, preceded by an `EC PARAMETERS` block.
    openssl(&["ecparam", "-name", "prime256v1", "-genkey", "-out", "sec1.pem"]);
    // PKCS#8 `PRIVATE KEY`.
    openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "pkcs8.pem"]);
    for (name, label) in [("sec1.pem", "EC PRIVATE KEY"), ("pkcs8.pem", "PRIVATE KEY")] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(text.contains(&format!("-----BEGIN {label}-----")), "{text}");
        openssl(&["pkey", "-in", name, "-pubout", "-out", &format!("{name}.pub")]);
        let key = SigningKey::load_with_password(&dir.join(name), None).unwrap();
        let public = PublicKey::load(&dir.join(format!("{name}.pub"))).unwrap();
        assert_eq!(key.public_key(), public, "{name}");
        // openssl verifies our DER signature with its own public key.
        std::fs::write(dir.join("msg"), b"payload").unwrap();
        std::fs::write(dir.join("msg.sig"), key.sign(b"payload")).unwrap();
        openssl(&["dgst", "-sha256", "-verify", &format!("{name}.pub"), "-signature", "msg.sig", "msg"]);
    }
}

#[test]
fn refuses_other_algorithms() {
    let dir = scratch("other-algorithms");
    let openssl = |args: &[&str]| run(Command::new("openssl").args(args).dir(&dir));
    openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", "p384.pem"]);
    openssl(&["genpkey", "-algorithm", "ED25519", "-out", "ed25519.pem"]);
    openssl(&["pkey", "-in", "p384.pem", "-pubout", "-out", "p384.pub"]);
    for name in ["p384.pem", "ed25519.pem"] {
        let err = SigningKey::load_with_password(&dir.join(name), None).unwrap_err();
        assert!(matches!(err, KeyError::UnsupportedKey { .. }), "{name}: {err}");
        assert!(err.to_string().contains("not an ecdsa p-256 key"), "{err}");
    }
    let err = PublicKey::load(&dir.join("p384.pub")).unwrap_err();
    assert!(matches!(err, KeyError::UnsupportedKey { .. }), "{err}");
    let err = SigningKey::load_with_password(&dir.join("missing.pem"), None).unwrap_err();
    assert!(matches!(err, KeyError::Io { .. }), "{err}");
}
