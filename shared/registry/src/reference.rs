//! Image references (`host[:port]/repo/path[:tag][@sha256:<hex>]`) and OCI digests, parsed once.
//!
//! Parsing follows the distribution reference grammar closely enough for our registries: the
//! first path component is always the registry host (no implicit `docker.io`), repository path
//! components are lowercase alphanumerics with `.`, `_`, `__` or `-` separators, and a tag is at
//! most 128 characters of `[A-Za-z0-9_.-]` not starting with `.` or `-`. Only sha256 digests exist
//! here. This module does no I/O and knows nothing about HTTP.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256 as Sha256Hasher};
use talos_ext_model::Sha256;

use crate::error::RegistryError;

/// An OCI content digest, `sha256:<64 lowercase hex>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(Sha256);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest::from_hasher(Sha256Hasher::new_with_prefix(bytes))
    }

    pub(crate) fn from_hasher(hasher: Sha256Hasher) -> Digest {
        let hex = hex::encode(hasher.finalize());
        // A sha256 is always 64 lowercase hex digits.
        Digest(Sha256::parse(&hex).unwrap_or_else(|_| unreachable!("hex::encode of sha256")))
    }

    /// Parses `sha256:<hex>`.
    pub fn parse(s: &str) -> Result<Digest, RegistryError> {
        let invalid = |reason: &str| RegistryError::InvalidReference { reference: s.into(), reason: reason.into() };
        let hex = s.strip_prefix("sha256:").ok_or_else(|| invalid("a digest must start with `sha256:`"))?;
        Sha256::parse(hex).map(Digest).map_err(|e| invalid(&e.to_string()))
    }

    /// The hex part.
    pub fn hex(&self) -> &Sha256 {
        &self.0
    }
}

impl From<Sha256> for Digest {
    fn from(hex: Sha256) -> Digest {
        Digest(hex)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.0)
    }
}

impl FromStr for Digest {
    type Err = RegistryError;
    fn from_str(s: &str) -> Result<Digest, RegistryError> {
        Digest::parse(s)
    }
}

/// A repository in a registry: `host[:port]/path`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repository {
    /// `host[:port]`, as written (e.g. `ghcr.io`, `127.0.0.1:5000`, `[::1]:5000`).
    pub registry: String,
    /// The repository path inside the registry (e.g. `siderolabs/gvisor`).
    pub name: String,
}

impl Repository {
    /// Checks both parts.
    pub fn new(registry: &str, name: &str) -> Result<Repository, RegistryError> {
        let full = format!("{registry}/{name}");
        check_registry(registry).map_err(|reason| invalid(&full, reason))?;
        check_name(name).map_err(|reason| invalid(&full, reason))?;
        Ok(Repository { registry: registry.into(), name: name.into() })
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.name)
    }
}

/// A full image reference: a repository plus a tag, a digest, or both (`repo:tag@digest`, where
/// the digest wins when resolving).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    pub repository: Repository,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl Reference {
    /// `repository:tag`.
    pub fn tagged(repository: Repository, tag: &str) -> Result<Reference, RegistryError> {
        check_tag(tag).map_err(|reason| invalid(&format!("{repository}:{tag}"), reason))?;
        Ok(Reference { repository, tag: Some(tag.into()), digest: None })
    }

    /// `repository@digest`.
    pub fn by_digest(repository: Repository, digest: Digest) -> Reference {
        Reference { repository, tag: None, digest: Some(digest) }
    }

    /// What to put after `/manifests/`: the digest if there is one, else the tag. Parsing refuses
    /// a reference with neither; one built by hand with neither means `latest`.
    pub fn target(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".into(),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = RegistryError;
    fn from_str(s: &str) -> Result<Reference, RegistryError> {
        let (rest, digest) = match s.split_once('@') {
            Some((rest, d)) => (rest, Some(Digest::parse(d).map_err(|_| invalid(s, "invalid digest after `@`"))?)),
            None => (s, None),
        };
        let (registry, path) =
            rest.split_once('/').ok_or_else(|| invalid(s, "expected `host[:port]/repository[:tag]`"))?;
        // A `:` after the last `/` separates the tag (a `:` before it belongs to the port).
        let (name, tag) = match path.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => (name, Some(tag)),
            _ => (path, None),
        };
        let repository = Repository::new(registry, name).map_err(|_| {
            let reason = check_registry(registry).err().or_else(|| check_name(name).err()).unwrap_or("invalid");
            invalid(s, reason)
        })?;
        if let Some(tag) = tag {
            check_tag(tag).map_err(|reason| invalid(s, reason))?;
        }
        if tag.is_none() && digest.is_none() {
            return Err(invalid(s, "a tag (`:<tag>`) or a digest (`@sha256:<hex>`) is required"));
        }
        Ok(Reference { repository, tag: tag.map(str::to_string), digest })
    }
}

fn invalid(reference: &str, reason: &str) -> RegistryError {
    RegistryError::InvalidReference { reference: reference.into(), reason: reason.into() }
}

fn check_registry(registry: &str) -> Result<(), &'static str> {
    let ok = !registry.is_empty()
        && registry.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        && !registry.starts_with(['-', '.', ':']);
    if ok { Ok(()) } else { Err("invalid registry host (expected `host[:port]`)") }
}

fn check_name(name: &str) -> Result<(), &'static str> {
    const REASON: &str =
        "invalid repository name: path components of lowercase letters and digits, separated by `.`, `_`, `__` or `-`";
    if name.is_empty() || name.len() > 255 {
        return Err(REASON);
    }
    for component in name.split('/') {
        let bytes = component.as_bytes();
        let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if bytes.is_empty() || !alnum(&bytes[0]) || !alnum(&bytes[bytes.len() - 1]) {
            return Err(REASON);
        }
        // Separators: one `.`, one or two `_`, or any number of `-`, always between alphanumerics.
        let mut i = 0;
        while i < bytes.len() {
            if alnum(&bytes[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && !alnum(&bytes[i]) {
                i += 1;
            }
            let sep = &component[start..i];
            let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
            if !ok {
                return Err(REASON);
            }
        }
    }
    Ok(())
}

fn check_tag(tag: &str) -> Result<(), &'static str> {
    let ok = !tag.is_empty()
        && tag.len() <= 128
        && !tag.starts_with(['.', '-'])
        && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok { Ok(()) } else { Err("invalid tag: up to 128 of `[A-Za-z0-9_.-]`, not starting with `.` or `-`") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references() {
        let r: Reference = "127.0.0.1:5000/siderolabs/hello-world:v1.2.3".parse().unwrap();
        assert_eq!(r.repository.registry, "127.0.0.1:5000");
        assert_eq!(r.repository.name, "siderolabs/hello-world");
        assert_eq!(r.tag.as_deref(), Some("v1.2.3"));
        assert_eq!(r.target(), "v1.2.3");
        assert_eq!(r.to_string(), "127.0.0.1:5000/siderolabs/hello-world:v1.2.3");

        let d = format!("sha256:{}", "a".repeat(64));
        let r: Reference = format!("ghcr.io/a/b:1@{d}").parse().unwrap();
        assert_eq!(r.target(), d);
        assert_eq!(r.to_string(), format!("ghcr.io/a/b:1@{d}"));
        let r: Reference = format!("[::1]:5000/x__y.z@{d}").parse().unwrap();
        assert_eq!(r.repository.registry, "[::1]:5000");
        assert_eq!(r.tag, None);
    }

    #[test]
    fn refuses_bad_references() {
        for bad in [
            "hello:v1",
            "ghcr.io/hello",
            "ghcr.io/Hello:v1",
            "ghcr.io/a//b:v1",
            "ghcr.io/a-:v1",
            "ghcr.io/a...b:v1",
            "ghcr.io/a:-v1",
            "ghcr.io/a:v 1",
            "ghcr.io/a@sha256:abc",
            "/a:v1",
        ] {
            let err = bad.parse::<Reference>().expect_err(bad);
            assert!(err.to_string().starts_with(&format!("invalid image reference `{bad}`")), "{err}");
        }
    }

    #[test]
    fn digests() {
        let d = Digest::of(b"");
        assert_eq!(d.to_string(), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
        assert!(Digest::parse("sha512:00").is_err());
    }
}
