//! The appended module signature format, read side: find it, check it, decode its CMS.
//!
//! A signed module is `<ELF module> <CMS SignedData, DER> <struct module_signature> <magic>`, where
//! the 12-byte `struct module_signature` (`include/uapi/linux/module_signature.h`) is
//! `u8 algo, hash, id_type, signer_len, key_id_len; u8 pad[3]; __be32 sig_len` and the magic is
//! `~Module signature appended~\n`. For PKCS#7 (`id_type` 2, the only kind current kernels
//! accept) every byte but `id_type` and `sig_len` is zero; the kernel rejects anything else, and
//! so does [`ModuleSignature::locate`].
//!
//! This module checks structure only. It does not verify the RSA signature, which needs the
//! kernel's key; tests do that with `openssl cms -verify`.

use std::fmt;

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use const_oid::db::rfc5911::{ID_DATA, ID_SIGNED_DATA};
use der::Decode;

use crate::elf::ELF64_HEADER_LEN;
use crate::key::{KeyId, common_name};
use crate::sign::HashAlgo;

/// The marker at the very end of a signed module.
pub const MAGIC: &[u8; 28] = b"~Module signature appended~\n";

/// Size of `struct module_signature`.
pub const TRAILER_LEN: usize = 12;

/// `id_type` of a PKCS#7 (CMS) signature.
pub const PKEY_ID_PKCS7: u8 = 2;

/// Largest CMS blob [`ModuleSignature::locate`] accepts. Real ones are under 1 KiB (RSA-4096:
/// about 800 bytes); the limit only catches garbage lengths.
pub const MAX_SIG_LEN: usize = 64 * 1024;

/// Why an appended signature could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigError {
    /// The module ends with the magic but is too short to hold a trailer, a signature and an ELF
    /// header.
    #[error("signed module too short: {len} bytes, need at least {min}")]
    TooShort {
        /// File length.
        len: usize,
        /// Minimum length of a signed module.
        min: usize,
    },
    /// `id_type` is not PKCS#7.
    #[error("unsupported signature id_type {id_type} (only 2, pkcs#7, is supported)")]
    BadIdType {
        /// The `id_type` byte.
        id_type: u8,
    },
    /// A trailer byte that must be zero for PKCS#7 is not.
    #[error("malformed signature trailer: {field} is {value}, must be 0 for pkcs#7")]
    BadTrailerField {
        /// The field name (`algo`, `hash`, `signer_len`, `key_id_len`, `pad`).
        field: &'static str,
        /// Its value.
        value: u8,
    },
    /// `sig_len` is zero.
    #[error("malformed signature trailer: sig_len is 0")]
    EmptySignature,
    /// `sig_len` is implausibly large.
    #[error("malformed signature trailer: sig_len {sig_len} exceeds the {max}-byte limit")]
    SigLenTooLarge {
        /// The `sig_len` field.
        sig_len: usize,
        /// [`MAX_SIG_LEN`].
        max: usize,
    },
    /// `sig_len` says the signature is longer than what precedes the trailer.
    #[error(
        "truncated signature: sig_len is {sig_len} but only {available} bytes precede the trailer after the elf header"
    )]
    Truncated {
        /// The `sig_len` field.
        sig_len: usize,
        /// Bytes between the ELF header and the trailer.
        available: usize,
    },
    /// The signature blob is not valid DER CMS.
    #[error("malformed cms signature: {reason}")]
    MalformedCms {
        /// The decoder's message.
        reason: String,
    },
    /// Valid CMS, but not the shape the kernel accepts for module signatures.
    #[error("unsupported cms signature: {reason}")]
    UnsupportedCms {
        /// What is wrong.
        reason: &'static str,
    },
}

/// How the CMS names the signer's certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerId {
    /// Issuer name and serial number (what `sign-file` writes).
    IssuerAndSerial {
        /// The issuer, RFC 4514 text.
        issuer: String,
        /// The issuer's commonName: what modinfo shows as `signer`.
        common_name: Option<String>,
        /// The serial number: what modinfo shows as `sig_key`.
        serial: KeyId,
    },
    /// The certificate's subjectKeyIdentifier (`sign-file -k`).
    SubjectKeyId(KeyId),
}

/// What a module's appended signature says, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigInfo {
    /// Length of the module before the signature.
    pub body_len: usize,
    /// Length of the CMS blob (`sig_len`).
    pub sig_len: usize,
    /// The digest algorithm, if it is one this crate knows.
    pub hash: Option<HashAlgo>,
    /// The digest algorithm OID, dotted.
    pub digest_oid: String,
    /// The signature algorithm OID, dotted (`1.2.840.113549.1.1.1`, rsaEncryption, from sign-file).
    pub signature_algorithm_oid: String,
    /// The signer.
    pub signer: SignerId,
    /// The raw signature value.
    pub signature: Vec<u8>,
}

impl SigInfo {
    /// What modinfo prints as `sig_key`: the serial number, or the subjectKeyIdentifier when the
    /// signer is identified by one.
    pub fn sig_key(&self) -> &KeyId {
        match &self.signer {
            SignerId::IssuerAndSerial { serial, .. } => serial,
            SignerId::SubjectKeyId(skid) => skid,
        }
    }

    /// What modinfo prints as `signer`: the issuer's commonName, when the signer is identified by
    /// issuer and serial.
    pub fn signer_name(&self) -> Option<&str> {
        match &self.signer {
            SignerId::IssuerAndSerial { common_name, .. } => common_name.as_deref(),
            SignerId::SubjectKeyId(_) => None,
        }
    }

    /// What modinfo prints as `sig_hashalgo` (`sha512`), or the OID for an unknown digest.
    pub fn hash_name(&self) -> &str {
        match self.hash {
            Some(hash) => hash.name(),
            None => &self.digest_oid,
        }
    }
}

/// A signed module split into its parts, checked structurally but with the CMS not decoded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ModuleSignature<'a> {
    /// The module without its signature: what was signed.
    pub body: &'a [u8],
    /// The DER CMS SignedData.
    pub cms: &'a [u8],
}

impl fmt::Debug for ModuleSignature<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModuleSignature").field("body_len", &self.body.len()).field("sig_len", &self.cms.len()).finish()
    }
}

impl<'a> ModuleSignature<'a> {
    /// Split a module into body and CMS blob. `Ok(None)` when it does not end with [`MAGIC`]
    /// (unsigned); an error when it does but the trailer is not what the kernel accepts.
    pub fn locate(module: &'a [u8]) -> Result<Option<ModuleSignature<'a>>, SigError> {
        let Some(rest) = module.strip_suffix(MAGIC.as_slice()) else {
            return Ok(None);
        };
        let min = ELF64_HEADER_LEN + 1 + TRAILER_LEN + MAGIC.len();
        if module.len() < min {
            return Err(SigError::TooShort { len: module.len(), min });
        }
        let (before, trailer) = rest.split_at(rest.len() - TRAILER_LEN);
        let [algo, hash, id_type, signer_len, key_id_len, pad0, pad1, pad2, l0, l1, l2, l3] = trailer else {
            return Err(SigError::TooShort { len: module.len(), min });
        };
        if *id_type != PKEY_ID_PKCS7 {
            return Err(SigError::BadIdType { id_type: *id_type });
        }
        let zero_fields =
            [("algo", algo), ("hash", hash), ("signer_len", signer_len), ("key_id_len", key_id_len)].into_iter();
        let pad_fields = [("pad", pad0), ("pad", pad1), ("pad", pad2)].into_iter();
        if let Some((field, &value)) = zero_fields.chain(pad_fields).find(|(_, v)| **v != 0) {
            return Err(SigError::BadTrailerField { field, value });
        }
        let sig_len = u32::from_be_bytes([*l0, *l1, *l2, *l3]);
        let sig_len = usize::try_from(sig_len).unwrap_or(usize::MAX);
        if sig_len == 0 {
            return Err(SigError::EmptySignature);
        }
        if sig_len > MAX_SIG_LEN {
            return Err(SigError::SigLenTooLarge { sig_len, max: MAX_SIG_LEN });
        }
        let available = before.len() - ELF64_HEADER_LEN;
        if sig_len > available {
            return Err(SigError::Truncated { sig_len, available });
        }
        let (body, cms) = before.split_at(before.len() - sig_len);
        Ok(Some(ModuleSignature { body, cms }))
    }

    /// Find and decode a module's signature. `Ok(None)` when the module is unsigned.
    pub fn parse(module: &[u8]) -> Result<Option<SigInfo>, SigError> {
        match ModuleSignature::locate(module)? {
            None => Ok(None),
            Some(sig) => sig.decode().map(Some),
        }
    }

    /// Decode the CMS blob.
    pub fn decode(&self) -> Result<SigInfo, SigError> {
        let malformed = |e: der::Error| SigError::MalformedCms { reason: e.to_string() };
        let unsupported = |reason| SigError::UnsupportedCms { reason };
        let info = ContentInfo::from_der(self.cms).map_err(malformed)?;
        if info.content_type != ID_SIGNED_DATA {
            return Err(unsupported("content type is not signed-data"));
        }
        let signed: SignedData = info.content.decode_as().map_err(malformed)?;
        if signed.encap_content_info.econtent_type != ID_DATA {
            return Err(unsupported("encapsulated content type is not data"));
        }
        if signed.encap_content_info.econtent.is_some() {
            return Err(unsupported("the content is attached, module signatures are detached"));
        }
        let mut signers = signed.signer_infos.0.iter();
        let (Some(signer), None) = (signers.next(), signers.next()) else {
            return Err(unsupported("expected exactly one signer"));
        };
        let signer_id = match &signer.sid {
            SignerIdentifier::IssuerAndSerialNumber(ias) => SignerId::IssuerAndSerial {
                issuer: ias.issuer.to_string(),
                common_name: common_name(&ias.issuer),
                serial: KeyId::new(ias.serial_number.as_bytes()),
            },
            SignerIdentifier::SubjectKeyIdentifier(skid) => SignerId::SubjectKeyId(KeyId::new(skid.0.as_bytes())),
        };
        Ok(SigInfo {
            body_len: self.body.len(),
            sig_len: self.cms.len(),
            hash: HashAlgo::from_oid(&signer.digest_alg.oid),
            digest_oid: signer.digest_alg.oid.to_string(),
            signature_algorithm_oid: signer.signature_algorithm.oid.to_string(),
            signer: signer_id,
            signature: signer.signature.as_bytes().to_vec(),
        })
    }
}

/// Whether a module ends with the signature magic (says nothing about the signature's validity).
pub fn is_signed(module: &[u8]) -> bool {
    module.ends_with(MAGIC)
}

/// The module without its appended signature; unsigned modules are returned unchanged. Errors when
/// the module ends with the magic but the trailer is malformed, since then the body's extent is
/// unknown.
pub fn strip_signature(module: &[u8]) -> Result<&[u8], SigError> {
    Ok(ModuleSignature::locate(module)?.map_or(module, |sig| sig.body))
}

/// `body || cms || trailer || magic`.
pub(crate) fn append_signature(body: &[u8], cms: &[u8]) -> Result<Vec<u8>, SigError> {
    let sig_len = u32::try_from(cms.len())
        .ok()
        .filter(|&l| l as usize <= MAX_SIG_LEN)
        .ok_or(SigError::SigLenTooLarge { sig_len: cms.len(), max: MAX_SIG_LEN })?;
    let mut out = Vec::with_capacity(body.len() + cms.len() + TRAILER_LEN + MAGIC.len());
    out.extend_from_slice(body);
    out.extend_from_slice(cms);
    out.extend_from_slice(&[0, 0, PKEY_ID_PKCS7, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&sig_len.to_be_bytes());
    out.extend_from_slice(MAGIC);
    Ok(out)
}

/// Re-encode check used by tests: the CMS decodes and re-encodes to the same bytes.
#[cfg(test)]
pub(crate) fn reencodes_identically(cms: &[u8]) -> bool {
    ContentInfo::from_der(cms).ok().and_then(|c| der::Encode::to_der(&c).ok()).as_deref() == Some(cms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_signed(cms: &[u8]) -> Vec<u8> {
        let mut body = b"\x7fELF".to_vec();
        body.resize(ELF64_HEADER_LEN + 10, 0);
        append_signature(&body, cms).unwrap()
    }

    #[test]
    fn locate_splits_body_and_cms() {
        let module = fake_signed(b"\x30\x00");
        let sig = ModuleSignature::locate(&module).unwrap().unwrap();
        assert_eq!(sig.body.len(), ELF64_HEADER_LEN + 10);
        assert_eq!(sig.cms, b"\x30\x00");
        assert_eq!(strip_signature(&module).unwrap(), sig.body);
        assert_eq!(strip_signature(b"plain").unwrap(), b"plain");
        assert!(matches!(ModuleSignature::parse(&module), Err(SigError::MalformedCms { .. })));
        assert!(!reencodes_identically(b"\x30\x00"));
    }

    #[test]
    fn trailer_checks() {
        let module = fake_signed(b"\x30\x00");
        let at = module.len() - MAGIC.len() - TRAILER_LEN;
        let with = |i: usize, v: u8| {
            let mut m = module.clone();
            m[at + i] = v;
            ModuleSignature::locate(&m).map(|s| s.map(|s| s.cms.len()))
        };
        assert_eq!(with(2, 1), Err(SigError::BadIdType { id_type: 1 }));
        assert_eq!(with(0, 4), Err(SigError::BadTrailerField { field: "algo", value: 4 }));
        assert_eq!(with(6, 9), Err(SigError::BadTrailerField { field: "pad", value: 9 }));
        assert_eq!(with(11, 0), Err(SigError::EmptySignature));
        assert_eq!(with(11, 13), Err(SigError::Truncated { sig_len: 13, available: 12 }));
        assert_eq!(with(9, 1), Err(SigError::SigLenTooLarge { sig_len: 65538, max: MAX_SIG_LEN }));
        assert_eq!(with(11, 12), Ok(Some(12)));
        assert_eq!(ModuleSignature::locate(MAGIC), Err(SigError::TooShort { len: 28, min: 105 }));
    }
}
