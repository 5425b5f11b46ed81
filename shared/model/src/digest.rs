//! Checksums, validated once: the hex newtypes pinned in recipes ([`Sha256`], [`Sha512`]) and the
//! OCI content digest `sha256:<hex>` ([`Digest`]) that images, registries and signatures name
//! content by. [`Digest`] is the workspace's one digest type; its hex part is a [`Sha256`].
//!
//! With the `hash` feature, [`Digest::of`] and [`Digest::from_hasher`] compute one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::reference::ReferenceError;

/// A sha256 or sha512 string that is not the right number of lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a {algo} checksum: expected {len} lowercase hex digits")]
pub struct DigestParseError {
    pub algo: &'static str,
    pub len: usize,
    pub value: String,
}

macro_rules! hex_digest {
    ($name:ident, $algo:literal, $len:literal) => {
        #[doc = concat!("A ", $algo, " checksum: ", stringify!($len), " lowercase hex digits.")]
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const ALGO: &'static str = $algo;
            /// The hex digits.
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// Parses and checks a hex string.
            pub fn parse(s: &str) -> Result<Self, DigestParseError> {
                if s.len() == $len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                    Ok(Self(s.to_string()))
                } else {
                    Err(DigestParseError { algo: $algo, len: $len, value: s.to_string() })
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = DigestParseError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(d: $name) -> String {
                d.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

hex_digest!(Sha256, "sha256", 64);
hex_digest!(Sha512, "sha512", 128);

/// An OCI content digest, `sha256:<64 lowercase hex digits>`: what an image index, manifest or
/// blob is addressed by, and what a signature names. Only sha256 digests exist here.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(Sha256);

impl Digest {
    /// What every digest starts with.
    pub const PREFIX: &'static str = "sha256:";

    /// Parses `sha256:<64 lowercase hex digits>`.
    pub fn parse(s: &str) -> Result<Digest, ReferenceError> {
        let invalid = |reason: &str| ReferenceError::new("digest", s, reason);
        let hex = s
            .strip_prefix(Digest::PREFIX)
            .ok_or_else(|| invalid("a digest starts with `sha256:` (the only algorithm supported)"))?;
        Sha256::parse(hex).map(Digest).map_err(|_| invalid("expected `sha256:` and 64 lowercase hex digits"))
    }

    /// The digest of `bytes`.
    #[cfg(feature = "hash")]
    pub fn of(bytes: &[u8]) -> Digest {
        use sha2::Digest as _;
        Digest::from_hasher(sha2::Sha256::new_with_prefix(bytes))
    }

    /// The digest of what was fed into `hasher` (for content hashed while it streams).
    #[cfg(feature = "hash")]
    pub fn from_hasher(hasher: sha2::Sha256) -> Digest {
        use sha2::Digest as _;
        use std::fmt::Write as _;
        let mut hex = String::with_capacity(64);
        for byte in hasher.finalize() {
            let _ = write!(hex, "{byte:02x}");
        }
        Digest(Sha256(hex))
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
        write!(f, "{}{}", Digest::PREFIX, self.0)
    }
}

impl FromStr for Digest {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Digest, ReferenceError> {
        Digest::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_length_and_case() {
        assert!(Sha256::parse(&"a".repeat(64)).is_ok());
        assert!(Sha256::parse(&"A".repeat(64)).is_err());
        assert!(Sha256::parse(&"a".repeat(63)).is_err());
        assert!(Sha512::parse(&"0".repeat(128)).is_ok());
        assert_eq!(Sha512::parse("xyz").unwrap_err().len, 128);
    }

    #[test]
    fn oci_digests() {
        let hex = "0a".repeat(32);
        let d = Digest::parse(&format!("sha256:{hex}")).unwrap();
        assert_eq!(d.hex().as_str(), hex);
        assert_eq!(d.to_string(), format!("sha256:{hex}"));
        assert_eq!(Digest::from(Sha256::parse(&hex).unwrap()), d);
        assert_eq!(format!("sha256:{hex}").parse::<Digest>().unwrap(), d);
        for bad in [
            "",
            "sha256:",
            "sha256:00",
            &hex,
            &format!("sha512:{hex}"),
            &format!("sha256:{}", hex.to_uppercase()),
            &format!("SHA256:{hex}"),
            &format!("sha256:{hex}0"),
        ] {
            let err = Digest::parse(bad).expect_err(bad);
            assert!(err.to_string().starts_with(&format!("invalid digest `{bad}`: ")), "{err}");
        }
    }

    #[cfg(feature = "hash")]
    #[test]
    fn hashes_bytes() {
        let d = Digest::of(b"");
        assert_eq!(d.to_string(), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
        assert_eq!(
            Digest::of(b"abc").hex().as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
