//! Target architectures. Only the *upstream* code and kernel modules are built per arch; the Rust
//! crates always build for the x86_64 host.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A Talos target architecture, named as OCI and Talos name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    Amd64,
    Arm64,
}

impl Arch {
    /// Every arch, in the fixed order used for multi-arch indexes.
    pub const ALL: [Arch; 2] = [Arch::Amd64, Arch::Arm64];

    /// The OCI / Talos name: `amd64` or `arm64`.
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }

    /// The GNU machine name: `x86_64` or `aarch64` (bldr's `ARCH`).
    pub fn gnu_machine(self) -> &'static str {
        match self {
            Arch::Amd64 => "x86_64",
            Arch::Arm64 => "aarch64",
        }
    }

    /// The musl target triple used for `--host` and cross files.
    pub fn musl_triple(self) -> &'static str {
        match self {
            Arch::Amd64 => "x86_64-linux-musl",
            Arch::Arm64 => "aarch64-linux-musl",
        }
    }

    /// The kernel's `ARCH=` value.
    pub fn kernel_arch(self) -> &'static str {
        match self {
            Arch::Amd64 => "x86",
            Arch::Arm64 => "arm64",
        }
    }

    /// The ELF `e_machine` value of binaries for this arch.
    pub fn elf_machine(self) -> u16 {
        match self {
            Arch::Amd64 => 62,  // EM_X86_64
            Arch::Arm64 => 183, // EM_AARCH64
        }
    }

    /// Parses a comma-separated list such as `amd64,arm64` (or `all`), sorted and deduplicated.
    pub fn parse_list(s: &str) -> Result<Vec<Arch>, ArchParseError> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part == "all" {
                out.extend(Arch::ALL);
            } else {
                out.push(part.parse()?);
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An arch name that is not `amd64` or `arm64`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown arch `{0}`: expected `amd64` or `arm64`")]
pub struct ArchParseError(pub String);

impl FromStr for Arch {
    type Err = ArchParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "amd64" | "x86_64" => Ok(Arch::Amd64),
            "arm64" | "aarch64" => Ok(Arch::Arm64),
            other => Err(ArchParseError(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_aliases() {
        assert_eq!(Arch::parse_list("arm64,amd64,arm64").unwrap(), vec![Arch::Amd64, Arch::Arm64]);
        assert_eq!(Arch::parse_list("all").unwrap(), Arch::ALL.to_vec());
        assert_eq!("aarch64".parse::<Arch>().unwrap(), Arch::Arm64);
        assert_eq!(Arch::parse_list("riscv64").unwrap_err().0, "riscv64");
    }
}
