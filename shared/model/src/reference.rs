//! Image references, `registry/repository[:tag][@sha256:<hex>]`, parsed once for the whole
//! workspace: the registry client pushes and pulls them, signatures name a [`Repository`] and a
//! [`Digest`], `publish` and `find` print them.
//!
//! The grammar is Docker's (the distribution reference grammar), with one deliberate difference:
//! there is no implicit `docker.io`. The first component must be a registry host, and it counts
//! as one (as in Docker) only if it contains a `.` or a `:`, or is `localhost`; `library/alpine:3`
//! is refused rather than read as a host named `library`, and `alpine:3` is refused too.
//!
//! - the host: DNS labels of letters, digits and inner `-`, separated by `.`, or a bracketed IPv6
//!   address (`[::1]`); then an optional numeric port (`:5000`);
//! - the repository path: components of lowercase letters and digits, separated inside a
//!   component by one `.`, one or two `_`, or any number of `-`; components joined by `/`; the
//!   whole name (host included) at most 255 characters;
//! - a tag: at most 128 of `[A-Za-z0-9_.-]`, not starting with `.` or `-`;
//! - a digest: `sha256:` and 64 lowercase hex digits ([`Digest`]).
//!
//! This module does no I/O.

use std::fmt;
use std::str::FromStr;

use crate::digest::Digest;

/// The longest repository name, host included (as in Docker).
const NAME_TOTAL_MAX: usize = 255;
/// The longest tag.
const TAG_MAX: usize = 128;

/// An image reference, repository, tag or digest that is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} `{value}`: {reason}")]
pub struct ReferenceError {
    /// `image reference`, `repository`, `tag` or `digest`.
    pub what: &'static str,
    /// The text as given.
    pub value: String,
    /// What is wrong, possibly followed by a `hint:` line.
    pub reason: String,
}

impl ReferenceError {
    pub(crate) fn new(what: &'static str, value: &str, reason: &str) -> ReferenceError {
        ReferenceError { what, value: value.into(), reason: reason.into() }
    }
}

/// A repository in a registry, `host[:port]/path`, with no tag and no digest (cosign's
/// `docker-reference`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Repository {
    /// `host[:port]`, as written (e.g. `ghcr.io`, `127.0.0.1:5000`, `[::1]:5000`).
    pub registry: String,
    /// The repository path inside the registry (e.g. `siderolabs/gvisor`).
    pub name: String,
}

impl Repository {
    /// A repository from its two parts, both checked.
    pub fn new(registry: &str, name: &str) -> Result<Repository, ReferenceError> {
        let full = format!("{registry}/{name}");
        check_repository(registry, name, &full).map_err(|reason| ReferenceError::new("repository", &full, &reason))?;
        Ok(Repository { registry: registry.into(), name: name.into() })
    }

    /// Parses `host[:port]/path`.
    pub fn parse(s: &str) -> Result<Repository, ReferenceError> {
        let (registry, name) = s.split_once('/').ok_or_else(|| {
            ReferenceError::new("repository", s, "expected `host[:port]/path` (a registry host, then the path)")
        })?;
        Repository::new(registry, name).map_err(|e| ReferenceError { value: s.into(), ..e })
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.name)
    }
}

impl FromStr for Repository {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Repository, ReferenceError> {
        Repository::parse(s)
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
    pub fn tagged(repository: Repository, tag: &str) -> Result<Reference, ReferenceError> {
        check_tag(tag).map_err(|reason| ReferenceError::new("tag", &format!("{repository}:{tag}"), reason))?;
        Ok(Reference { repository, tag: Some(tag.into()), digest: None })
    }

    /// `repository@digest`.
    pub fn by_digest(repository: Repository, digest: Digest) -> Reference {
        Reference { repository, tag: None, digest: Some(digest) }
    }

    /// Parses `host[:port]/path[:tag][@sha256:<hex>]`; a tag, a digest or both are required.
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        let invalid = |reason: &str| ReferenceError::new("image reference", s, reason);
        let (rest, digest) = match s.split_once('@') {
            Some((rest, d)) => {
                let digest = Digest::parse(d).map_err(|_| {
                    invalid("invalid digest after `@` (expected `sha256:` and 64 lowercase hex digits)")
                })?;
                (rest, Some(digest))
            }
            None => (s, None),
        };
        let (registry, path) = rest
            .split_once('/')
            .ok_or_else(|| invalid(&format!("expected `host[:port]/repository[:tag]`{}", missing_host_hint(s))))?;
        // The host is split off, so a `:` in the rest separates the tag.
        let (name, tag) = match path.rsplit_once(':') {
            Some((name, tag)) => (name, Some(tag)),
            None => (path, None),
        };
        check_repository(registry, name, s).map_err(|reason| invalid(&reason))?;
        if let Some(tag) = tag {
            check_tag(tag).map_err(invalid)?;
        }
        if tag.is_none() && digest.is_none() {
            return Err(invalid("a tag (`:<tag>`) or a digest (`@sha256:<hex>`) is required"));
        }
        let repository = Repository { registry: registry.into(), name: name.into() };
        Ok(Reference { repository, tag: tag.map(str::to_string), digest })
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
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Reference, ReferenceError> {
        Reference::parse(s)
    }
}

/// The hint for `text`, a reference or repository without a registry host (`alpine:3`,
/// `library/alpine`): what Docker would have made of it.
fn missing_host_hint(text: &str) -> String {
    let full = if text.contains('/') { format!("docker.io/{text}") } else { format!("docker.io/library/{text}") };
    format!("\nhint: name the registry host first, e.g. `{full}` for Docker Hub")
}

/// Checks both parts of a repository; `text` is the whole reference, for the hint.
fn check_repository(registry: &str, name: &str, text: &str) -> Result<(), String> {
    check_registry(registry, text)?;
    check_name(name)?;
    if registry.len() + 1 + name.len() > NAME_TOTAL_MAX {
        return Err(format!("the repository name is longer than {NAME_TOTAL_MAX} characters"));
    }
    Ok(())
}

/// `host[:port]`: DNS labels or a bracketed IPv6 address, and a numeric port. A single label
/// is a host only if it is `localhost` or has a port (Docker's rule); `text` is the whole
/// reference, for the hint.
fn check_registry(registry: &str, text: &str) -> Result<(), String> {
    let reason = || {
        format!(
            "invalid registry host `{registry}` (expected `host[:port]`: DNS labels of letters, digits and `-`, or `[ipv6]`)"
        )
    };
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let (addr, after) = rest.split_once(']').ok_or_else(reason)?;
        let ok =
            !addr.is_empty() && addr.contains(':') && addr.bytes().all(|b| b.is_ascii_hexdigit() || b":.".contains(&b));
        if !ok {
            return Err(reason());
        }
        match after {
            "" => (None, None),
            p => (None, Some(p.strip_prefix(':').ok_or_else(reason)?)),
        }
    } else {
        match registry.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(registry), None),
        }
    };
    if let Some(port) = port
        && (port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(reason());
    }
    if let Some(host) = host {
        let label_ok = |l: &str| {
            let b = l.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        };
        if !host.split('.').all(label_ok) {
            return Err(reason());
        }
        if !host.contains('.') && port.is_none() && host != "localhost" {
            return Err(format!(
                "`{registry}` is not a registry host: a host has a `.` or a port, or is `localhost` (there is no implicit `docker.io`){}",
                missing_host_hint(text)
            ));
        }
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), String> {
    const REASON: &str =
        "invalid repository name: path components of lowercase letters and digits, separated by `.`, `_`, `__` or `-`";
    if name.is_empty() {
        return Err(REASON.into());
    }
    for component in name.split('/') {
        let bytes = component.as_bytes();
        let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if bytes.is_empty() || !alnum(&bytes[0]) || !alnum(&bytes[bytes.len() - 1]) {
            return Err(REASON.into());
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
                return Err(REASON.into());
            }
        }
    }
    Ok(())
}

fn check_tag(tag: &str) -> Result<(), &'static str> {
    let ok = !tag.is_empty()
        && tag.len() <= TAG_MAX
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
        let r: Reference = "localhost/a:latest".parse().unwrap();
        assert_eq!(r.repository.registry, "localhost");
        let r: Reference = "registry:5000/a:v1".parse().unwrap();
        assert_eq!(r.repository.registry, "registry:5000");
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
            "ghcr.io/a___b:v1",
            "ghcr.io/a:-v1",
            "ghcr.io/a:v 1",
            "ghcr.io/a:",
            "ghcr.io/a@sha256:abc",
            "ghcr.io/a:v1@sha512:00",
            "/a:v1",
            "library/alpine:3",
            "ghcr_io.example/a:v1",
            "-ghcr.io/a:v1",
            "ghcr.io:port/a:v1",
            "[::1/a:v1",
            "[zz]:5000/a:v1",
        ] {
            let err = bad.parse::<Reference>().expect_err(bad);
            assert!(err.to_string().starts_with(&format!("invalid image reference `{bad}`")), "{err}");
        }
        let long = format!("ghcr.io/{}:v1", "a".repeat(250));
        assert!(long.parse::<Reference>().is_err());
        let long_tag = format!("ghcr.io/a:{}", "t".repeat(129));
        assert!(long_tag.parse::<Reference>().is_err());
        assert!(format!("ghcr.io/a:{}", "t".repeat(128)).parse::<Reference>().is_ok());
    }

    #[test]
    fn names_the_missing_host() {
        let err = "library/alpine:3".parse::<Reference>().unwrap_err();
        assert!(err.to_string().contains("there is no implicit `docker.io`"), "{err}");
        assert!(
            err.to_string()
                .ends_with("\nhint: name the registry host first, e.g. `docker.io/library/alpine:3` for Docker Hub"),
            "{err}"
        );
        let err = "alpine:3".parse::<Reference>().unwrap_err();
        assert!(err.to_string().ends_with("e.g. `docker.io/library/alpine:3` for Docker Hub"), "{err}");
        let err = "example/app".parse::<Repository>().unwrap_err();
        assert!(err.to_string().ends_with("e.g. `docker.io/example/app` for Docker Hub"), "{err}");
    }

    #[test]
    fn repositories() {
        for good in [
            "ghcr.io/siderolabs/zfs",
            "127.0.0.1:5000/t/hello",
            "localhost/a",
            "[::1]:5000/a",
            "docker.io/library/alpine",
        ] {
            let repo = Repository::parse(good).expect(good);
            assert_eq!(repo.to_string(), good);
        }
        // Not a host-qualified repository (no implicit `docker.io`), a tag or digest, bad case or
        // separators.
        for bad in [
            "",
            "ghcr.io/x/y:v1",
            "ghcr.io/x/y@sha256:00",
            "ghcr.io/X/y",
            "ghcr.io//y",
            "ghcr.io/",
            "a b",
            "library/alpine",
            "a",
            "ghcr.io/a..b",
            "ghcr.io/a-",
        ] {
            let err = Repository::parse(bad).expect_err(bad);
            assert!(err.to_string().starts_with(&format!("invalid repository `{bad}`")), "{err}");
        }
        let err = Repository::new("ghcr.io", "A").unwrap_err();
        assert_eq!(err.value, "ghcr.io/A");
        let repo = Repository::new("ghcr.io", "siderolabs/zfs").unwrap();
        let err = Reference::tagged(repo.clone(), ".bad").unwrap_err();
        assert!(err.to_string().starts_with("invalid tag `ghcr.io/siderolabs/zfs:.bad`"), "{err}");
        assert_eq!(Reference::tagged(repo, "v1").unwrap().to_string(), "ghcr.io/siderolabs/zfs:v1");
    }
}
