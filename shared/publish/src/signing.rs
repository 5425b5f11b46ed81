//! Cosign-compatible signatures in the registry: sign an image by digest and push the signature
//! image under `sha256-<hex>.sig` in the same repository ([`sign_reference`]), and check one
//! ([`verify_reference`]). The signature bytes come from `talos-ext-sign`; this module only moves
//! them through the registry client.

use talos_ext_registry::{Client, Digest, Reference, Reporter};
use talos_ext_sign::{PublicKey, SignatureManifest, SigningKey, VerifiedSignature, sign_image, verify};

use crate::error::PublishError;

/// Payload blobs larger than this are not fetched (cosign's are a few hundred bytes).
const MAX_PAYLOAD: u64 = 1 << 20;

/// The digest `reference` names: its own, or the registry's for its tag.
pub fn resolve_digest(client: &Client, reference: &Reference) -> Result<Digest, PublishError> {
    if let Some(d) = &reference.digest {
        return Ok(d.clone());
    }
    Ok(client.get_manifest(reference)?.digest)
}

/// Signs `reference` (resolved to its digest) with `key` and pushes the signature image. Returns
/// the pinned signed reference and the signature tag's reference.
pub fn sign_reference(
    client: &Client,
    key: &SigningKey,
    reference: &Reference,
    reporter: &dyn Reporter,
) -> Result<(Reference, Reference), PublishError> {
    let digest = resolve_digest(client, reference)?;
    let sig = sign_image(key, &reference.repository, &digest);
    let target = Reference::tagged(reference.repository.clone(), &sig.tag)?;
    let pushed = client.push_image_parts(
        &target,
        sig.manifest.media_type,
        &sig.manifest.bytes,
        &[&sig.config.bytes, &sig.payload.bytes],
        reporter,
    )?;
    let signed = Reference { digest: Some(digest), ..reference.clone() };
    Ok((signed, Reference { digest: Some(pushed), ..target }))
}

/// Checks that `reference` (resolved to its digest) carries a signature by `key` for its
/// repository: fetches `sha256-<hex>.sig`, then each simple-signing payload, until one verifies.
pub fn verify_reference(
    client: &Client,
    key: &PublicKey,
    reference: &Reference,
) -> Result<VerifiedSignature, PublishError> {
    let digest = resolve_digest(client, reference)?;
    let tag = talos_ext_sign::signature_tag(&digest);
    let sig_ref = Reference::tagged(reference.repository.clone(), &tag)?;
    let pinned = Reference { digest: Some(digest.clone()), ..reference.clone() }.to_string();
    let manifest = match client.get_manifest(&sig_ref) {
        Ok(m) => m,
        Err(talos_ext_registry::RegistryError::NotFound { .. }) => {
            return Err(PublishError::Unsigned { reference: pinned, tag });
        }
        Err(e) => return Err(e.into()),
    };
    let parsed = SignatureManifest::parse(&manifest.bytes)
        .map_err(|cause| PublishError::Signature { reference: pinned.clone(), cause })?;
    let mut last = None;
    for layer in &parsed.layers {
        let layer_digest = Digest::parse(&layer.digest)?;
        let payload = client.get_blob(&reference.repository, &layer_digest, MAX_PAYLOAD)?;
        match verify(&manifest.bytes, &payload, key, &digest, Some(&reference.repository)) {
            Ok(ok) => return Ok(ok),
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(source) => Err(PublishError::Signature { reference: pinned, cause: source }),
        None => Err(PublishError::Unsigned { reference: pinned, tag }),
    }
}
