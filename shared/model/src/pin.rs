//! The workspace's Talos pin, `toolchain/pin.toml`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Where the pin lives, relative to the workspace root.
pub const PIN_PATH: &str = "toolchain/pin.toml";

/// The pinned Talos release.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    pub talos: TalosPin,
    pub kernel: KernelPin,
    /// `[toolchains]`: which kernel toolchain extensions build with by default.
    #[serde(default)]
    pub toolchains: ToolchainDefaults,
}

/// `[toolchains]` of the pin: names of files in `toolchain/toolchains/` (see
/// [`crate::toolchain::select`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolchainDefaults {
    /// The toolchain of catalog recipes (the pinned Talos kernel).
    #[serde(default)]
    pub default: Option<String>,
    /// The toolchain of `extensions/examples/*` (works offline).
    #[serde(default)]
    pub examples: Option<String>,
}

/// `[talos]` of the pin.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TalosPin {
    /// The Talos version tag, e.g. `v1.14.0-beta.1`.
    pub tag: String,
    /// The siderolabs/pkgs tag this Talos release builds against.
    #[serde(default)]
    pub pkgs: String,
}

/// `[kernel]` of the pin.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelPin {
    /// The kernel release string, e.g. `6.18.45-talos`.
    pub release: String,
}

/// A pin file that cannot be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error("cannot read {path}: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
}

impl Pin {
    /// Parses pin text.
    pub fn from_toml_str(text: &str) -> Result<Pin, PinError> {
        Self::parse_at(text, Path::new(PIN_PATH))
    }

    /// Reads `toolchain/pin.toml` below a workspace root.
    pub fn load(workspace_root: &Path) -> Result<Pin, PinError> {
        let path = workspace_root.join(PIN_PATH);
        let text = std::fs::read_to_string(&path).map_err(|cause| PinError::Read { path: path.clone(), cause })?;
        Self::parse_at(&text, &path)
    }

    fn parse_at(text: &str, path: &Path) -> Result<Pin, PinError> {
        let pin: Pin =
            toml::from_str(text).map_err(|e| PinError::Parse { path: path.to_path_buf(), message: e.to_string() })?;
        if !pin.talos.tag.starts_with('v') || pin.talos.tag.len() < 6 {
            return Err(PinError::Parse {
                path: path.to_path_buf(),
                message: format!("talos.tag `{}` is not a Talos version tag like `v1.14.0`", pin.talos.tag),
            });
        }
        Ok(pin)
    }

    /// The default toolchain for an extension of `category`: `[toolchains] examples` for
    /// `examples`, else `[toolchains] default`.
    pub fn default_toolchain(&self, category: &str) -> Option<&str> {
        match (category, &self.toolchains.examples) {
            ("examples", Some(name)) => Some(name),
            _ => self.toolchains.default.as_deref(),
        }
    }

    /// Finds the workspace root (the directory holding `toolchain/pin.toml`) at or above `start`.
    pub fn find_workspace_root(start: &Path) -> Option<PathBuf> {
        start.ancestors().find(|dir| dir.join(PIN_PATH).is_file()).map(Path::to_path_buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_tags_and_unknown_keys() {
        let ok = "[talos]\ntag = \"v1.14.0\"\n[kernel]\nrelease = \"6.18.45-talos\"\n";
        assert_eq!(Pin::from_toml_str(ok).unwrap().talos.tag, "v1.14.0");
        assert!(Pin::from_toml_str(&ok.replace("v1.14.0", "1.14")).is_err());
        let err = Pin::from_toml_str(&format!("{ok}bogus = 1\n")).unwrap_err().to_string();
        assert!(err.contains("toolchain/pin.toml"), "{err}");
    }
}
