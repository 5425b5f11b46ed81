//! The two parts of an image reference a signature is about, validated once: the repository
//! (cosign's `docker-reference`, without tag or digest) and the manifest digest.
//!
//! Repositories are taken as written: no Docker Hub normalisation (`alpine` is not turned into
//! `index.docker.io/library/alpine`), so pass the fully qualified name cosign would print.

use std::fmt;

use crate::error::RefError;

/// `sha256:<64 lowercase hex digits>`: the digest of the signed image manifest or index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageDigest(String);

impl ImageDigest {
    /// Parses `sha256:<hex>`.
    pub fn parse(s: &str) -> Result<ImageDigest, RefError> {
        let ok = s
            .strip_prefix("sha256:")
            .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
        if ok {
            Ok(ImageDigest(s.to_string()))
        } else {
            Err(RefError { value: s.to_string(), expected: "a digest `sha256:<64 lowercase hex digits>`" })
        }
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> ImageDigest {
        use sha2::Digest;
        ImageDigest(format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes))))
    }

    /// `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hex digits.
    pub fn hex(&self) -> &str {
        self.0.strip_prefix("sha256:").unwrap_or(&self.0)
    }
}

impl fmt::Display for ImageDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A repository `[host[:port]/]path`, with no tag and no digest, e.g. `ghcr.io/siderolabs/zfs`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Repository(String);

impl Repository {
    /// Parses and checks a repository name.
    pub fn parse(s: &str) -> Result<Repository, RefError> {
        let err = || RefError {
            value: s.to_string(),
            expected: "a repository `[host[:port]/]path` without tag or digest \
                       (letters, digits, `.`, `_`, `-`, `/`, `:` only in the host)",
        };
        let (host, path) = match s.split_once('/') {
            Some((h, p)) if h.contains(['.', ':']) || h == "localhost" => (Some(h), p),
            _ => (None, s),
        };
        if let Some(host) = host {
            let ok = !host.is_empty()
                && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:".contains(&b))
                && host.matches(':').count() <= 1;
            if !ok {
                return Err(err());
            }
        }
        let path_ok = !path.is_empty()
            && path.split('/').all(|c| {
                !c.is_empty()
                    && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                    && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            });
        if path_ok { Ok(Repository(s.to_string())) } else { Err(err()) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests() {
        let hex = "0a".repeat(32);
        let d = ImageDigest::parse(&format!("sha256:{hex}")).unwrap();
        assert_eq!(d.hex(), hex);
        for bad in ["", "sha256:", &hex, &format!("sha512:{hex}"), &format!("sha256:{}", hex.to_uppercase())] {
            assert!(ImageDigest::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(ImageDigest::of(b"").hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn repositories() {
        for good in ["ghcr.io/siderolabs/zfs", "127.0.0.1:5000/t/hello", "localhost/a", "library/alpine", "a"] {
            assert!(Repository::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "ghcr.io/x/y:v1", "ghcr.io/x/y@sha256:00", "ghcr.io/X/y", "ghcr.io//y", "ghcr.io/", "a b"] {
            assert!(Repository::parse(bad).is_err(), "{bad}");
        }
    }
}
