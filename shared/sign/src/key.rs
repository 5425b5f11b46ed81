//! ECDSA P-256 keys: reading the PEM kinds cosign and openssl write, generating a pair, writing it
//! (private key mode 0600), signing (SHA-256, ASN.1 DER signature) and verifying.
//!
//! Signing is deterministic (RFC 6979), so the same key and payload always give the same
//! signature bytes. RSA and Ed25519 keys, which cosign also accepts, are rejected with
//! [`KeyError::UnsupportedKey`].

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::Path;

use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{DerSignature, Signature, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use p256::{PublicKey as P256PublicKey, SecretKey};
use rand_core::OsRng;
use sha2::Digest;
use zeroize::Zeroizing;

use crate::cosign_key;
use crate::error::{KeyError, SignatureCheck};

/// The environment variable holding the password of an encrypted cosign key (as for `cosign`).
pub const COSIGN_PASSWORD_ENV: &str = "COSIGN_PASSWORD";

const LABEL_PKCS8: &str = "PRIVATE KEY";
const LABEL_SEC1: &str = "EC PRIVATE KEY";
const LABEL_PUBLIC: &str = "PUBLIC KEY";
/// openssl `ecparam -genkey` writes this block before the key; it is skipped.
const LABEL_EC_PARAMETERS: &str = "EC PARAMETERS";

/// One `-----BEGIN <label>-----` … `-----END <label>-----` block, decoded.
struct PemBlock {
    label: String,
    der: Zeroizing<Vec<u8>>,
}

/// The first PEM block of `text` that is not `EC PARAMETERS`.
fn first_pem_block(text: &str) -> Result<PemBlock, KeyError> {
    let pem = |reason: String| KeyError::Pem { reason };
    let mut rest = text;
    loop {
        let start = rest.find("-----BEGIN ").ok_or_else(|| pem("no `-----BEGIN` line".into()))?;
        let after = &rest[start + "-----BEGIN ".len()..];
        let label = after.split("-----").next().unwrap_or_default().to_string();
        let end_marker = format!("-----END {label}-----");
        let end = rest.find(&end_marker).ok_or_else(|| pem(format!("no `{end_marker}` line")))?;
        let block = &rest[start..end + end_marker.len()];
        rest = &rest[end + end_marker.len()..];
        if label == LABEL_EC_PARAMETERS {
            continue;
        }
        let (decoded_label, der) =
            pem_rfc7468::decode_vec(block.as_bytes()).map_err(|e| pem(format!("`{label}` block: {e}")))?;
        return Ok(PemBlock { label: decoded_label.to_string(), der: Zeroizing::new(der) });
    }
}

fn unsupported(label: &str, e: impl fmt::Display) -> KeyError {
    KeyError::UnsupportedKey { label: label.to_string(), reason: e.to_string() }
}

fn read(path: &Path) -> Result<Zeroizing<String>, KeyError> {
    fs::read_to_string(path).map(Zeroizing::new).map_err(|cause| KeyError::Io { path: path.to_path_buf(), cause })
}

/// An ECDSA P-256 private key. `Debug` does not show the key.
#[derive(Clone)]
pub struct SigningKey(p256::ecdsa::SigningKey);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("public_key_id", &self.public_key().key_id()).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh random key.
    pub fn generate() -> SigningKey {
        SigningKey(p256::ecdsa::SigningKey::random(&mut OsRng))
    }

    /// Reads a private key PEM: `PRIVATE KEY` (PKCS#8), `EC PRIVATE KEY` (SEC1), or an encrypted
    /// cosign key, which needs `password` (cosign allows an empty one).
    pub fn from_pem(text: &str, password: Option<&[u8]>) -> Result<SigningKey, KeyError> {
        let block = first_pem_block(text)?;
        let label = block.label.as_str();
        let secret = match label {
            LABEL_PKCS8 => SecretKey::from_pkcs8_der(&block.der).map_err(|e| unsupported(label, e))?,
            LABEL_SEC1 => SecretKey::from_sec1_der(&block.der).map_err(|e| unsupported(label, e))?,
            cosign_key::LABEL_SIGSTORE | cosign_key::LABEL_COSIGN => {
                let password = password
                    .ok_or(KeyError::PasswordRequired { label: label.to_string(), env: COSIGN_PASSWORD_ENV })?;
                let der = cosign_key::decrypt(&block.der, password)?;
                SecretKey::from_pkcs8_der(&der).map_err(|e| unsupported(label, e))?
            }
            _ => return Err(KeyError::UnsupportedLabel { label: label.to_string() }),
        };
        Ok(SigningKey(secret.into()))
    }

    /// Reads a private key file; an encrypted cosign key takes its password from
    /// `$COSIGN_PASSWORD` ([`COSIGN_PASSWORD_ENV`]).
    pub fn load(path: &Path) -> Result<SigningKey, KeyError> {
        let password = std::env::var_os(COSIGN_PASSWORD_ENV).map(|p| Zeroizing::new(p.into_encoded_bytes()));
        Self::load_with_password(path, password.as_ref().map(|p| p.as_slice()))
    }

    /// Reads a private key file with an explicit password for encrypted cosign keys.
    pub fn load_with_password(path: &Path, password: Option<&[u8]>) -> Result<SigningKey, KeyError> {
        let text = read(path)?;
        Self::from_pem(&text, password).map_err(|e| match e {
            KeyError::Pem { reason } => KeyError::Pem { reason: format!("{}: {reason}", path.display()) },
            other => other,
        })
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(*self.0.verifying_key())
    }

    /// The key as an unencrypted PKCS#8 `PRIVATE KEY` PEM.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        SecretKey::from(&self.0).to_pkcs8_pem(LineEnding::LF).map_err(|e| KeyError::Encode { reason: e.to_string() })
    }

    /// The key as cosign's `ENCRYPTED SIGSTORE PRIVATE KEY` PEM, readable by `cosign sign --key`.
    pub fn to_cosign_pem(&self, password: &[u8]) -> Result<String, KeyError> {
        let der = SecretKey::from(&self.0).to_pkcs8_der().map_err(|e| KeyError::Encode { reason: e.to_string() })?;
        let body = cosign_key::encrypt(der.as_bytes(), password)?;
        pem_rfc7468::encode_string(cosign_key::LABEL_SIGSTORE, pem_rfc7468::LineEnding::LF, &body)
            .map_err(|e| KeyError::Encode { reason: e.to_string() })
    }

    /// Writes the private key (mode 0600; cosign's encrypted format when `password` is given,
    /// else PKCS#8) and the public key PEM. Existing files are never overwritten.
    pub fn write_pair(&self, private: &Path, public: &Path, password: Option<&[u8]>) -> Result<(), KeyError> {
        let private_pem = match password {
            Some(pw) => Zeroizing::new(self.to_cosign_pem(pw)?),
            None => self.to_pkcs8_pem()?,
        };
        let public_pem = self.public_key().to_pem()?;
        for path in [private, public] {
            if path.exists() {
                return Err(KeyError::Exists { path: path.to_path_buf() });
            }
        }
        write_new(private, private_pem.as_bytes(), 0o600)?;
        write_new(public, public_pem.as_bytes(), 0o644)
    }

    /// Signs `message` (ECDSA P-256 over its SHA-256): the ASN.1 DER signature cosign expects.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let sig: Signature = self.0.sign(message);
        let der: DerSignature = sig.to_der();
        der.as_bytes().to_vec()
    }
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    let io = |cause| KeyError::Io { path: path.to_path_buf(), cause };
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => KeyError::Exists { path: path.to_path_buf() },
        _ => io(e),
    })?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

/// An ECDSA P-256 public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Reads a `PUBLIC KEY` (SPKI) PEM, as written by `cosign generate-key-pair` or openssl.
    pub fn from_pem(text: &str) -> Result<PublicKey, KeyError> {
        let block = first_pem_block(text)?;
        if block.label != LABEL_PUBLIC {
            return Err(KeyError::UnsupportedLabel { label: block.label });
        }
        let key = P256PublicKey::from_public_key_der(&block.der).map_err(|e| unsupported(LABEL_PUBLIC, e))?;
        Ok(PublicKey(key.into()))
    }

    /// Reads a public key file.
    pub fn load(path: &Path) -> Result<PublicKey, KeyError> {
        Self::from_pem(&read(path)?)
    }

    /// The `PUBLIC KEY` PEM.
    pub fn to_pem(&self) -> Result<String, KeyError> {
        P256PublicKey::from(&self.0)
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| KeyError::Encode { reason: e.to_string() })
    }

    /// A short id for messages: the first 16 hex digits of the SHA-256 of the SPKI DER.
    pub fn key_id(&self) -> String {
        match P256PublicKey::from(&self.0).to_public_key_der() {
            Ok(der) => hex::encode(&sha2::Sha256::digest(der.as_bytes())[..8]),
            Err(_) => "unknown".into(),
        }
    }

    /// Whether `der_signature` is a valid ECDSA P-256/SHA-256 signature of `message`.
    pub fn verify(&self, message: &[u8], der_signature: &[u8]) -> Result<(), SignatureCheck> {
        let sig = Signature::from_der(der_signature).map_err(|e| SignatureCheck::Encoding(e.to_string()))?;
        self.0.verify(message, &sig).map_err(|_| SignatureCheck::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trips() {
        let key = SigningKey::generate();
        let pkcs8 = key.to_pkcs8_pem().unwrap();
        assert!(pkcs8.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let back = SigningKey::from_pem(&pkcs8, None).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        let public = PublicKey::from_pem(&key.public_key().to_pem().unwrap()).unwrap();
        assert_eq!(public, key.public_key());
        let sig = key.sign(b"hello");
        assert_eq!(sig, key.sign(b"hello"), "rfc 6979 signatures are deterministic");
        public.verify(b"hello", &sig).unwrap();
        assert_eq!(public.verify(b"hellO", &sig), Err(SignatureCheck::Mismatch));
        assert!(matches!(public.verify(b"hello", b"junk"), Err(SignatureCheck::Encoding(_))));
    }

    #[test]
    fn encrypted_needs_password() {
        let key = SigningKey::generate();
        let pem = key.to_cosign_pem(b"").unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"), "{pem}");
        assert!(matches!(SigningKey::from_pem(&pem, None), Err(KeyError::PasswordRequired { .. })));
        assert_eq!(SigningKey::from_pem(&pem, Some(b"")).unwrap().public_key(), key.public_key());
        assert!(matches!(SigningKey::from_pem(&pem, Some(b"x")), Err(KeyError::WrongPassword)));
    }

    #[test]
    fn rejects_other_labels_and_garbage() {
        let key = SigningKey::generate();
        let public = key.public_key().to_pem().unwrap();
        assert!(matches!(SigningKey::from_pem(&public, None), Err(KeyError::UnsupportedLabel { .. })));
        assert!(matches!(PublicKey::from_pem(&key.to_pkcs8_pem().unwrap()), Err(KeyError::UnsupportedLabel { .. })));
        assert!(matches!(PublicKey::from_pem("nothing here"), Err(KeyError::Pem { .. })));
    }
}
