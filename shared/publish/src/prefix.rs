//! [`RegistryPrefix`]: where extensions are published, `host[:port]/prefix`; each extension is the
//! repository `<prefix>/<name>` and the index image is `<prefix>/extensions`.

use std::fmt;
use std::str::FromStr;

use talos_ext_registry::{Reference, Repository};

use crate::error::PublishError;

/// The repository name of the index image under the prefix (as `ghcr.io/siderolabs/extensions`).
pub const INDEX_REPOSITORY: &str = "extensions";

/// A registry and a repository path prefix (possibly empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryPrefix {
    /// `host[:port]`.
    pub registry: String,
    /// `org/team`, or empty.
    pub prefix: String,
}

impl RegistryPrefix {
    /// The repository of `name` under the prefix.
    pub fn repository(&self, name: &str) -> Result<Repository, PublishError> {
        let path = if self.prefix.is_empty() { name.to_string() } else { format!("{}/{name}", self.prefix) };
        Ok(Repository::new(&self.registry, &path)?)
    }

    /// `<registry>/<prefix>/<name>:<tag>`.
    pub fn reference(&self, name: &str, tag: &str) -> Result<Reference, PublishError> {
        Ok(Reference::tagged(self.repository(name)?, tag)?)
    }

    /// The index image for a Talos version: `<registry>/<prefix>/extensions:<talos tag>`.
    pub fn index_reference(&self, talos_tag: &str) -> Result<Reference, PublishError> {
        self.reference(INDEX_REPOSITORY, talos_tag)
    }
}

impl FromStr for RegistryPrefix {
    type Err = PublishError;

    fn from_str(value: &str) -> Result<RegistryPrefix, PublishError> {
        let invalid = |reason: &str| PublishError::InvalidRegistry { value: value.into(), reason: reason.into() };
        let trimmed = value.trim().trim_end_matches('/');
        if trimmed.contains("://") {
            return Err(invalid("leave out the scheme (`https://`)"));
        }
        if trimmed.contains(['@', ' '])
            || trimmed.rsplit('/').next().is_some_and(|last| last.contains(':') && trimmed.contains('/'))
        {
            return Err(invalid("a registry prefix has no tag or digest"));
        }
        let (registry, prefix) = trimmed.split_once('/').unwrap_or((trimmed, ""));
        if registry.is_empty() {
            return Err(invalid("the registry host is missing"));
        }
        let parsed = RegistryPrefix { registry: registry.into(), prefix: prefix.into() };
        // Checks host and path with the reference grammar.
        parsed.repository(INDEX_REPOSITORY).map_err(|e| invalid(&e.to_string()))?;
        Ok(parsed)
    }
}

impl fmt::Display for RegistryPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "{}", self.registry)
        } else {
            write!(f, "{}/{}", self.registry, self.prefix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names_repositories() {
        let p: RegistryPrefix = "127.0.0.1:5000/talos/ext".parse().unwrap();
        assert_eq!(p.registry, "127.0.0.1:5000");
        assert_eq!(p.reference("zfs", "v1").unwrap().to_string(), "127.0.0.1:5000/talos/ext/zfs:v1");
        assert_eq!(p.to_string(), "127.0.0.1:5000/talos/ext");
        let bare: RegistryPrefix = "ghcr.io".parse().unwrap();
        assert_eq!(bare.index_reference("v1.14.0").unwrap().to_string(), "ghcr.io/extensions:v1.14.0");
        assert!("https://ghcr.io/x".parse::<RegistryPrefix>().is_err());
        assert!("ghcr.io/x:tag".parse::<RegistryPrefix>().is_err());
        assert!("ghcr.io/UPPER".parse::<RegistryPrefix>().is_err());
    }
}
