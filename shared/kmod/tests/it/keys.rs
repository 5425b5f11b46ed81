//! Keys: loading every file shape kbuild and openssl write, the generated certificate as openssl
//! sees it, the private key file's mode, and the redacting `Debug`.

use std::os::unix::fs::PermissionsExt;

use talos_ext_kmod::{KeyError, SigningKey, Subject};
use talos_ext_process::Command;

use crate::support::{self, KeySource, data, run, scratch};

fn openssl_text(args: &[&str], cert: &std::path::Path) -> String {
    let out = run(Command::new("openssl").arg("x509").arg("-in").arg(cert).arg("-noout").args(args));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn loads_pkcs8_pkcs1_pem_der_and_combined_files() {
    let keys = support::key(KeySource::Openssl, 2048);
    let dir = scratch("load-formats");
    let pkcs1 = dir.join("key-pkcs1.pem");
    let der = dir.join("cert.der");
    run(Command::new("openssl").args(["rsa", "-traditional", "-in"]).arg(&keys.key).arg("-out").arg(&pkcs1));
    run(Command::new("openssl").args(["x509", "-outform", "DER", "-in"]).arg(&keys.cert).arg("-out").arg(&der));
    assert!(std::fs::read_to_string(&pkcs1).unwrap().contains("BEGIN RSA PRIVATE KEY"));

    let reference = &keys.signing_key;
    for (key, cert) in [(&keys.key, &der), (&pkcs1, &keys.cert), (&pkcs1, &der)] {
        let loaded = SigningKey::load(key, cert).unwrap();
        assert_eq!(loaded.certificate_der(), reference.certificate_der());
        assert_eq!(loaded.key_id(), reference.key_id());
    }

    // kbuild's own signing_key.pem holds key and certificate in one file.
    let combined = data("signing_key.pem");
    let key = SigningKey::load(&combined, &combined).unwrap();
    assert_eq!(key.bits(), 2048);
    assert_eq!(key.signer().as_deref(), Some(support::CN));
}

#[test]
fn load_errors_name_the_problem() {
    let a = support::key(KeySource::Openssl, 2048);
    let combined = data("signing_key.pem");
    assert!(matches!(SigningKey::load(&a.key, &combined), Err(KeyError::KeyMismatch)));

    let missing = scratch("load-errors").join("missing.pem");
    let err = SigningKey::load(&missing, &a.cert).unwrap_err();
    assert!(matches!(&err, KeyError::Io { action: "read", path, .. } if *path == missing));
    assert!(err.to_string().starts_with("failed to read "), "{err}");

    // A certificate file passed as the key.
    let err = SigningKey::load(&a.cert, &a.cert).unwrap_err();
    assert!(matches!(&err, KeyError::InFile { cause, .. } if matches!(**cause, KeyError::NoPrivateKey)), "{err}");
    // A key passed as the certificate.
    let err = SigningKey::load(&a.key, &a.key).unwrap_err();
    assert!(matches!(&err, KeyError::InFile { cause, .. } if matches!(**cause, KeyError::InvalidCertificate { .. })));
}

#[test]
fn generated_certificate_looks_like_kbuilds() {
    for bits in [2048, 4096] {
        let keys = support::key(KeySource::Ours, bits);
        let key = &keys.signing_key;
        assert_eq!(key.bits(), bits);
        let text = openssl_text(&["-text"], &keys.cert);
        for needle in [
            "Version: 3 (0x2)",
            "Signature Algorithm: sha512WithRSAEncryption",
            &format!("Public-Key: ({bits} bit)"),
            "X509v3 Basic Constraints: critical",
            "CA:FALSE",
            "Digital Signature",
            "X509v3 Subject Key Identifier",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        let subject = openssl_text(&["-subject", "-issuer", "-nameopt", "RFC2253"], &keys.cert);
        assert_eq!(
            subject,
            "subject=CN=Build time throw-away kernel key,O=Sidero Labs\\, Inc.\n\
             issuer=CN=Build time throw-away kernel key,O=Sidero Labs\\, Inc.\n"
        );

        let serial = openssl_text(&["-serial"], &keys.cert);
        assert_eq!(serial.trim(), format!("serial={}", key.key_id().to_hex().to_uppercase()));
        assert_eq!(key.key_id().as_bytes().len(), 20);

        let skid = openssl_text(&["-ext", "subjectKeyIdentifier"], &keys.cert);
        assert!(skid.contains(&key.subject_key_identifier().unwrap().to_string()), "{skid}");

        let fingerprint = openssl_text(&["-fingerprint", "-sha256"], &keys.cert);
        assert_eq!(
            fingerprint.trim().replace(':', "").to_lowercase(),
            format!("sha256 fingerprint={}", key.cert_fingerprint())
        );

        let end = openssl_text(&["-enddate"], &keys.cert);
        let year: u32 = end.trim().rsplit(' ').nth(1).unwrap().parse().unwrap();
        assert!(year >= 2120, "{end}");

        // The self-signature verifies, as the kernel checks when loading the certificate.
        run(Command::new("openssl")
            .args(["verify", "-check_ss_sig", "-partial_chain", "-CAfile"])
            .arg(&keys.cert)
            .arg(&keys.cert));
    }
}

#[test]
fn private_key_file_is_mode_0600_even_over_an_existing_file() {
    let source = support::key(KeySource::Ours, 2048);
    let dir = scratch("mode");
    let (key_path, cert_path) = (dir.join("signing_key.pem"), dir.join("signing_key.x509"));
    std::fs::write(&key_path, "old").unwrap();
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    source.signing_key.write_pem(&key_path, &cert_path).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&key_path), 0o600);
    assert_eq!(mode(&cert_path), 0o644);
    assert_eq!(mode(&source.key), 0o600);
    let reloaded = SigningKey::load(&key_path, &cert_path).unwrap();
    assert_eq!(reloaded.cert_fingerprint(), source.signing_key.cert_fingerprint());
}

#[test]
fn debug_does_not_print_the_private_key() {
    let keys = support::key(KeySource::Openssl, 2048);
    let debug = format!("{:?} {:#?}", keys.signing_key, keys.signing_key);
    assert!(debug.contains("<redacted>"), "{debug}");
    let pem = std::fs::read_to_string(&keys.key).unwrap();
    for line in pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!debug.contains(line), "debug output contains key material: {debug}");
    }
    assert!(debug.len() < 1000, "debug output is suspiciously long: {debug}");
}

#[test]
fn generate_refuses_weak_sizes() {
    let subject = Subject { common_name: "x".to_owned(), organization: None };
    let err = SigningKey::generate(1024, &subject).unwrap_err();
    assert_eq!(err.to_string(), "unsupported rsa key size 1024 (supported: 2048, 3072, 4096)");
}
