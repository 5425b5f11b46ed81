//! Signatures through the registry: sign + verify round trip, a tampered or foreign signature and
//! a wrong key fail, `find --verify` checks the index and the extension, and the real `cosign
//! verify` accepts our signature of a pushed extension.

use talos_ext_process::Command;
use talos_ext_publish::{PublishError, find, publish_extension, publish_index, sign_reference, verify_reference};
use talos_ext_registry::testing::TestRegistry;
use talos_ext_registry::{Digest, NoReporter, Reference};
use talos_ext_sign::{SigningKey, VerifyError, sign_image};

use crate::support::{NAME, TALOS, client, index_meta, layout, prefix};

#[test]
fn sign_verify_round_trip_tamper_and_wrong_key() {
    let registry = TestRegistry::start().unwrap();
    let client = client(&registry);
    let prefix = prefix(&registry.host());
    let published = publish_extension(&client, layout(), &prefix, false, &NoReporter).unwrap();
    let key = SigningKey::generate();

    // Unsigned: a clear error.
    let err = verify_reference(&client, &key.public_key(), &published.summary.reference).unwrap_err();
    assert!(matches!(err, PublishError::Unsigned { .. }), "{err:?}");

    // Signing by tag resolves the digest.
    let tagged = Reference { digest: None, ..published.summary.reference.clone() };
    let (signed, sig) = sign_reference(&client, &key, &tagged, &NoReporter).unwrap();
    assert_eq!(signed, published.summary.reference);
    assert_eq!(sig.tag.as_deref(), Some(format!("sha256-{}.sig", published.summary.index_digest.hex()).as_str()));
    let ok = verify_reference(&client, &key.public_key(), &tagged).unwrap();
    assert_eq!(ok.image_digest, published.summary.index_digest);
    assert_eq!(ok.docker_reference, format!("{}/talos/{NAME}", registry.host()));

    // Wrong key.
    let other = SigningKey::generate();
    let err = verify_reference(&client, &other.public_key(), &tagged).unwrap_err();
    assert!(matches!(err, PublishError::Signature { cause: VerifyError::SignatureMismatch { .. }, .. }), "{err:?}");

    // Tampered: a valid signature of another digest stored under this image's signature tag.
    let repo = &published.summary.reference.repository;
    let foreign = sign_image(&key, repo, &Digest::parse(&format!("sha256:{}", "0".repeat(64))).unwrap());
    let sig_tag = Reference::tagged(tagged.repository.clone(), &sig.tag.clone().unwrap()).unwrap();
    client
        .push_image_parts(
            &sig_tag,
            foreign.manifest.media_type,
            &foreign.manifest.bytes,
            &[&foreign.config.bytes, &foreign.payload.bytes],
            &NoReporter,
        )
        .unwrap();
    let err = verify_reference(&client, &key.public_key(), &tagged).unwrap_err();
    assert!(matches!(err, PublishError::Signature { cause: VerifyError::ImageDigestMismatch { .. }, .. }), "{err:?}");
}

#[test]
fn find_verify_checks_index_and_extension_signatures() {
    let registry = TestRegistry::start().unwrap();
    let client = client(&registry);
    let prefix = prefix(&registry.host());
    let key = SigningKey::generate();
    let published = publish_extension(&client, layout(), &prefix, false, &NoReporter).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let index = publish_index(
        &client,
        &prefix,
        std::slice::from_ref(&published.entry),
        &index_meta(TALOS),
        &tmp.path().join("i"),
        &NoReporter,
    )
    .unwrap();
    let names = [NAME.to_string()];

    sign_reference(&client, &key, &index.reference, &NoReporter).unwrap();
    // The index is signed, the extension not yet.
    let err = find(&client, &prefix, TALOS, &names, Some(&key.public_key())).unwrap_err();
    assert!(matches!(err, PublishError::Unsigned { ref reference, .. } if reference.contains(NAME)), "{err:?}");
    sign_reference(&client, &key, &published.summary.reference, &NoReporter).unwrap();
    let found = find(&client, &prefix, TALOS, &names, Some(&key.public_key())).unwrap();
    assert_eq!(found[0].reference, published.summary.reference);
    let err = find(&client, &prefix, TALOS, &names, Some(&SigningKey::generate().public_key())).unwrap_err();
    assert!(matches!(err, PublishError::Signature { .. }), "{err:?}");
}

#[test]
fn real_cosign_verifies_our_signature() {
    let cosign = talos_ext_sign::testing::fetch_cosign();
    let registry = TestRegistry::start().unwrap();
    let client = client(&registry);
    let prefix = prefix(&registry.host());
    let published = publish_extension(&client, layout(), &prefix, false, &NoReporter).unwrap();
    let key = SigningKey::generate();
    sign_reference(&client, &key, &published.summary.reference, &NoReporter).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let public = tmp.path().join("cosign.pub");
    std::fs::write(&public, key.public_key().to_pem().unwrap()).unwrap();
    let pinned = Reference { tag: None, ..published.summary.reference.clone() }.to_string();
    let run = |key_path: &std::path::Path| {
        Command::new(&cosign)
            .args(["verify", "--key"])
            .arg(key_path)
            .args(["--insecure-ignore-tlog=true", "--allow-http-registry", "--allow-insecure-registry", &pinned])
            .env("HOME", tmp.path())
            .output_unchecked()
            .unwrap()
    };
    let out = run(&public);
    assert!(
        out.status.success(),
        "cosign verify: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let claims = String::from_utf8_lossy(&out.stdout);
    assert!(claims.contains(&published.summary.index_digest.to_string()), "{claims}");

    let wrong = tmp.path().join("wrong.pub");
    std::fs::write(&wrong, SigningKey::generate().public_key().to_pem().unwrap()).unwrap();
    assert!(!run(&wrong).status.success(), "cosign must reject another key");
}
