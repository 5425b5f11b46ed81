//! Signing: the write side of the module signature format, byte-identical to the kernel's
//! `scripts/sign-file <hash> key.pem cert.pem module.ko`.
//!
//! `sign-file` asks OpenSSL for a detached CMS SignedData with `CMS_NOCERTS | CMS_BINARY |
//! CMS_NOATTR | CMS_NOSMIMECAP` and the signer identified by issuer and serial. The result is
//! fully determined by the key, the certificate and the module (RSA PKCS#1 v1.5 is deterministic),
//! so it can be rebuilt exactly here:
//!
//! ```text
//! ContentInfo { signed-data, SignedData {
//!     version 1, digestAlgorithms { <hash> (no parameters) }, encapContentInfo { data (detached) },
//!     signerInfos { SignerInfo { version 1, sid issuerAndSerialNumber, digestAlgorithm <hash>,
//!         signatureAlgorithm rsaEncryption NULL, signature RSASSA-PKCS1-v1_5(<hash>(module)) } } } }
//! ```
//!
//! With no signed attributes the RSA signature covers the module digest directly. The `cms`
//! crate's `SignedDataBuilder` always adds signed attributes, so the structs are filled by hand.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911::{ID_DATA, ID_SIGNED_DATA};
use const_oid::db::rfc5912::{ID_SHA_256, ID_SHA_384, ID_SHA_512, RSA_ENCRYPTION};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Encode};
use rsa::pkcs1v15::Pkcs1v15Sign;
use sha2::{Digest, Sha256, Sha384, Sha512};
use spki::AlgorithmIdentifierOwned;

use crate::elf::is_elf;
use crate::fsutil;
use crate::key::SigningKey;
use crate::signature::{SigError, append_signature, is_signed, strip_signature};

/// The digest used for a module signature. Talos kernels use [`HashAlgo::Sha512`]
/// (`CONFIG_MODULE_SIG_SHA512`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum HashAlgo {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512, the default.
    #[default]
    Sha512,
}

impl HashAlgo {
    /// The name `sign-file` takes and `modinfo` prints as `sig_hashalgo`.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgo::Sha256 => "sha256",
            HashAlgo::Sha384 => "sha384",
            HashAlgo::Sha512 => "sha512",
        }
    }

    fn oid(self) -> ObjectIdentifier {
        match self {
            HashAlgo::Sha256 => ID_SHA_256,
            HashAlgo::Sha384 => ID_SHA_384,
            HashAlgo::Sha512 => ID_SHA_512,
        }
    }

    pub(crate) fn from_oid(oid: &ObjectIdentifier) -> Option<HashAlgo> {
        [HashAlgo::Sha256, HashAlgo::Sha384, HashAlgo::Sha512].into_iter().find(|h| h.oid() == *oid)
    }

    fn digest_and_padding(self, data: &[u8]) -> (Vec<u8>, Pkcs1v15Sign) {
        match self {
            HashAlgo::Sha256 => (Sha256::digest(data).to_vec(), Pkcs1v15Sign::new::<Sha256>()),
            HashAlgo::Sha384 => (Sha384::digest(data).to_vec(), Pkcs1v15Sign::new::<Sha384>()),
            HashAlgo::Sha512 => (Sha512::digest(data).to_vec(), Pkcs1v15Sign::new::<Sha512>()),
        }
    }
}

impl fmt::Display for HashAlgo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown hash algorithm name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown module signature hash `{name}` (expected sha256, sha384 or sha512)")]
pub struct HashAlgoParseError {
    /// The name given.
    pub name: String,
}

impl FromStr for HashAlgo {
    type Err = HashAlgoParseError;

    fn from_str(s: &str) -> Result<HashAlgo, HashAlgoParseError> {
        match s {
            "sha256" => Ok(HashAlgo::Sha256),
            "sha384" => Ok(HashAlgo::Sha384),
            "sha512" => Ok(HashAlgo::Sha512),
            _ => Err(HashAlgoParseError { name: s.to_owned() }),
        }
    }
}

/// What [`sign_file_in_place`] does with a module that is already signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IfSigned {
    /// Fail with [`SignError::AlreadySigned`].
    Refuse,
    /// Strip the old signature and sign again.
    Resign,
}

/// Why a module could not be signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The module already carries a signature.
    #[error("the module is already signed (strip the signature first, or re-sign)")]
    AlreadySigned,
    /// The input is not an ELF file (a compressed `.ko.xz`, say); modules are signed uncompressed.
    #[error("not an elf file: modules must be signed uncompressed, before xz/zstd compression")]
    NotElf,
    /// The old signature could not be stripped, or the new one could not be appended.
    #[error(transparent)]
    Signature(#[from] SigError),
    /// RSA signing failed.
    #[error("rsa signing failed: {reason}")]
    Rsa {
        /// The RSA library's message.
        reason: String,
    },
    /// DER-encoding the CMS failed.
    #[error("failed to encode the cms signature: {reason}")]
    Encode {
        /// The encoder's message.
        reason: String,
    },
    /// Reading or writing the module failed.
    #[error("failed to {action} {path}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The module file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Signing a file failed, with the file it concerned.
    #[error("{path}: {cause}")]
    InFile {
        /// The module file.
        path: PathBuf,
        /// What went wrong.
        cause: Box<SignError>,
    },
}

/// Sign an unsigned module: returns `module || CMS || trailer || magic`, byte-identical to
/// `sign-file <hash> key.pem cert.pem`. Refuses a module that already ends with the signature
/// magic ([`SignError::AlreadySigned`]); see [`resign_module`].
pub fn sign_module(module: &[u8], key: &SigningKey, hash: HashAlgo) -> Result<Vec<u8>, SignError> {
    if is_signed(module) {
        return Err(SignError::AlreadySigned);
    }
    if !is_elf(module) {
        return Err(SignError::NotElf);
    }
    let cms = detached_signature(module, key, hash)?;
    Ok(append_signature(module, &cms)?)
}

/// Sign a module, replacing any signature it already has.
pub fn resign_module(module: &[u8], key: &SigningKey, hash: HashAlgo) -> Result<Vec<u8>, SignError> {
    sign_module(strip_signature(module)?, key, hash)
}

/// Sign the module at `path` in place: read it, sign it, and replace it atomically (temporary file
/// in the same directory, then rename), keeping its permission bits.
pub fn sign_file_in_place(path: &Path, key: &SigningKey, hash: HashAlgo, if_signed: IfSigned) -> Result<(), SignError> {
    let io = |action, source| SignError::Io { action, path: path.to_path_buf(), source };
    let module = fsutil::read(path).map_err(|e| io("read", e))?;
    let mode = std::fs::metadata(path).map_err(|e| io("read", e))?.permissions().mode() & 0o7777;
    let signed = match if_signed {
        IfSigned::Refuse => sign_module(&module, key, hash),
        IfSigned::Resign => resign_module(&module, key, hash),
    }
    .map_err(|e| SignError::InFile { path: path.to_path_buf(), cause: Box::new(e) })?;
    fsutil::write_atomic(path, &signed, mode).map_err(|e| io("write", e))
}

/// The detached CMS SignedData (DER) over `content`, exactly as `sign-file` builds it. This is
/// what `sign-file -d` writes to `<module>.p7s`.
pub fn detached_signature(content: &[u8], key: &SigningKey, hash: HashAlgo) -> Result<Vec<u8>, SignError> {
    let encode = |e: der::Error| SignError::Encode { reason: e.to_string() };
    let (digest, padding) = hash.digest_and_padding(content);
    let signature = key.private_key().sign(padding, &digest).map_err(|e| SignError::Rsa { reason: e.to_string() })?;

    let tbs = &key.certificate().tbs_certificate;
    // OpenSSL 3 writes SHA-2 digest identifiers without parameters, and rsaEncryption with NULL.
    let digest_alg = AlgorithmIdentifierOwned { oid: hash.oid(), parameters: None };
    let signer = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        }),
        digest_alg: digest_alg.clone(),
        signed_attrs: None,
        signature_algorithm: AlgorithmIdentifierOwned { oid: RSA_ENCRYPTION, parameters: Some(Any::null()) },
        signature: OctetString::new(signature).map_err(encode)?,
        unsigned_attrs: None,
    };
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![digest_alg]).map_err(encode)?,
        encap_content_info: EncapsulatedContentInfo { econtent_type: ID_DATA, econtent: None },
        certificates: None,
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer]).map_err(encode)?),
    };
    let info = ContentInfo { content_type: ID_SIGNED_DATA, content: Any::encode_from(&signed_data).map_err(encode)? };
    info.to_der().map_err(encode)
}
