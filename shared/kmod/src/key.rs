//! Module signing keys: an RSA private key plus the X.509 certificate that names it.
//!
//! [`SigningKey::load`] reads the files the kernel build uses (`certs/signing_key.pem` and
//! `certs/signing_key.x509`, or anything `openssl req` writes): a PEM private key in PKCS#8 or
//! PKCS#1 form, and a certificate in PEM or DER. Key and certificate may share one PEM file, as
//! kbuild's own `signing_key.pem` does. [`SigningKey::generate`] makes a new key and a self-signed
//! certificate shaped like the kernel's `certs/x509.genkey` template, and
//! [`SigningKey::write_pem`] stores them, the private key with mode 0600.
//!
//! The private key never leaves this module except through [`SigningKey::write_pem`]; the `Debug`
//! impl redacts it. Signing itself lives in `sign.rs`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use const_oid::ObjectIdentifier;
use const_oid::db::rfc4519::{COMMON_NAME, ORGANIZATION_NAME};
use const_oid::db::rfc5912::{ID_CE_BASIC_CONSTRAINTS, ID_CE_KEY_USAGE, ID_CE_SUBJECT_KEY_IDENTIFIER};
use const_oid::db::rfc5912::{RSA_ENCRYPTION, SHA_512_WITH_RSA_ENCRYPTION};
use der::asn1::{BitString, GeneralizedTime, OctetString, SetOfVec, UtcTime};
use der::pem::LineEnding;
use der::{Any, Decode, Encode, EncodePem, Tag, Tagged};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256, Sha512};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::{Certificate, TbsCertificate, Version};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::fsutil;

/// RSA key sizes [`SigningKey::generate`] accepts. The kernel's template uses 4096.
pub const SUPPORTED_KEY_BITS: [usize; 3] = [2048, 3072, 4096];

/// Validity of generated certificates: 36500 days, as in `openssl req -days 36500` (kbuild).
pub const CERT_VALIDITY: Duration = Duration::from_secs(36_500 * 24 * 60 * 60);

/// Errors loading, generating or writing a [`SigningKey`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Reading or writing a key or certificate file failed.
    #[error("failed to {action} {path}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A parse error, with the file it came from.
    #[error("{path}: {cause}")]
    InFile {
        /// The file.
        path: PathBuf,
        /// What went wrong in it.
        cause: Box<KeyError>,
    },
    /// The key file holds no unencrypted RSA private key.
    #[error("no private key found (expected a pem block `PRIVATE KEY` or `RSA PRIVATE KEY`)")]
    NoPrivateKey,
    /// The key file holds an encrypted private key.
    #[error("the private key is encrypted; module signing needs an unencrypted key")]
    EncryptedKey,
    /// The private key could not be decoded.
    #[error("invalid {format} private key: {reason}")]
    InvalidKey {
        /// `pkcs#8` or `pkcs#1`.
        format: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// The certificate could not be decoded.
    #[error("invalid x.509 certificate: {reason}")]
    InvalidCertificate {
        /// The decoder's message.
        reason: String,
    },
    /// The key or certificate is not RSA.
    #[error("unsupported key algorithm {oid} (only rsa is supported)")]
    NotRsa {
        /// The algorithm OID found.
        oid: String,
    },
    /// The private key does not belong to the certificate.
    #[error("the private key does not match the certificate's public key")]
    KeyMismatch,
    /// An RSA size [`SigningKey::generate`] does not offer.
    #[error("unsupported rsa key size {bits} (supported: 2048, 3072, 4096)")]
    UnsupportedBits {
        /// The size asked for.
        bits: usize,
    },
    /// Key generation or certificate signing failed.
    #[error("failed to generate the signing key: {reason}")]
    Generate {
        /// What failed.
        reason: String,
    },
    /// Encoding the key or certificate failed.
    #[error("failed to encode the {what}: {reason}")]
    Encode {
        /// `private key` or `certificate`.
        what: &'static str,
        /// The encoder's message.
        reason: String,
    },
}

impl KeyError {
    fn in_file(self, path: &Path) -> KeyError {
        KeyError::InFile { path: path.to_path_buf(), cause: Box::new(self) }
    }
}

/// The subject (and issuer) of a generated self-signed certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    /// `CN`; modinfo shows it as `signer`.
    pub common_name: String,
    /// `O`, written before `CN` as `openssl req` does with the kernel template.
    pub organization: Option<String>,
}

/// An identifier printed by `modinfo` as `sig_key`: raw bytes, displayed as upper-case hex pairs
/// joined by `:` (`46:96:3C:...`), exactly as modinfo prints them.
///
/// For the PKCS#7 signatures every current kernel uses, modinfo's `sig_key` is the signer
/// certificate's **serial number** (minimal big-endian bytes, no sign padding), not its
/// subjectKeyIdentifier.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeyId(Vec<u8>);

impl KeyId {
    /// Wrap raw bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> KeyId {
        KeyId(bytes.into())
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Lower-case hex without separators.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// An RSA private key and its X.509 certificate, checked to belong together.
pub struct SigningKey {
    key: RsaPrivateKey,
    cert: Certificate,
    cert_der: Vec<u8>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("bits", &self.bits())
            .field("signer", &self.signer())
            .field("key_id", &self.key_id())
            .field("cert_fingerprint", &self.cert_fingerprint())
            .field("private_key", &"<redacted>")
            .finish()
    }
}

impl SigningKey {
    /// Load a PEM private key (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`) and a certificate
    /// (PEM or DER). Both paths may name the same file.
    pub fn load(key_pem_path: &Path, cert_path: &Path) -> Result<SigningKey, KeyError> {
        let key_pem = fsutil::read(key_pem_path).map_err(|source| KeyError::Io {
            action: "read",
            path: key_pem_path.to_path_buf(),
            source,
        })?;
        let cert = fsutil::read(cert_path).map_err(|source| KeyError::Io {
            action: "read",
            path: cert_path.to_path_buf(),
            source,
        })?;
        let key = parse_private_key(&key_pem).map_err(|e| e.in_file(key_pem_path))?;
        let cert_der = certificate_der(&cert).map_err(|e| e.in_file(cert_path))?;
        SigningKey::from_parts(key, cert_der).map_err(|e| match e {
            KeyError::KeyMismatch => e,
            other => other.in_file(cert_path),
        })
    }

    /// Build from in-memory PEM key text and a PEM or DER certificate.
    pub fn from_pem(key_pem: &[u8], cert: &[u8]) -> Result<SigningKey, KeyError> {
        SigningKey::from_parts(parse_private_key(key_pem)?, certificate_der(cert)?)
    }

    fn from_parts(key: RsaPrivateKey, cert_der: Vec<u8>) -> Result<SigningKey, KeyError> {
        let cert =
            Certificate::from_der(&cert_der).map_err(|e| KeyError::InvalidCertificate { reason: e.to_string() })?;
        let spki = &cert.tbs_certificate.subject_public_key_info;
        if spki.algorithm.oid != RSA_ENCRYPTION {
            return Err(KeyError::NotRsa { oid: spki.algorithm.oid.to_string() });
        }
        let spki_der = spki.to_der().map_err(|e| KeyError::InvalidCertificate { reason: e.to_string() })?;
        let cert_public = RsaPublicKey::from_public_key_der(&spki_der)
            .map_err(|e| KeyError::InvalidCertificate { reason: e.to_string() })?;
        if cert_public != key.to_public_key() {
            return Err(KeyError::KeyMismatch);
        }
        Ok(SigningKey { key, cert, cert_der })
    }

    /// Generate a new RSA key of `bits` (see [`SUPPORTED_KEY_BITS`]) and a self-signed certificate
    /// like the one kbuild makes from `certs/x509.genkey`: X.509 v3, sha512WithRSAEncryption, a
    /// random positive 20-byte serial, valid for [`CERT_VALIDITY`] from now, with the extensions
    /// basicConstraints (critical, CA:FALSE), keyUsage digitalSignature and subjectKeyIdentifier
    /// (SHA-1 of the public key, as openssl computes it).
    pub fn generate(bits: usize, subject: &Subject) -> Result<SigningKey, KeyError> {
        if !SUPPORTED_KEY_BITS.contains(&bits) {
            return Err(KeyError::UnsupportedBits { bits });
        }
        let failed = |reason: String| KeyError::Generate { reason };
        let mut rng = rand_core::OsRng;
        let key = RsaPrivateKey::new(&mut rng, bits).map_err(|e| failed(e.to_string()))?;
        let tbs = tbs_certificate(&key, subject, &mut rng).map_err(|e| failed(e.to_string()))?;
        let tbs_der = tbs.to_der().map_err(|e| failed(e.to_string()))?;
        let signature =
            key.sign(Pkcs1v15Sign::new::<Sha512>(), &Sha512::digest(&tbs_der)).map_err(|e| failed(e.to_string()))?;
        let cert = Certificate {
            signature_algorithm: tbs.signature.clone(),
            tbs_certificate: tbs,
            signature: BitString::from_bytes(&signature).map_err(|e| failed(e.to_string()))?,
        };
        let cert_der = cert.to_der().map_err(|e| failed(e.to_string()))?;
        SigningKey::from_parts(key, cert_der)
    }

    /// Write the private key (PKCS#8 PEM, mode 0600) and the certificate (PEM, mode 0644), each
    /// atomically (temporary file in the same directory, then rename). Writing both to one path is
    /// not supported; use two files as `sign-file` expects.
    pub fn write_pem(&self, key_path: &Path, cert_path: &Path) -> Result<(), KeyError> {
        let key_pem = self
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| KeyError::Encode { what: "private key", reason: e.to_string() })?;
        fsutil::write_atomic(key_path, key_pem.as_bytes(), 0o600).map_err(|source| KeyError::Io {
            action: "write",
            path: key_path.to_path_buf(),
            source,
        })?;
        fsutil::write_atomic(cert_path, self.certificate_pem()?.as_bytes(), 0o644).map_err(|source| KeyError::Io {
            action: "write",
            path: cert_path.to_path_buf(),
            source,
        })?;
        Ok(())
    }

    /// The certificate, DER-encoded.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The certificate, PEM-encoded (`CERTIFICATE`).
    pub fn certificate_pem(&self) -> Result<String, KeyError> {
        self.cert.to_pem(LineEnding::LF).map_err(|e| KeyError::Encode { what: "certificate", reason: e.to_string() })
    }

    /// SHA-256 of the DER certificate, lower-case hex: what `openssl x509 -fingerprint -sha256`
    /// prints, without the colons.
    pub fn cert_fingerprint(&self) -> String {
        hex::encode(Sha256::digest(&self.cert_der))
    }

    /// What `modinfo` prints as `sig_key` for modules signed with this key: the certificate's
    /// serial number (see [`KeyId`]). Compare with [`crate::SigInfo::sig_key`].
    pub fn key_id(&self) -> KeyId {
        KeyId::new(self.cert.tbs_certificate.serial_number.as_bytes())
    }

    /// The certificate's subjectKeyIdentifier extension, if it has one. This is what the kernel
    /// prints when it loads the key into the builtin keyring (`Loaded X.509 cert '<CN>: <skid>'`).
    pub fn subject_key_identifier(&self) -> Option<KeyId> {
        let extensions = self.cert.tbs_certificate.extensions.as_ref()?;
        let ext = extensions.iter().find(|e| e.extn_id == ID_CE_SUBJECT_KEY_IDENTIFIER)?;
        let skid = SubjectKeyIdentifier::from_der(ext.extn_value.as_bytes()).ok()?;
        Some(KeyId::new(skid.0.as_bytes()))
    }

    /// What `modinfo` prints as `signer`: the issuer's commonName.
    pub fn signer(&self) -> Option<String> {
        common_name(&self.cert.tbs_certificate.issuer)
    }

    /// The RSA modulus size in bits.
    pub fn bits(&self) -> usize {
        self.key.size() * 8
    }

    pub(crate) fn private_key(&self) -> &RsaPrivateKey {
        &self.key
    }

    pub(crate) fn certificate(&self) -> &Certificate {
        &self.cert
    }
}

/// The first commonName of a distinguished name, as text.
pub(crate) fn common_name(name: &Name) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == COMMON_NAME)
        .and_then(|atv| directory_string(&atv.value))
}

/// The text of a DirectoryString-like attribute value (UTF8String, PrintableString, IA5String, ...).
fn directory_string(value: &Any) -> Option<String> {
    match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::TeletexString | Tag::VisibleString => {
            Some(String::from_utf8_lossy(value.value()).into_owned())
        }
        _ => None,
    }
}

/// PEM blocks in `text`, as `(label, der)`; undecodable blocks are skipped.
fn pem_blocks(text: &[u8]) -> Vec<(String, Vec<u8>)> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = find(rest, BEGIN) {
        let block = &rest[start..];
        let Some(label_end) = find(&block[BEGIN.len()..], b"-----") else { break };
        let label = &block[BEGIN.len()..BEGIN.len() + label_end];
        let end_marker = [b"-----END ", label, b"-----"].concat();
        let Some(end) = find(block, &end_marker) else { break };
        let whole = &block[..end + end_marker.len()];
        if let Ok((label, der)) = der::pem::decode_vec(whole) {
            blocks.push((label.to_owned(), der));
        }
        rest = &block[end + end_marker.len()..];
    }
    blocks
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn parse_private_key(pem: &[u8]) -> Result<RsaPrivateKey, KeyError> {
    for (label, der) in pem_blocks(pem) {
        match label.as_str() {
            "PRIVATE KEY" => {
                return RsaPrivateKey::from_pkcs8_der(&der).map_err(|e| match e {
                    rsa::pkcs8::Error::PublicKey(spki::Error::OidUnknown { oid }) => {
                        KeyError::NotRsa { oid: oid.to_string() }
                    }
                    other => KeyError::InvalidKey { format: "pkcs#8", reason: other.to_string() },
                });
            }
            "RSA PRIVATE KEY" => {
                return RsaPrivateKey::from_pkcs1_der(&der)
                    .map_err(|e| KeyError::InvalidKey { format: "pkcs#1", reason: e.to_string() });
            }
            "ENCRYPTED PRIVATE KEY" => return Err(KeyError::EncryptedKey),
            _ => {}
        }
    }
    Err(KeyError::NoPrivateKey)
}

/// The DER certificate from a PEM file (first `CERTIFICATE` block) or a DER file.
fn certificate_der(bytes: &[u8]) -> Result<Vec<u8>, KeyError> {
    if let Some((_, der)) = pem_blocks(bytes).into_iter().find(|(label, _)| label == "CERTIFICATE") {
        return Ok(der);
    }
    if bytes.first() == Some(&0x30) {
        return Ok(bytes.to_vec());
    }
    Err(KeyError::InvalidCertificate { reason: "neither a pem `CERTIFICATE` block nor der".to_owned() })
}

fn tbs_certificate(
    key: &RsaPrivateKey,
    subject: &Subject,
    rng: &mut rand_core::OsRng,
) -> Result<TbsCertificate, Box<dyn std::error::Error>> {
    use rand_core::RngCore;

    // 159 random bits, positive and 20 bytes long, like openssl's default serial.
    let mut serial = [0u8; 20];
    rng.fill_bytes(&mut serial);
    serial[0] = (serial[0] & 0x7f) | 0x40;

    let mut rdns = Vec::new();
    if let Some(org) = &subject.organization {
        rdns.push(rdn(ORGANIZATION_NAME, org)?);
    }
    rdns.push(rdn(COMMON_NAME, &subject.common_name)?);
    let name = RdnSequence(rdns);

    let spki_der = key.to_public_key().to_public_key_der()?;
    let spki = SubjectPublicKeyInfoOwned::from_der(spki_der.as_bytes())?;
    let skid = sha1::Sha1::digest(spki.subject_public_key.raw_bytes());

    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH)?;
    let now = Duration::from_secs(now.as_secs());
    let validity = Validity { not_before: x509_time(now)?, not_after: x509_time(now + CERT_VALIDITY)? };

    let extensions = vec![
        extension(ID_CE_BASIC_CONSTRAINTS, true, &BasicConstraints { ca: false, path_len_constraint: None })?,
        extension(ID_CE_KEY_USAGE, false, &KeyUsage(KeyUsages::DigitalSignature.into()))?,
        extension(ID_CE_SUBJECT_KEY_IDENTIFIER, false, &SubjectKeyIdentifier(OctetString::new(skid.to_vec())?))?,
    ];

    Ok(TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&serial)?,
        signature: AlgorithmIdentifierOwned { oid: SHA_512_WITH_RSA_ENCRYPTION, parameters: Some(Any::null()) },
        issuer: name.clone(),
        validity,
        subject: name,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    })
}

fn rdn(oid: ObjectIdentifier, value: &str) -> der::Result<RelativeDistinguishedName> {
    let value = Any::new(Tag::Utf8String, value.as_bytes())?;
    Ok(RelativeDistinguishedName(SetOfVec::try_from(vec![AttributeTypeAndValue { oid, value }])?))
}

fn extension(oid: ObjectIdentifier, critical: bool, value: &impl Encode) -> der::Result<Extension> {
    Ok(Extension { extn_id: oid, critical, extn_value: OctetString::new(value.to_der()?)? })
}

/// RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
fn x509_time(since_epoch: Duration) -> der::Result<Time> {
    match UtcTime::from_unix_duration(since_epoch) {
        Ok(t) => Ok(Time::UtcTime(t)),
        Err(_) => Ok(Time::GeneralTime(GeneralizedTime::from_unix_duration(since_epoch)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_display_matches_modinfo() {
        assert_eq!(KeyId::new(vec![0x46, 0x96, 0x0c]).to_string(), "46:96:0C");
        assert_eq!(KeyId::new(vec![0x46, 0x96, 0x0c]).to_hex(), "46960c");
    }

    #[test]
    fn pem_blocks_finds_every_block() {
        let text = b"junk\n-----BEGIN A-----\nAAEC\n-----END A-----\n-----BEGIN B-----\nAw==\n-----END B-----\n";
        let blocks = pem_blocks(text);
        assert_eq!(blocks, vec![("A".to_owned(), vec![0, 1, 2]), ("B".to_owned(), vec![3])]);
    }

    #[test]
    fn rejects_unsupported_sizes_and_garbage() {
        let subject = Subject { common_name: "x".to_owned(), organization: None };
        assert!(matches!(SigningKey::generate(1024, &subject), Err(KeyError::UnsupportedBits { bits: 1024 })));
        assert!(matches!(SigningKey::from_pem(b"nothing", b"\x30"), Err(KeyError::NoPrivateKey)));
        let encrypted = b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAEC\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(matches!(SigningKey::from_pem(encrypted, b"\x30"), Err(KeyError::EncryptedKey)));
    }
}
