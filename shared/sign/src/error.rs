//! The crate's errors: loading and saving keys ([`KeyError`]) and checking signatures
//! ([`VerifyError`]). Each verification failure has its own variant, so callers and tests can
//! tell a tampered payload from a wrong key. Malformed image references are
//! `talos_ext_model::ReferenceError`s.

use std::path::PathBuf;

/// A key that cannot be read, decrypted, parsed or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("{path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    #[error("{path}: refusing to overwrite an existing key file")]
    Exists { path: PathBuf },
    #[error("not a pem document: {reason}")]
    Pem { reason: String },
    #[error(
        "pem label `{label}` is not a supported key (expected one of `PRIVATE KEY`, `EC PRIVATE KEY`, \
         `ENCRYPTED SIGSTORE PRIVATE KEY`, `ENCRYPTED COSIGN PRIVATE KEY`, `PUBLIC KEY`)"
    )]
    UnsupportedLabel { label: String },
    #[error("`{label}` key is not an ecdsa p-256 key: {reason}")]
    UnsupportedKey { label: String, reason: String },
    #[error("`{label}` is encrypted: set {env} to its password")]
    PasswordRequired { label: String, env: &'static str },
    #[error("encrypted cosign key is malformed: {reason}")]
    EncryptedFormat { reason: String },
    #[error("cannot decrypt the cosign key: wrong password, or the key is corrupted")]
    WrongPassword,
    #[error("cannot encode the key: {reason}")]
    Encode { reason: String },
}

/// Why [`PublicKey::verify`](crate::PublicKey::verify) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureCheck {
    #[error("not an asn.1 der ecdsa signature: {0}")]
    Encoding(String),
    #[error("the signature was not made by this key over this message")]
    Mismatch,
}

/// Why a signature did not verify. Every variant is a distinct failure mode.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    #[error("signature manifest is not valid json: {cause}")]
    ManifestJson { cause: serde_json::Error },
    #[error("not a cosign signature manifest: {reason}")]
    NotASignatureManifest { reason: String },
    #[error(
        "payload digest {payload_digest} matches no simple-signing layer of the signature manifest \
         (layers: {}): the payload or the manifest was altered",
        layers.join(", ")
    )]
    PayloadNotInManifest { payload_digest: String, layers: Vec<String> },
    #[error("layer {layer_digest}: manifest declares {declared} bytes, the payload has {actual}")]
    PayloadSizeMismatch { layer_digest: String, declared: u64, actual: u64 },
    #[error("layer {layer_digest}: no `{annotation}` annotation")]
    MissingSignature { layer_digest: String, annotation: &'static str },
    #[error("layer {layer_digest}: signature annotation is not a base64 asn.1 der ecdsa signature: {reason}")]
    SignatureEncoding { layer_digest: String, reason: String },
    #[error(
        "layer {layer_digest}: signature does not verify with public key {key_id} \
         (wrong key, or the signature annotation was altered)"
    )]
    SignatureMismatch { layer_digest: String, key_id: String },
    #[error("payload is not a simple-signing json document: {cause}")]
    PayloadJson { cause: serde_json::Error },
    #[error("payload type is `{found}`, expected `{expected}`")]
    PayloadType { found: String, expected: &'static str },
    #[error("payload signs image {actual}, expected {expected}")]
    ImageDigestMismatch { expected: String, actual: String },
    #[error("payload names repository `{actual}`, expected `{expected}`")]
    ReferenceMismatch { expected: String, actual: String },
}
