//! Offline, cosign-compatible, key-based signatures of extension images.
//!
//! `cosign sign --key` stores a signature of an image `<repo>@sha256:<hex>` as a small OCI image
//! of its own, tagged `sha256-<hex>.sig` in the same repository. Its one layer is the
//! *simple-signing payload* (a JSON claim naming the repository and the manifest digest), and the
//! layer's `dev.cosignproject.cosign/signature` annotation is the base64 of an ASN.1 DER ECDSA
//! P-256 signature over the payload's bytes (SHA-256). This crate writes and checks exactly that,
//! without Fulcio, Rekor or any network access:
//!
//! - keys ([`SigningKey`], [`PublicKey`]): PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY`, SPKI
//!   `PUBLIC KEY`, and cosign's own password-encrypted `ENCRYPTED SIGSTORE PRIVATE KEY` (scrypt +
//!   NaCl secretbox; the password comes from `COSIGN_PASSWORD`, see [`COSIGN_PASSWORD_ENV`]);
//! - the payload ([`Payload`]), byte-identical to what `cosign sign` and `cosign generate` write;
//! - the signature image ([`sign_image`] → [`SignatureImage`]): manifest, config and layer bytes
//!   plus the tag, byte-identical in layout to cosign's own (the push is the caller's job);
//! - verification ([`verify`]) of a signature manifest plus a payload blob against a public key
//!   and the expected image digest, with a distinct [`VerifyError`] for each way it can fail.
//!
//! ```
//! use talos_ext_model::{Digest, Repository};
//! use talos_ext_sign::{SigningKey, sign_image, verify};
//!
//! let key = SigningKey::generate();
//! let repo = Repository::parse("ghcr.io/example/hello").unwrap();
//! let digest = Digest::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap();
//! let sig = sign_image(&key, &repo, &digest);
//! assert_eq!(sig.tag, format!("sha256-{}.sig", "ab".repeat(32)));
//! let checked = verify(&sig.manifest.bytes, &sig.payload.bytes, &key.public_key(), &digest, Some(&repo)).unwrap();
//! assert_eq!(checked.docker_reference, "ghcr.io/example/hello");
//! ```
//!
//! [`testing::fetch_cosign`] gets the real `cosign` binary (from Debian) for interoperability tests.
//!
//! Not covered: keyless signing, transparency-log entries, bundles and attestations, RSA and
//! Ed25519 keys, and merging with signatures already stored under the same tag (cosign appends a
//! layer per signature; the image built here holds exactly one).

mod cosign_key;
mod error;
mod image;
mod key;
mod payload;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{KeyError, SignatureCheck, VerifyError};
pub use image::{
    ANNOTATION_SIGNATURE, Blob, MEDIA_TYPE_SIMPLE_SIGNING, SignatureImage, SignatureLayer, SignatureManifest,
    VerifiedSignature, sign_image, signature_tag, verify,
};
pub use key::{COSIGN_PASSWORD_ENV, PublicKey, SigningKey};
pub use payload::{COSIGN_SIGNATURE_TYPE, Payload};
