//! Checksums pinned in recipes: validated hex newtypes, parsed once.

use std::fmt;

use serde::{Deserialize, Serialize};

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
}
