//! cosign's password-encrypted private key format (`ENCRYPTED SIGSTORE PRIVATE KEY`, formerly
//! `ENCRYPTED COSIGN PRIVATE KEY`): the PEM body is JSON from go-securesystemslib's `encrypted`
//! package, `{"kdf":{"name":"scrypt","params":{"N","r","p"},"salt"},"cipher":{"name":
//! "nacl/secretbox","nonce"},"ciphertext"}`, byte strings in padded standard base64. The key is
//! `scrypt(password, salt, N, r, p, 32)`, the ciphertext is NaCl `secretbox` (XSalsa20-Poly1305,
//! tag first) of the PKCS#8 DER private key.
//!
//! Only this format is handled here; PEM framing and key decoding live in `key.rs`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Key, Nonce, XSalsa20Poly1305};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::KeyError;

/// The PEM label cosign 2.x writes.
pub const LABEL_SIGSTORE: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// The PEM label cosign 1.x wrote; still read by cosign and here.
pub const LABEL_COSIGN: &str = "ENCRYPTED COSIGN PRIVATE KEY";

const KDF_SCRYPT: &str = "scrypt";
const CIPHER_SECRETBOX: &str = "nacl/secretbox";
/// cosign's scrypt parameters: N = 2^16, r = 8, p = 1.
const LOG_N: u8 = 16;
const R: u32 = 8;
const P: u32 = 1;
/// The largest N accepted when reading (2^20), so a hostile key file cannot make us spend gigabytes.
const MAX_LOG_N: u8 = 20;

#[derive(Serialize, Deserialize)]
struct Envelope {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: KdfParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct KdfParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

fn bad(reason: impl Into<String>) -> KeyError {
    KeyError::EncryptedFormat { reason: reason.into() }
}

fn derive_key(password: &[u8], salt: &[u8], log_n: u8, r: u32, p: u32) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let params = scrypt::Params::new(log_n, r, p, 32).map_err(|e| bad(format!("scrypt parameters: {e}")))?;
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(password, salt, &params, key.as_mut()).map_err(|e| bad(format!("scrypt: {e}")))?;
    Ok(key)
}

/// Decrypts the JSON body of an encrypted cosign key into PKCS#8 DER.
pub fn decrypt(body: &[u8], password: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let env: Envelope = serde_json::from_slice(body).map_err(|e| bad(format!("json: {e}")))?;
    if env.kdf.name != KDF_SCRYPT {
        return Err(bad(format!("kdf `{}` is not `{KDF_SCRYPT}`", env.kdf.name)));
    }
    if env.cipher.name != CIPHER_SECRETBOX {
        return Err(bad(format!("cipher `{}` is not `{CIPHER_SECRETBOX}`", env.cipher.name)));
    }
    let n = env.kdf.params.n;
    if !n.is_power_of_two() || n < 2 || n.trailing_zeros() > u32::from(MAX_LOG_N) {
        return Err(bad(format!("scrypt N = {n} is not a power of two between 2 and 2^{MAX_LOG_N}")));
    }
    let log_n = u8::try_from(n.trailing_zeros()).map_err(|_| bad("scrypt N out of range"))?;
    let b64 = |field: &str, s: &str| STANDARD.decode(s).map_err(|e| bad(format!("{field}: {e}")));
    let salt = b64("kdf.salt", &env.kdf.salt)?;
    let nonce = b64("cipher.nonce", &env.cipher.nonce)?;
    let ciphertext = b64("ciphertext", &env.ciphertext)?;
    if nonce.len() != 24 {
        return Err(bad(format!("cipher.nonce has {} bytes, expected 24", nonce.len())));
    }
    let key = derive_key(password, &salt, log_n, env.kdf.params.r, env.kdf.params.p)?;
    let cipher = XSalsa20Poly1305::new(Key::from_slice(key.as_ref()));
    let plain =
        cipher.decrypt(Nonce::from_slice(&nonce), ciphertext.as_slice()).map_err(|_| KeyError::WrongPassword)?;
    Ok(Zeroizing::new(plain))
}

/// Encrypts PKCS#8 DER into the JSON body of an encrypted cosign key, with a fresh random salt and
/// nonce and cosign's scrypt parameters.
pub fn encrypt(pkcs8_der: &[u8], password: &[u8]) -> Result<Vec<u8>, KeyError> {
    let mut salt = [0u8; 32];
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut salt);
    OsRng.fill_bytes(&mut nonce);
    let key = derive_key(password, &salt, LOG_N, R, P)?;
    let cipher = XSalsa20Poly1305::new(Key::from_slice(key.as_ref()));
    let ciphertext = cipher
        .encrypt(Nonce::from_slice(&nonce), pkcs8_der)
        .map_err(|_| KeyError::Encode { reason: "secretbox encryption failed".into() })?;
    let env = Envelope {
        kdf: Kdf {
            name: KDF_SCRYPT.into(),
            params: KdfParams { n: 1 << LOG_N, r: R, p: P },
            salt: STANDARD.encode(salt),
        },
        cipher: Cipher { name: CIPHER_SECRETBOX.into(), nonce: STANDARD.encode(nonce) },
        ciphertext: STANDARD.encode(ciphertext),
    };
    serde_json::to_vec(&env).map_err(|e| KeyError::Encode { reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_password() {
        let body = encrypt(b"secret der", b"pw").unwrap();
        assert_eq!(decrypt(&body, b"pw").unwrap().as_slice(), b"secret der");
        assert!(matches!(decrypt(&body, b"other"), Err(KeyError::WrongPassword)));
        let text = String::from_utf8(body).unwrap();
        assert!(text.starts_with(r#"{"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":""#), "{text}");
        let hostile = text.replace("65536", &(1u64 << 30).to_string());
        assert!(matches!(decrypt(hostile.as_bytes(), b"pw"), Err(KeyError::EncryptedFormat { .. })));
    }
}
