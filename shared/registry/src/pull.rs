//! Reading from a registry: manifests and indexes by tag or digest (raw bytes, digest verified),
//! blobs to memory or to a file (digest verified while streaming), existence checks, and tag
//! lists (following `Link` pagination).
//!
//! Every byte that comes back is checked against the digest it was asked for; a manifest fetched
//! by tag is checked against the `Docker-Content-Digest` the registry announces. A mismatch is an
//! error and nothing is kept. This module does not resolve platforms or unpack layers.

use std::io::{Read, Write};
use std::path::Path;

use sha2::{Digest as _, Sha256};
use talos_ext_model::{Digest, Reference, Repository};
use ureq::http::Method;

use crate::client::{Client, Failure, Op, ReqBody};
use crate::error::RegistryError;
use crate::push::MAX_MANIFEST_SIZE;
use crate::reporter::Reporter;

/// The `Accept` header for manifests: OCI and Docker schema 2, images and indexes.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// A manifest or index as the registry serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The `Content-Type` it was served with.
    pub media_type: String,
    /// sha256 of `bytes` (verified).
    pub digest: Digest,
    /// The exact bytes.
    pub bytes: Vec<u8>,
}

/// What a `HEAD` of a manifest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestHead {
    pub media_type: String,
    /// `Docker-Content-Digest`, if the registry sent it.
    pub digest: Option<Digest>,
    pub size: Option<u64>,
}

impl Client {
    /// `GET /v2/`: checks that the registry answers (and, with credentials, accepts them).
    pub fn ping(&self, registry: &str) -> Result<(), RegistryError> {
        let repo = Repository { registry: registry.into(), name: String::new() };
        let op = Op { repo: &repo, name: "ping", scopes: Vec::new() };
        let url = format!("{}/v2/", self.base_url(registry));
        self.retrying(|attempt| {
            let sent = self.send(&op, Method::GET, &url, &[], &ReqBody::Empty, attempt)?;
            match sent.response.status().as_u16() {
                200 => Ok(()),
                _ => Err(self.status_failure(&op, sent, attempt)),
            }
        })
    }

    /// `GET` a manifest or index by tag or digest, verified against its digest.
    pub fn get_manifest(&self, reference: &Reference) -> Result<Manifest, RegistryError> {
        let op = Op::pull(&reference.repository, "manifest get");
        let target = reference.target();
        let url = self.repo_url(&reference.repository, &format!("manifests/{target}"));
        self.retrying(|attempt| {
            let mut sent =
                self.send(&op, Method::GET, &url, &[("accept", MANIFEST_ACCEPT)], &ReqBody::Empty, attempt)?;
            match sent.response.status().as_u16() {
                200 => {}
                404 => return Err(Failure::Fatal(not_found(&op, "manifest", &target))),
                _ => return Err(self.status_failure(&op, sent, attempt)),
            }
            let headers = sent.response.headers();
            let media_type = header(headers, "content-type").unwrap_or_default();
            let announced = header(headers, "docker-content-digest");
            let bytes = match sent.response.body_mut().with_config().limit(MAX_MANIFEST_SIZE).read_to_vec() {
                Ok(bytes) => bytes,
                Err(ureq::Error::BodyExceedsLimit(_)) => {
                    return Err(Failure::Fatal(RegistryError::TooLarge {
                        registry: op.repo.registry.clone(),
                        repo: op.repo.name.clone(),
                        what: "manifest",
                        limit: MAX_MANIFEST_SIZE,
                    }));
                }
                Err(e) => return Err(self.transport_failure(&op, e, attempt)),
            };
            let digest = Digest::of(&bytes);
            let expected = match &reference.digest {
                Some(d) => Some(d.to_string()),
                None => announced,
            };
            if let Some(expected) = expected
                && expected != digest.to_string()
            {
                return Err(Failure::Fatal(mismatch(&op, "manifest", expected, &digest)));
            }
            Ok(Manifest { media_type, digest, bytes })
        })
    }

    /// `HEAD` a manifest: `None` if it does not exist.
    pub fn head_manifest(&self, reference: &Reference) -> Result<Option<ManifestHead>, RegistryError> {
        let op = Op::pull(&reference.repository, "manifest head");
        let url = self.repo_url(&reference.repository, &format!("manifests/{}", reference.target()));
        self.retrying(|attempt| {
            let sent = self.send(&op, Method::HEAD, &url, &[("accept", MANIFEST_ACCEPT)], &ReqBody::Empty, attempt)?;
            match sent.response.status().as_u16() {
                200 => {
                    let headers = sent.response.headers();
                    Ok(Some(ManifestHead {
                        media_type: header(headers, "content-type").unwrap_or_default(),
                        digest: header(headers, "docker-content-digest").and_then(|d| Digest::parse(&d).ok()),
                        size: header(headers, "content-length").and_then(|s| s.parse().ok()),
                    }))
                }
                404 => Ok(None),
                _ => Err(self.status_failure(&op, sent, attempt)),
            }
        })
    }

    /// `HEAD /blobs/<digest>`: the blob's size if the repository has it, `None` if not.
    pub fn blob_exists(&self, repo: &Repository, digest: &Digest) -> Result<Option<u64>, RegistryError> {
        self.blob_exists_as(&Op::pull(repo, "blob head"), digest)
    }

    /// [`Client::blob_exists`] with the caller's scopes (a push asks with its push token).
    pub(crate) fn blob_exists_as(&self, op: &Op<'_>, digest: &Digest) -> Result<Option<u64>, RegistryError> {
        let (op, repo) = (op.clone(), op.repo);
        let url = self.repo_url(repo, &format!("blobs/{digest}"));
        self.retrying(|attempt| {
            let sent = self.send(&op, Method::HEAD, &url, &[], &ReqBody::Empty, attempt)?;
            match sent.response.status().as_u16() {
                200 => Ok(Some(
                    header(sent.response.headers(), "content-length").and_then(|s| s.parse().ok()).unwrap_or(0),
                )),
                404 => Ok(None),
                _ => Err(self.status_failure(&op, sent, attempt)),
            }
        })
    }

    /// `GET` a blob into memory (at most `max_size` bytes), verified against `digest`.
    pub fn get_blob(&self, repo: &Repository, digest: &Digest, max_size: u64) -> Result<Vec<u8>, RegistryError> {
        let mut out = Vec::new();
        self.get_blob_into(repo, digest, Some(max_size), &mut out, None)?;
        Ok(out)
    }

    /// `GET` a blob into the file `dest` (written through a temporary file next to it, renamed
    /// into place only when the digest matches). Returns its size.
    pub fn get_blob_to_file(
        &self,
        repo: &Repository,
        digest: &Digest,
        dest: &Path,
        reporter: &dyn Reporter,
    ) -> Result<u64, RegistryError> {
        let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let mut temp =
            tempfile::NamedTempFile::new_in(parent).map_err(RegistryError::io("create a temp file in", parent))?;
        let size = self.get_blob_into(repo, digest, None, temp.as_file_mut(), Some(reporter))?;
        temp.as_file_mut().sync_all().map_err(RegistryError::io("sync", temp.path()))?;
        temp.persist(dest).map_err(|e| RegistryError::Io {
            action: "rename into",
            path: dest.into(),
            error: e.error,
        })?;
        Ok(size)
    }

    /// Streams a blob into `out`, hashing as it goes; a retry truncates what was written.
    fn get_blob_into<W: Write + Truncate>(
        &self,
        repo: &Repository,
        digest: &Digest,
        max_size: Option<u64>,
        out: &mut W,
        reporter: Option<&dyn Reporter>,
    ) -> Result<u64, RegistryError> {
        let op = Op::pull(repo, "blob get");
        let url = self.repo_url(repo, &format!("blobs/{digest}"));
        self.retrying(|attempt| {
            out.truncate().map_err(RegistryError::io("truncate", "blob output"))?;
            let mut sent = self.send(&op, Method::GET, &url, &[], &ReqBody::Empty, attempt)?;
            match sent.response.status().as_u16() {
                200 => {}
                404 => return Err(Failure::Fatal(not_found(&op, "blob", &digest.to_string()))),
                _ => return Err(self.status_failure(&op, sent, attempt)),
            }
            let total = sent.response.body().content_length();
            if let (Some(total), Some(max)) = (total, max_size)
                && total > max
            {
                return Err(Failure::Fatal(too_large(&op, max)));
            }
            let id = reporter.map(|r| r.start(&format!("pull blob {digest}"), total));
            let result = copy_hashing(sent.response.body_mut().as_reader(), out, max_size, |n| {
                if let (Some(r), Some(id)) = (reporter, id) {
                    r.progress(id, n);
                }
            });
            if let (Some(r), Some(id)) = (reporter, id) {
                r.finish(id);
            }
            let (actual, size) = match result {
                Ok(done) => done,
                Err(CopyError::TooLarge) => return Err(Failure::Fatal(too_large(&op, max_size.unwrap_or(0)))),
                Err(CopyError::Write(e)) => {
                    return Err(Failure::Fatal(RegistryError::Io {
                        action: "write",
                        path: "blob output".into(),
                        error: e,
                    }));
                }
                Err(CopyError::Read(e)) => {
                    return Err(self.transport_failure(&op, ureq::Error::Io(e), attempt));
                }
            };
            if &actual != digest {
                return Err(Failure::Fatal(mismatch(&op, "blob", digest.to_string(), &actual)));
            }
            Ok(size)
        })
    }

    /// `GET /tags/list`, following `Link: <...>; rel="next"` pages.
    pub fn list_tags(&self, repo: &Repository) -> Result<Vec<String>, RegistryError> {
        #[derive(serde::Deserialize)]
        struct TagList {
            tags: Option<Vec<String>>,
        }
        let op = Op::pull(repo, "tag list");
        let mut url = self.repo_url(repo, "tags/list");
        let mut tags = Vec::new();
        loop {
            let (page, next) = self.retrying(|attempt| {
                let mut sent = self.send(&op, Method::GET, &url, &[], &ReqBody::Empty, attempt)?;
                match sent.response.status().as_u16() {
                    200 => {}
                    404 => return Err(Failure::Fatal(not_found(&op, "repository", &repo.name))),
                    _ => return Err(self.status_failure(&op, sent, attempt)),
                }
                let next = header(sent.response.headers(), "link").and_then(|l| next_link(&l));
                let bytes = sent
                    .response
                    .body_mut()
                    .with_config()
                    .limit(MAX_MANIFEST_SIZE)
                    .read_to_vec()
                    .map_err(|e| self.transport_failure(&op, e, attempt))?;
                let list: TagList = serde_json::from_slice(&bytes)
                    .map_err(|e| Failure::Fatal(self.protocol_error(&op, format!("invalid tag list: {e}"))))?;
                Ok((list.tags.unwrap_or_default(), next))
            })?;
            tags.extend(page);
            match next {
                Some(next) => url = self.resolve_location(repo, &next),
                None => return Ok(tags),
            }
        }
    }
}

/// Output that can be reset for a retry.
trait Truncate {
    fn truncate(&mut self) -> std::io::Result<()>;
}

impl Truncate for Vec<u8> {
    fn truncate(&mut self) -> std::io::Result<()> {
        self.clear();
        Ok(())
    }
}

impl Truncate for std::fs::File {
    fn truncate(&mut self) -> std::io::Result<()> {
        use std::io::Seek;
        self.set_len(0)?;
        self.rewind()
    }
}

enum CopyError {
    Read(std::io::Error),
    Write(std::io::Error),
    TooLarge,
}

fn copy_hashing(
    mut reader: impl Read,
    out: &mut impl Write,
    max_size: Option<u64>,
    mut progress: impl FnMut(u64),
) -> Result<(Digest, u64), CopyError> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(CopyError::Read)?;
        if n == 0 {
            return Ok((Digest::from_hasher(hasher), size));
        }
        size += n as u64;
        if max_size.is_some_and(|max| size > max) {
            return Err(CopyError::TooLarge);
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(CopyError::Write)?;
        progress(n as u64);
    }
}

/// The target of `Link: </v2/x/tags/list?n=..&last=..>; rel="next"`.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find(|part| part.contains("rel=\"next\"") || part.contains("rel=next")).and_then(|part| {
        let start = part.find('<')? + 1;
        let end = part.find('>')?;
        Some(part[start..end].to_string())
    })
}

fn header(headers: &ureq::http::HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn not_found(op: &Op<'_>, what: &'static str, reference: &str) -> RegistryError {
    RegistryError::NotFound {
        registry: op.repo.registry.clone(),
        repo: op.repo.name.clone(),
        what,
        reference: reference.into(),
    }
}

fn too_large(op: &Op<'_>, limit: u64) -> RegistryError {
    RegistryError::TooLarge { registry: op.repo.registry.clone(), repo: op.repo.name.clone(), what: "blob", limit }
}

fn mismatch(op: &Op<'_>, what: &'static str, expected: String, actual: &Digest) -> RegistryError {
    RegistryError::DigestMismatch {
        registry: op.repo.registry.clone(),
        repo: op.repo.name.clone(),
        what,
        expected,
        actual: actual.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_next_links() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(next_link(r#"</x>; rel="prev""#), None);
    }
}
