//! Signature images: round trip, determinism, cosign's own signature image, and one test per
//! kind of tampering, each expecting its own `VerifyError` variant.

use serde_json::Value;
use talos_ext_model::{Digest, Repository};
use talos_ext_sign::{
    ANNOTATION_SIGNATURE, MEDIA_TYPE_SIMPLE_SIGNING, PublicKey, SignatureImage, SignatureManifest, SigningKey,
    VerifyError, sign_image, verify,
};

use crate::support::{cosign_signed, digest, repo};

fn signed() -> (SigningKey, SignatureImage) {
    let key = SigningKey::generate();
    let image = sign_image(&key, &repo(), &digest(0xab));
    (key, image)
}

/// The manifest with `edit` applied to its JSON.
fn edit_manifest(image: &SignatureImage, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&image.manifest.bytes).unwrap();
    edit(&mut v);
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn round_trip() {
    let (key, image) = signed();
    assert_eq!(image.tag, format!("sha256-{}.sig", "ab".repeat(32)));
    assert_eq!(image.manifest.media_type, "application/vnd.oci.image.manifest.v1+json");
    assert_eq!(image.payload.media_type, MEDIA_TYPE_SIMPLE_SIGNING);
    let payload = String::from_utf8(image.payload.bytes.clone()).unwrap();
    assert_eq!(
        payload,
        format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"ghcr.io/example/hello-world-service"}},"image":{{"docker-manifest-digest":"sha256:{}"}},"type":"cosign container image signature"}},"optional":null}}"#,
            "ab".repeat(32)
        )
    );
    let config: Value = serde_json::from_slice(&image.config.bytes).unwrap();
    assert_eq!(config["rootfs"]["diff_ids"][0], image.payload.digest.as_str());
    assert_eq!(Digest::of(&image.manifest.bytes).to_string(), image.manifest.digest);
    let parsed = SignatureManifest::parse(&image.manifest.bytes).unwrap();
    assert_eq!(parsed.layers.len(), 1);
    assert_eq!(parsed.layers[0].digest, image.payload.digest);
    assert_eq!(parsed.layers[0].signature.as_deref(), Some(image.signature.as_str()));

    let ok =
        verify(&image.manifest.bytes, &image.payload.bytes, &key.public_key(), &digest(0xab), Some(&repo())).unwrap();
    assert_eq!(ok.docker_reference, repo().to_string());
    assert_eq!(ok.image_digest, digest(0xab));
    assert_eq!(ok.layer_digest, image.payload.digest);
    assert_eq!(ok.key_id, key.public_key().key_id());
    // Without a repository to check, any docker-reference is accepted (as `cosign verify` does).
    verify(&image.manifest.bytes, &image.payload.bytes, &key.public_key(), &digest(0xab), None).unwrap();
}

#[test]
fn same_key_same_bytes() {
    let key = SigningKey::generate();
    assert_eq!(sign_image(&key, &repo(), &digest(1)), sign_image(&key, &repo(), &digest(1)));
    assert_ne!(sign_image(&key, &repo(), &digest(1)).manifest, sign_image(&key, &repo(), &digest(2)).manifest);
}

#[test]
fn accepts_cosigns_own_signature_image() {
    let key = PublicKey::from_pem(std::str::from_utf8(&cosign_signed("cosign.pub")).unwrap()).unwrap();
    let digest = Digest::parse(String::from_utf8(cosign_signed("image-digest")).unwrap().trim()).unwrap();
    let repo = Repository::parse("127.0.0.1:5123/t/hello").unwrap();
    let ok =
        verify(&cosign_signed("manifest.json"), &cosign_signed("payload.json"), &key, &digest, Some(&repo)).unwrap();
    assert_eq!(ok.docker_reference, "127.0.0.1:5123/t/hello");
}

#[test]
fn tampered_payload_byte() {
    let (key, image) = signed();
    let mut payload = image.payload.bytes.clone();
    let at = payload.len() / 2;
    payload[at] ^= 0x01;
    let err = verify(&image.manifest.bytes, &payload, &key.public_key(), &digest(0xab), None).unwrap_err();
    assert!(matches!(err, VerifyError::PayloadNotInManifest { .. }), "{err}");
    assert!(err.to_string().contains("matches no simple-signing layer"), "{err}");
}

#[test]
fn tampered_payload_with_rehashed_manifest() {
    // An attacker who swaps the payload and fixes the layer digest still fails the signature.
    let (key, image) = signed();
    let forged = image.payload.bytes.iter().map(|&b| if b == b'a' { b'b' } else { b }).collect::<Vec<u8>>();
    assert_eq!(forged.len(), image.payload.bytes.len());
    let manifest = edit_manifest(&image, |v| v["layers"][0]["digest"] = Value::from(Digest::of(&forged).to_string()));
    let err = verify(&manifest, &forged, &key.public_key(), &digest(0xbb), None).unwrap_err();
    assert!(matches!(err, VerifyError::SignatureMismatch { .. }), "{err}");
}

#[test]
fn tampered_layer_size() {
    let (key, image) = signed();
    let manifest = edit_manifest(&image, |v| v["layers"][0]["size"] = Value::from(1));
    let err = verify(&manifest, &image.payload.bytes, &key.public_key(), &digest(0xab), None).unwrap_err();
    assert!(
        matches!(err, VerifyError::PayloadSizeMismatch { declared: 1, actual, .. } if actual == image.payload.bytes.len() as u64),
        "{err}"
    );
}

#[test]
fn tampered_annotation() {
    let (key, image) = signed();
    let other = sign_image(&key, &repo(), &digest(0xcd)).signature;
    let manifest = edit_manifest(&image, |v| v["layers"][0]["annotations"][ANNOTATION_SIGNATURE] = Value::from(other));
    let err = verify(&manifest, &image.payload.bytes, &key.public_key(), &digest(0xab), None).unwrap_err();
    assert!(matches!(err, VerifyError::SignatureMismatch { .. }), "{err}");

    let manifest = edit_manifest(&image, |v| v["layers"][0]["annotations"][ANNOTATION_SIGNATURE] = Value::from("!!"));
    let err = verify(&manifest, &image.payload.bytes, &key.public_key(), &digest(0xab), None).unwrap_err();
    assert!(matches!(err, VerifyError::SignatureEncoding { .. }), "{err}");

    let manifest = edit_manifest(&image, |v| v["layers"][0]["annotations"][ANNOTATION_SIGNATURE] = Value::from("AAAA"));
    let err = verify(&manifest, &image.payload.bytes, &key.public_key(), &digest(0xab), None).unwrap_err();
    assert!(matches!(err, VerifyError::SignatureEncoding { .. }), "{err}");

    let manifest = edit_manifest(&image, |v| v["layers"][0]["annotations"] = serde_json::json!({}));
    let err = verify(&manifest, &image.payload.bytes, &key.public_key(), &digest(0xab), None).unwrap_err();
    assert!(matches!(err, VerifyError::MissingSignature { .. }), "{err}");
}

#[test]
fn digest_mismatch() {
    let (key, image) = signed();
    let err = verify(&image.manifest.bytes, &image.payload.bytes, &key.public_key(), &digest(0x01), None).unwrap_err();
    match &err {
        VerifyError::ImageDigestMismatch { expected, actual } => {
            assert_eq!(*expected, digest(0x01).to_string());
            assert_eq!(*actual, digest(0xab).to_string());
        }
        other => panic!("expected ImageDigestMismatch, got {other}"),
    }
}

#[test]
fn reference_mismatch() {
    let (key, image) = signed();
    let elsewhere = Repository::parse("ghcr.io/example/other").unwrap();
    let err = verify(&image.manifest.bytes, &image.payload.bytes, &key.public_key(), &digest(0xab), Some(&elsewhere))
        .unwrap_err();
    assert!(matches!(err, VerifyError::ReferenceMismatch { .. }), "{err}");
}

#[test]
fn wrong_key() {
    let (_, image) = signed();
    let stranger = SigningKey::generate().public_key();
    let err = verify(&image.manifest.bytes, &image.payload.bytes, &stranger, &digest(0xab), None).unwrap_err();
    match &err {
        VerifyError::SignatureMismatch { key_id, .. } => assert_eq!(key_id, &stranger.key_id()),
        other => panic!("expected SignatureMismatch, got {other}"),
    }
    assert!(err.to_string().contains("does not verify with public key"), "{err}");
}

#[test]
fn not_a_signature_manifest() {
    let (key, image) = signed();
    let err = verify(b"{", &image.payload.bytes, &key.public_key(), &digest(0xab), None).unwrap_err();
    assert!(matches!(err, VerifyError::ManifestJson { .. }), "{err}");
    let manifest = edit_manifest(&image, |v| v["layers"][0]["mediaType"] = Value::from("application/octet-stream"));
    let err = verify(&manifest, &image.payload.bytes, &key.public_key(), &digest(0xab), None).unwrap_err();
    assert!(matches!(err, VerifyError::NotASignatureManifest { .. }), "{err}");
}
