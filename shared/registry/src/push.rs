//! Pushing an OCI image layout (as `talos_ext_image::write_layout` writes it) to
//! `<registry>/<repo>:<tag>`, byte for byte.
//!
//! Order: every blob (configs and layers) first, then each per-arch manifest by digest, then the
//! index under the tag, last. A push that fails part-way therefore never leaves the tag pointing
//! at a missing blob or manifest; the registry also refuses manifests whose blobs are missing.
//!
//! Per blob: `HEAD` in the target repository (present: skipped); else, if the caller named
//! candidate repositories, `HEAD` there and a cross-repository mount from the first that has it;
//! else a monolithic upload (`POST` for a session, `PUT ?digest=` streaming the file). A failed
//! upload attempt is restarted from a new session. Manifests and the index are sent as the exact
//! bytes in the layout with their media type, and the digest the registry reports is checked.
//! Blobs are pushed one after another; this module does not sign, and it does not delete tags.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use talos_ext_image::Layout;
use talos_ext_image::spec::{Descriptor, INDEX_FILE, ImageIndex, ImageManifest, MEDIA_TYPE_INDEX};
use talos_ext_model::{Digest, Reference, ReferenceError, Repository};
use ureq::http::Method;

use crate::client::{Client, Failure, Op, ReqBody, Sent};
use crate::error::RegistryError;
use crate::reporter::Reporter;

/// Manifests and indexes larger than this are refused (the distribution registry's own limit).
pub const MAX_MANIFEST_SIZE: u64 = 4 << 20;

/// Options of [`Client::push_layout`].
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// Repositories in the same registry to mount missing blobs from (e.g. the previous version
    /// of the extension, or a sibling), tried in order.
    pub mount_from: Vec<String>,
}

/// What [`Client::push_layout`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSummary {
    /// `registry/repo:tag@sha256:<index digest>`: the reference to pin.
    pub reference: Reference,
    /// sha256 of the index bytes, the image digest.
    pub index_digest: Digest,
    /// Per-arch manifests pushed (by digest).
    pub manifests: usize,
    pub blobs_uploaded: usize,
    pub blobs_skipped: usize,
    pub blobs_mounted: usize,
    pub bytes_uploaded: u64,
    pub bytes_skipped: u64,
    pub bytes_mounted: u64,
    /// Attempts retried during this push.
    pub retries: u32,
}

/// How a blob came to be in the target repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlobOutcome {
    Skipped,
    Mounted,
    Uploaded,
}

/// A manifest of the layout: its descriptor, exact bytes, and blobs.
struct LayoutManifest {
    descriptor: Descriptor,
    digest: Digest,
    bytes: Vec<u8>,
    parsed: ImageManifest,
}

impl Client {
    /// Pushes the OCI layout at `layout_dir` to `target`, which needs a tag (and may carry the
    /// expected index digest). Returns the pinned reference and counts.
    pub fn push_layout(
        &self,
        layout_dir: &Path,
        target: &Reference,
        options: &PushOptions,
        reporter: &dyn Reporter,
    ) -> Result<PushSummary, RegistryError> {
        let retries_before = self.retries();
        let layout = Layout::open(layout_dir)?;
        let index_path = layout_dir.join(INDEX_FILE);
        let index_bytes = fs::read(&index_path).map_err(RegistryError::io("read", &index_path))?;
        let index_digest = Digest::of(&index_bytes);
        if index_digest.hex() != layout.index_digest() {
            return Err(layout_blob(&index_digest, &index_path, "index.json changed while the push started"));
        }
        if let Some(expected) = &target.digest
            && expected != &index_digest
        {
            return Err(layout_blob(&index_digest, &index_path, &format!("the target asks for digest {expected}")));
        }
        let Some(tag) = &target.tag else {
            return Err(RegistryError::InvalidReference(ReferenceError {
                what: "image reference",
                value: target.to_string(),
                reason: "pushing needs a tag (`:<tag>`)".into(),
            }));
        };
        let index: ImageIndex = serde_json::from_slice(&index_bytes)
            .map_err(|e| layout_blob(&index_digest, &index_path, &format!("invalid json: {e}")))?;
        let index_media_type = index.media_type.clone().unwrap_or_else(|| MEDIA_TYPE_INDEX.to_string());
        let manifests = index.manifests.iter().map(|d| read_manifest(&layout, d)).collect::<Result<Vec<_>, _>>()?;

        let repo = &target.repository;
        let mut summary = PushSummary {
            reference: Reference { digest: Some(index_digest.clone()), ..target.clone() },
            index_digest: index_digest.clone(),
            manifests: 0,
            blobs_uploaded: 0,
            blobs_skipped: 0,
            blobs_mounted: 0,
            bytes_uploaded: 0,
            bytes_skipped: 0,
            bytes_mounted: 0,
            retries: 0,
        };

        // 1. Blobs, each once.
        let mut seen = BTreeSet::new();
        for manifest in &manifests {
            let arch = manifest.descriptor.platform.as_ref().map_or("", |p| p.architecture.as_str());
            let blobs = std::iter::once((&manifest.parsed.config, "config"))
                .chain(manifest.parsed.layers.iter().map(|l| (l, "layer")));
            for (desc, kind) in blobs {
                let digest = parse_digest(desc, layout_dir)?;
                if !seen.insert(digest.clone()) {
                    continue;
                }
                let path = layout.blob_path(desc)?;
                check_blob_file(&path, desc, &digest)?;
                let label = format!("{kind} {}", short(&digest)) + if arch.is_empty() { "" } else { " " } + arch;
                match self.ensure_blob(repo, &digest, &path, desc.size, &options.mount_from, &label, reporter)? {
                    BlobOutcome::Skipped => (summary.blobs_skipped += 1, summary.bytes_skipped += desc.size),
                    BlobOutcome::Mounted => (summary.blobs_mounted += 1, summary.bytes_mounted += desc.size),
                    BlobOutcome::Uploaded => (summary.blobs_uploaded += 1, summary.bytes_uploaded += desc.size),
                };
            }
        }

        // 2. Per-arch manifests, by digest.
        for manifest in &manifests {
            self.put_manifest(
                repo,
                &manifest.digest.to_string(),
                &manifest.descriptor.media_type,
                &manifest.bytes,
                &manifest.digest,
                reporter,
            )?;
            summary.manifests += 1;
        }

        // 3. The index under the tag: the only step that makes the push visible.
        self.put_manifest(repo, tag, &index_media_type, &index_bytes, &index_digest, reporter)?;
        summary.retries = self.retries() - retries_before;
        Ok(summary)
    }

    /// Makes sure `digest` is in `repo`: skipped, mounted or uploaded.
    #[allow(clippy::too_many_arguments)]
    fn ensure_blob(
        &self,
        repo: &Repository,
        digest: &Digest,
        path: &Path,
        size: u64,
        mount_from: &[String],
        label: &str,
        reporter: &dyn Reporter,
    ) -> Result<BlobOutcome, RegistryError> {
        // With the push scope, so a token registry issues one token for the whole push.
        if self.blob_exists_as(&Op::push(repo, "blob head"), digest)?.is_some() {
            return Ok(BlobOutcome::Skipped);
        }
        let mut session = None;
        for from in mount_from.iter().filter(|f| **f != repo.name) {
            let source = Repository::new(&repo.registry, from)?;
            // A source we may not read is no source: try the next one.
            match self.blob_exists(&source, digest) {
                Ok(Some(_)) => {}
                Ok(None) | Err(RegistryError::Unauthorized { .. }) => continue,
                Err(e) => return Err(e),
            }
            match self.mount_blob(repo, from, digest)? {
                None => return Ok(BlobOutcome::Mounted),
                Some(location) => {
                    session = Some(location);
                    break;
                }
            }
        }
        self.upload_blob(repo, digest, BlobSource::File(path), size, session, label, reporter)?;
        Ok(BlobOutcome::Uploaded)
    }

    /// `POST /blobs/uploads/?mount=&from=`: `None` when mounted (201), else the upload session
    /// the registry opened instead (202).
    fn mount_blob(&self, repo: &Repository, from: &str, digest: &Digest) -> Result<Option<String>, RegistryError> {
        let mut op = Op::push(repo, "blob mount");
        op.scopes.push(format!("repository:{from}:pull"));
        let url =
            self.repo_url(repo, &format!("blobs/uploads/?mount={digest}&from={}", crate::client::percent_encode(from)));
        self.retrying(|attempt| {
            let sent = self.send(&op, Method::POST, &url, &[("content-length", "0")], &ReqBody::Empty, attempt)?;
            match sent.response.status().as_u16() {
                201 => Ok(None),
                202 => Ok(Some(location(self, &op, &sent)?)),
                _ => Err(self.status_failure(&op, sent, attempt)),
            }
        })
    }

    /// Monolithic upload: `POST` a session (or use `session`), then `PUT ?digest=` the file.
    #[allow(clippy::too_many_arguments)]
    fn upload_blob(
        &self,
        repo: &Repository,
        digest: &Digest,
        source: BlobSource<'_>,
        size: u64,
        mut session: Option<String>,
        label: &str,
        reporter: &dyn Reporter,
    ) -> Result<(), RegistryError> {
        let op = Op::push(repo, "blob upload");
        let start_url = self.repo_url(repo, "blobs/uploads/");
        self.retrying(|attempt| {
            let location = match session.take() {
                Some(location) => location,
                None => {
                    let sent =
                        self.send(&op, Method::POST, &start_url, &[("content-length", "0")], &ReqBody::Empty, attempt)?;
                    if sent.response.status().as_u16() != 202 {
                        return Err(self.status_failure(&op, sent, attempt));
                    }
                    location(self, &op, &sent)?
                }
            };
            let sep = if location.contains('?') { '&' } else { '?' };
            let url = format!("{location}{sep}digest={digest}");
            let id = reporter.start(&format!("push {label}"), Some(size));
            let body = match source {
                BlobSource::File(path) => ReqBody::File { path, size, progress: Some((reporter, id)) },
                BlobSource::Bytes(bytes) => ReqBody::Bytes(bytes),
            };
            let result =
                self.send(&op, Method::PUT, &url, &[("content-type", "application/octet-stream")], &body, attempt);
            reporter.finish(id);
            let sent = result?;
            if sent.response.status().as_u16() != 201 {
                return Err(self.status_failure(&op, sent, attempt));
            }
            check_reported_digest(&op, &sent, digest, "blob")?;
            Ok(())
        })
    }

    /// `PUT /manifests/<reference>` with the exact bytes; checks the digest the registry reports.
    fn put_manifest(
        &self,
        repo: &Repository,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
        digest: &Digest,
        reporter: &dyn Reporter,
    ) -> Result<(), RegistryError> {
        let op = Op::push(repo, "manifest push");
        let url = self.repo_url(repo, &format!("manifests/{reference}"));
        self.retrying(|attempt| {
            let id =
                reporter.start(&format!("push manifest {} ({reference})", short(digest)), Some(bytes.len() as u64));
            let result =
                self.send(&op, Method::PUT, &url, &[("content-type", media_type)], &ReqBody::Bytes(bytes), attempt);
            if result.is_ok() {
                reporter.progress(id, bytes.len() as u64);
            }
            reporter.finish(id);
            let sent = result?;
            if sent.response.status().as_u16() != 201 {
                return Err(self.status_failure(&op, sent, attempt));
            }
            check_reported_digest(&op, &sent, digest, "manifest")?;
            Ok(())
        })
    }
}

/// Where the bytes of a blob to upload come from.
#[derive(Clone, Copy)]
enum BlobSource<'a> {
    File(&'a Path),
    Bytes(&'a [u8]),
}

impl Client {
    /// Pushes a small image held in memory, such as a cosign signature image: every blob of
    /// `blobs` that `target`'s repository lacks (`HEAD` first, then a monolithic upload), then
    /// `manifest` (exact bytes, `media_type`) under `target`'s tag, or by digest when it has none,
    /// last, so the tag never points at missing blobs. The caller lists every blob the manifest
    /// references; the registry refuses the manifest otherwise. Returns the manifest's digest.
    pub fn push_image_parts(
        &self,
        target: &Reference,
        media_type: &str,
        manifest: &[u8],
        blobs: &[&[u8]],
        reporter: &dyn Reporter,
    ) -> Result<Digest, RegistryError> {
        let repo = &target.repository;
        let digest = Digest::of(manifest);
        if let Some(expected) = &target.digest
            && expected != &digest
        {
            return Err(RegistryError::InvalidReference(ReferenceError {
                what: "image reference",
                value: target.to_string(),
                reason: format!("the manifest to push has digest {digest}"),
            }));
        }
        if manifest.len() as u64 > MAX_MANIFEST_SIZE {
            return Err(RegistryError::TooLarge {
                registry: repo.registry.clone(),
                repo: repo.name.clone(),
                what: "manifest",
                limit: MAX_MANIFEST_SIZE,
            });
        }
        let mut seen = BTreeSet::new();
        for bytes in blobs {
            let blob_digest = Digest::of(bytes);
            if !seen.insert(blob_digest.clone()) {
                continue;
            }
            if self.blob_exists_as(&Op::push(repo, "blob head"), &blob_digest)?.is_some() {
                continue;
            }
            let label = format!("blob {}", short(&blob_digest));
            self.upload_blob(repo, &blob_digest, BlobSource::Bytes(bytes), bytes.len() as u64, None, &label, reporter)?;
        }
        let reference = target.tag.clone().unwrap_or_else(|| digest.to_string());
        self.put_manifest(repo, &reference, media_type, manifest, &digest, reporter)?;
        Ok(digest)
    }
}

fn location(client: &Client, op: &Op<'_>, sent: &Sent) -> Result<String, Failure> {
    let location = sent.response.headers().get("location").and_then(|v| v.to_str().ok());
    match location {
        Some(location) => Ok(client.resolve_location(op.repo, location)),
        None => Err(Failure::Fatal(client.protocol_error(op, "upload session without a `Location` header"))),
    }
}

/// The registry's `Docker-Content-Digest`, when it sends one, must be the digest we pushed.
fn check_reported_digest(op: &Op<'_>, sent: &Sent, expected: &Digest, what: &'static str) -> Result<(), Failure> {
    let reported = sent.response.headers().get("docker-content-digest").and_then(|v| v.to_str().ok());
    match reported {
        Some(reported) if reported != expected.to_string() => Err(Failure::Fatal(RegistryError::DigestMismatch {
            registry: op.repo.registry.clone(),
            repo: op.repo.name.clone(),
            what,
            expected: expected.to_string(),
            actual: reported.to_string(),
        })),
        _ => Ok(()),
    }
}

fn read_manifest(layout: &Layout, desc: &Descriptor) -> Result<LayoutManifest, RegistryError> {
    let digest = parse_digest(desc, layout.dir())?;
    let path = layout.blob_path(desc)?;
    if desc.media_type == MEDIA_TYPE_INDEX {
        return Err(layout_blob(&digest, &path, "nested indexes are not pushed"));
    }
    if desc.size > MAX_MANIFEST_SIZE {
        return Err(layout_blob(&digest, &path, &format!("manifest larger than {MAX_MANIFEST_SIZE} bytes")));
    }
    let mut bytes = Vec::new();
    fs::File::open(&path)
        .and_then(|f| f.take(MAX_MANIFEST_SIZE + 1).read_to_end(&mut bytes))
        .map_err(RegistryError::io("read manifest", &path))?;
    let actual = Digest::of(&bytes);
    if actual != digest || bytes.len() as u64 != desc.size {
        return Err(layout_blob(
            &digest,
            &path,
            &format!("found {} bytes with digest {actual}, expected {} bytes", bytes.len(), desc.size),
        ));
    }
    let parsed: ImageManifest =
        serde_json::from_slice(&bytes).map_err(|e| layout_blob(&digest, &path, &format!("invalid manifest: {e}")))?;
    Ok(LayoutManifest { descriptor: desc.clone(), digest, bytes, parsed })
}

fn parse_digest(desc: &Descriptor, dir: &Path) -> Result<Digest, RegistryError> {
    Digest::parse(&desc.digest).map_err(|_| RegistryError::LayoutBlob {
        digest: desc.digest.clone(),
        path: dir.to_path_buf(),
        reason: "unsupported digest (expected sha256:<64 hex digits>)".into(),
    })
}

/// The blob file must exist with the descriptor's size (its content is checked by the registry).
fn check_blob_file(path: &Path, desc: &Descriptor, digest: &Digest) -> Result<(), RegistryError> {
    let meta = fs::metadata(path).map_err(RegistryError::io("stat blob", path))?;
    if meta.len() != desc.size {
        return Err(layout_blob(
            digest,
            path,
            &format!("file has {} bytes, descriptor says {}", meta.len(), desc.size),
        ));
    }
    Ok(())
}

fn layout_blob(digest: &Digest, path: &Path, reason: &str) -> RegistryError {
    RegistryError::LayoutBlob { digest: digest.to_string(), path: PathBuf::from(path), reason: reason.into() }
}

/// `sha256:0123456789ab`, for progress labels.
fn short(digest: &Digest) -> String {
    format!("sha256:{}", &digest.hex().as_str()[..12])
}
