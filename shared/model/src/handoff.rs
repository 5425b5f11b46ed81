//! What `cargo xtask build` hands to the extensions' build scripts, and what they hand back.
//!
//! xtask runs `cargo build` with the environment variables below; each build script stages its
//! arches under `OUT_DIR/`[`STAGE_DIR`] and describes them in [`STAGED_INFO`] ([`StagedInfo`]),
//! which xtask reads to pack the images. Both sides use these definitions, and nothing else
//! defines them (the fetch settings, `TALOS_EXT_CACHE`/`_MIRRORS`/`_OFFLINE`, are the fetch
//! crate's; the toolchain choice is [`crate::toolchain::ENV_TOOLCHAIN`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Arch;

/// Comma-separated arches the build script must stage (`amd64,arm64`). Unset or empty: the build
/// script does nothing beyond registering what it depends on.
pub const ENV_ARCHES: &str = "TALOS_EXT_ARCHES";

/// The reproducible-builds convention's variable: timestamps in builds and images.
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";

/// `SOURCE_DATE_EPOCH` for recipes, as `cargo xtask build` passes it to build scripts. It has
/// its own name because other crates' build scripts (cc's, for one) watch `SOURCE_DATE_EPOCH`:
/// setting that for the inner `cargo build` only would rebuild them on every call. Recipes'
/// build steps get the value as `SOURCE_DATE_EPOCH`; without this variable, build scripts fall
/// back to `SOURCE_DATE_EPOCH`, then 0.
pub const ENV_SOURCE_DATE_EPOCH: &str = "TALOS_EXT_SOURCE_DATE_EPOCH";

/// The name a source override uses for the kernel source of a Talos toolchain
/// (`--source linux=<archive>`): a stand-in Linux release instead of the pinned tarball, for
/// every kbuild step of the build. It is not an extension's name.
pub const KERNEL_SOURCE_OVERRIDE: &str = "linux";

/// The name a source override uses for the pinned linux-firmware release
/// (`--source linux-firmware=<dir>`): a directory with linux-firmware's layout (`WHENCE` and the
/// firmware files) that every `firmware` recipe of the build takes its files from instead of the
/// pin. It is not an extension's name.
pub const FIRMWARE_SOURCE_OVERRIDE: &str = crate::firmware::LINUX_FIRMWARE;

/// `;`-separated `ext[/source]=<absolute path>` overrides for build scripts.
pub const ENV_SOURCE_OVERRIDES: &str = "TALOS_EXT_SOURCE_OVERRIDES";

/// A compiler launcher (`ccache`, `sccache`, or a path to one) that userland C compiles run
/// through: autotools and make get `CC="<wrapper> <gcc> ..."`, meson the wrapper as the first
/// word of its cross file's `c`, cmake `CMAKE_C_COMPILER_LAUNCHER`. The user's own environment,
/// not something `cargo xtask build` sets; cargo passes it to build scripts. It never changes
/// what is built, so it is not a freshness input of the toolchain (only of the command lines).
pub const ENV_CC_WRAPPER: &str = "TALOS_EXT_CC_WRAPPER";

/// Prefixes of the wrapper's own settings (`CCACHE_DIR`, `SCCACHE_BUCKET`, ...), passed from the
/// build script's environment to the compile steps when [`ENV_CC_WRAPPER`] is set.
pub const CC_WRAPPER_ENV_PREFIXES: &[&str] = &["CCACHE_", "SCCACHE_"];

/// Directory under `OUT_DIR` holding the staged trees.
pub const STAGE_DIR: &str = "talos-ext";
/// File in [`STAGE_DIR`] describing what was staged.
pub const STAGED_INFO: &str = "staged.json";

/// What of a recipe crate its build script depends on (cargo reruns it when one changes): the
/// manifest (metadata, pins), the recipe, and the directories recipes read their inputs from
/// (`Stage::input`, `Stage::source`'s patches, a Go recipe's wrapper module `go/`). Not `src/` or `tests/`: editing those never
/// restages. Besides these, the script watches the pin, the toolchain files a kernel recipe uses,
/// the sysroot stamps of the libraries it links and its `TALOS_EXT_*` variables. A recipe crate
/// holds nothing else (tidy checks), so no input goes unwatched; a new input directory is seen
/// once `build.rs` or `Cargo.toml` changes with it. The build cache's input hash
/// (`talos_ext_publish::cache`) hashes these too.
pub const RECIPE_INPUTS: &[&str] = &["Cargo.toml", "build.rs", "native", "files", "patches", "go"];

/// Where fetched sources are cached when `TALOS_EXT_CACHE` is not set.
pub fn default_cache_dir(workspace_root: &Path) -> PathBuf {
    workspace_root.join(".cache").join("talos-ext")
}

/// Where tests keep the stages they share (library stages, layered extensions, `stage_shared`):
/// `<cache>/test-stages/`, kept directories (`talos_ext_fs::kept`) that `cargo xtask cache prune`
/// removes. Always the workspace's own cache, whatever `TALOS_EXT_CACHE` says.
pub fn test_stages_dir(workspace_root: &Path) -> PathBuf {
    default_cache_dir(workspace_root).join(TEST_STAGES)
}

/// The name of [`test_stages_dir`] in a cache directory.
pub const TEST_STAGES: &str = "test-stages";

/// What a build script staged, as read by `xtask`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedInfo {
    pub name: String,
    pub version: String,
    pub arches: Vec<StagedArch>,
}

/// One staged arch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedArch {
    pub arch: Arch,
    /// The extension tree: `manifest.yaml` + `rootfs/`.
    pub dir: PathBuf,
    /// Changes every time the tree is staged again; lets `xtask` skip re-packing.
    pub stamp: String,
    /// Sources taken from `--source` overrides instead of their pins.
    #[serde(default)]
    pub overridden_sources: Vec<String>,
}

/// A local replacement for a pinned source (`cargo xtask build --source ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceOverride {
    pub extension: String,
    /// `None`: the extension's only source.
    pub source: Option<String>,
    /// A directory (used as the unpacked tree) or an archive (unpacked like a download).
    pub path: PathBuf,
}

/// A `--source` value (or an item of [`ENV_SOURCE_OVERRIDES`]) that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    #[error("`{text}` is not `<ext>[/<source>]=<dir|archive>`")]
    Syntax { text: String },
    #[error("`{text}`: `;` is not allowed in source overrides")]
    Separator { text: String },
    #[error("source override `{text}`: {} does not exist", path.display())]
    Missing { text: String, path: PathBuf },
    #[error("bad {ENV_SOURCE_OVERRIDES}: {0}")]
    Env(Box<OverrideError>),
}

impl SourceOverride {
    /// Parses `ext[/source]=path` (the `--source` syntax); relative paths are made absolute
    /// against `cwd`.
    pub fn parse(text: &str, cwd: &Path) -> Result<SourceOverride, OverrideError> {
        let syntax = || OverrideError::Syntax { text: text.to_string() };
        let (target, path) = text.split_once('=').ok_or_else(syntax)?;
        let (extension, source) = match target.split_once('/') {
            Some((e, s)) => (e.to_string(), Some(s.to_string())),
            None => (target.to_string(), None),
        };
        if extension.is_empty() || source.as_deref() == Some("") || path.is_empty() {
            return Err(syntax());
        }
        if extension.contains(';') || path.contains(';') {
            return Err(OverrideError::Separator { text: text.to_string() });
        }
        let path = cwd.join(path);
        if !path.exists() {
            return Err(OverrideError::Missing { text: text.to_string(), path });
        }
        Ok(SourceOverride { extension, source, path })
    }

    /// Renders overrides for [`ENV_SOURCE_OVERRIDES`].
    pub fn to_env(list: &[SourceOverride]) -> String {
        list.iter()
            .map(|o| match &o.source {
                Some(s) => format!("{}/{s}={}", o.extension, o.path.display()),
                None => format!("{}={}", o.extension, o.path.display()),
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    /// Reads [`ENV_SOURCE_OVERRIDES`] text.
    pub fn from_env(text: &str) -> Result<Vec<SourceOverride>, OverrideError> {
        text.split(';')
            .filter(|p| !p.trim().is_empty())
            .map(|p| SourceOverride::parse(p, Path::new("/")))
            .collect::<Result<_, _>>()
            .map_err(|e| OverrideError::Env(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_round_trip_through_the_environment() {
        let dir = std::env::temp_dir();
        let a = SourceOverride::parse(&format!("nvme-cli/libnvme={}", dir.display()), Path::new("/")).unwrap();
        assert_eq!((a.extension.as_str(), a.source.as_deref()), ("nvme-cli", Some("libnvme")));
        let b = SourceOverride::parse("zfs=.", &dir).unwrap();
        assert_eq!((b.source, b.path.clone()), (None, dir.join(".")));
        let list = vec![a, SourceOverride { path: b.path, ..SourceOverride::parse("zfs=.", &dir).unwrap() }];
        assert_eq!(SourceOverride::from_env(&SourceOverride::to_env(&list)).unwrap(), list);
        assert!(SourceOverride::from_env("").unwrap().is_empty());
    }

    #[test]
    fn bad_overrides_say_what_is_wrong() {
        let root = Path::new("/");
        for text in ["zfs", "=/tmp", "zfs/=/tmp", "zfs="] {
            let e = SourceOverride::parse(text, root).unwrap_err();
            assert_eq!(e.to_string(), format!("`{text}` is not `<ext>[/<source>]=<dir|archive>`"));
        }
        let e = SourceOverride::parse("a;b=/tmp", root).unwrap_err();
        assert!(e.to_string().contains("`;` is not allowed"), "{e}");
        let e = SourceOverride::parse("zfs=/no/such/dir", root).unwrap_err();
        assert!(e.to_string().contains("/no/such/dir does not exist"), "{e}");
        let e = SourceOverride::from_env("zfs=/no/such/dir").unwrap_err();
        assert!(e.to_string().starts_with("bad TALOS_EXT_SOURCE_OVERRIDES: source override `zfs=/no/such/dir`"), "{e}");
    }
}
