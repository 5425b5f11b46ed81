//! Talos compatibility constraints (`metadata.compatibility.talos.version`), parsed and checked
//! with Talos' semantics: `v` before a digit is deleted anywhere, then blang/semver v4
//! `ParseRange`; the Talos version is compared as its `X.Y.Z` core (pre-release stripped).
//! PLACEHOLDER: filled in by the validator work.

/// A parsed version range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    text: String,
}

/// A constraint that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("error parsing Talos version constraint `{text}`: {message}")]
pub struct ConstraintError {
    pub text: String,
    pub message: String,
}

impl Constraint {
    pub fn parse(text: &str) -> Result<Constraint, ConstraintError> {
        Ok(Constraint { text: text.to_string() })
    }
}
