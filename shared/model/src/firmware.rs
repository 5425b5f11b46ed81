//! Firmware in the model: the one linux-firmware release every `firmware` recipe takes its files
//! from (`toolchain/firmware.toml`, [`LinuxFirmware`]), the paths a recipe selects from it
//! (`firmware = [...]` in its metadata: files, directories and `*`/`?` globs, relative to the
//! release's top directory, [`check_selection`], [`glob_match`]), and the `Link:` lines of the
//! release's `WHENCE` file ([`whence_links`]), which upstream's `copy-firmware.sh` turns into
//! symlinks (the release tarball itself carries none).
//!
//! Pure text and path rules: resolving a selection against a tree on disk is talos-ext-build's.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{ExtensionMeta, PinError, Sha256, Sha512, Source, VersionSpec};

/// Where the linux-firmware pin lives, relative to the workspace root.
pub const LINUX_FIRMWARE_PATH: &str = "toolchain/firmware.toml";

/// The name of the linux-firmware source: in SBOMs (the component), in `--source
/// linux-firmware=<dir>` overrides and in the overridden-sources mark.
pub const LINUX_FIRMWARE: &str = "linux-firmware";

/// Where firmware lands in an extension's rootfs (the kernel's firmware search path).
pub const FIRMWARE_ROOT: &str = "usr/lib/firmware";

/// The file of a linux-firmware release that says where each file comes from and which links
/// to create.
pub const WHENCE: &str = "WHENCE";

/// `toolchain/firmware.toml`: the pinned linux-firmware release.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinuxFirmware {
    /// The release's date tag, `YYYYMMDD` (`20260810`): the version of every firmware recipe.
    pub version: String,
    /// The release tarball (one top directory, stripped when unpacked).
    pub url: String,
    pub sha256: Sha256,
    pub sha512: Sha512,
}

impl LinuxFirmware {
    /// Reads `toolchain/firmware.toml` below a workspace root.
    pub fn load(workspace_root: &Path) -> Result<LinuxFirmware, PinError> {
        let path = workspace_root.join(LINUX_FIRMWARE_PATH);
        let text = std::fs::read_to_string(&path).map_err(|cause| PinError::Read { path: path.clone(), cause })?;
        Self::parse_at(&text, &path)
    }

    /// Parses pin text (errors name [`LINUX_FIRMWARE_PATH`]).
    pub fn from_toml_str(text: &str) -> Result<LinuxFirmware, PinError> {
        Self::parse_at(text, Path::new(LINUX_FIRMWARE_PATH))
    }

    fn parse_at(text: &str, path: &Path) -> Result<LinuxFirmware, PinError> {
        let parse = |message: String| PinError::Parse { path: PathBuf::from(path), message };
        let pin: LinuxFirmware = toml::from_str(text).map_err(|e| parse(e.to_string()))?;
        if pin.version.len() != 8 || !pin.version.bytes().all(|b| b.is_ascii_digit()) {
            return Err(parse(format!("version `{}` is not a release date YYYYMMDD", pin.version)));
        }
        if !pin.url.starts_with("https://") {
            return Err(parse(format!("url `{}` is not an https URL", pin.url)));
        }
        Ok(pin)
    }

    /// The release as a pinned source named [`LINUX_FIRMWARE`] (fetched like any source; the
    /// SBOM's linux-firmware component lists it).
    pub fn source(&self) -> Source {
        Source {
            name: LINUX_FIRMWARE.to_string(),
            url: self.url.clone(),
            sha256: self.sha256.clone(),
            sha512: self.sha512.clone(),
            arch: None,
        }
    }

    /// A firmware recipe's version date must be this release's: the image's version says which
    /// firmware it ships. `Err` is the message for the metadata field `version.date`.
    pub fn check_recipe_version(&self, meta: &ExtensionMeta) -> Result<(), String> {
        match &meta.version {
            VersionSpec::Firmware { date } | VersionSpec::FirmwareTalos { date } if date != &self.version => Err(
                format!("`{date}` is not the pinned linux-firmware release `{}` ({LINUX_FIRMWARE_PATH})", self.version),
            ),
            _ => Ok(()),
        }
    }
}

/// Whether `path` has a component with a glob character (`*`, `?`).
pub fn is_glob(path: &str) -> bool {
    path.contains(['*', '?'])
}

/// Checks one selected path: relative to the release's top directory, plain components (no
/// `.`, `..`, empty ones, no leading or trailing `/`), globs only `*` and `?`. `Err` is the
/// message.
pub fn check_selection(path: &str) -> Result<(), String> {
    if path.is_empty() || path.starts_with('/') || path.ends_with('/') {
        return Err(format!(
            "`{path}` is not a path relative to linux-firmware's top directory (like `bnx2x` or `intel/ice/ddp/ice.pkg`; \
             it lands under /{FIRMWARE_ROOT}/)"
        ));
    }
    if path.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
        return Err(format!("`{path}` has an empty, `.` or `..` component"));
    }
    if let Some(c) = path.chars().find(|c| matches!(c, '[' | ']' | '{' | '}' | '\\') || c.is_control()) {
        return Err(format!(
            "`{path}`: `{}` is not supported (globs are `*` and `?` within one component)",
            c.escape_default()
        ));
    }
    Ok(())
}

/// Whether the file name `name` matches the one-component glob `pattern`: `*` any run of
/// characters, `?` one character, anything else itself; as in a shell, a leading `.` of `name`
/// is only matched by a literal `.`.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // Iterative matching with one backtrack point for the last `*`.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some('?') => (pi, ni) = (pi + 1, ni + 1),
            Some(c) if *c == n[ni] => (pi, ni) = (pi + 1, ni + 1),
            _ => match star {
                Some((sp, sn)) => {
                    (pi, ni) = (sp + 1, sn + 1);
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether the relative path `path` matches the selected `pattern` component by component.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let (mut p, mut n) = (pattern.split('/'), path.split('/'));
    loop {
        match (p.next(), n.next()) {
            (Some(a), Some(b)) if glob_match(a, b) => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// One `Link:` line of `WHENCE`: `name` is a path below the release's top directory, `target`
/// is relative to `name`'s directory (as `ln -s` takes it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct WhenceLink {
    pub name: String,
    pub target: String,
    /// Its line in `WHENCE` (1-based).
    pub line: usize,
}

/// A `Link:` line of `WHENCE` that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("WHENCE line {line}: {message}")]
pub struct WhenceError {
    pub line: usize,
    pub message: String,
}

/// The `Link: <name> -> <target>` lines of a `WHENCE` text, in file order. A name must be a plain
/// relative path; a target a relative one that stays inside the release once resolved from the
/// name's directory.
pub fn whence_links(text: &str) -> Result<Vec<WhenceLink>, WhenceError> {
    let mut links = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let Some(rest) = raw.strip_prefix("Link:") else { continue };
        let fail = |message: String| Err(WhenceError { line, message });
        let Some((name, target)) = rest.split_once(" -> ") else {
            return fail(format!("`{}` is not `Link: <name> -> <target>`", raw.trim()));
        };
        let (name, target) = (name.trim(), target.trim());
        if check_selection(name).is_err() || is_glob(name) {
            return fail(format!("link name `{name}` is not a plain relative path"));
        }
        if target.is_empty() || target.starts_with('/') {
            return fail(format!("link `{name}`: target `{target}` is not a relative path"));
        }
        if resolve_link(name, target).is_none() {
            return fail(format!("link `{name}` -> `{target}` points outside the release"));
        }
        links.push(WhenceLink { name: name.to_string(), target: target.to_string(), line });
    }
    Ok(links)
}

/// The path below the top directory that the link `name` -> relative `target` points to,
/// cleaned lexically; `None` when it leaves the top directory (or is not relative).
pub fn resolve_link(name: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    parts.pop();
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIN: &str = "version = \"20260810\"\nurl = \"https://example.org/linux-firmware-20260810.tar.gz\"\n";

    fn pin_text() -> String {
        format!("{PIN}sha256 = \"{}\"\nsha512 = \"{}\"\n", "a".repeat(64), "b".repeat(128))
    }

    #[test]
    fn the_pin_parses_and_names_its_file_in_errors() {
        let pin = LinuxFirmware::from_toml_str(&pin_text()).unwrap();
        assert_eq!(pin.source().name, "linux-firmware");
        assert_eq!(pin.source().file_name(), "linux-firmware-20260810.tar.gz");
        let e = LinuxFirmware::from_toml_str(&pin_text().replace("20260810\"", "2026-08\"")).unwrap_err().to_string();
        assert!(e.starts_with("toolchain/firmware.toml: version `2026-08`"), "{e}");
        let e = LinuxFirmware::from_toml_str(&format!("{}extra = 1\n", pin_text())).unwrap_err().to_string();
        assert!(e.contains("toolchain/firmware.toml") && e.contains("extra"), "{e}");
    }

    #[test]
    fn recipe_versions_must_be_the_pinned_release() {
        let pin = LinuxFirmware::from_toml_str(&pin_text()).unwrap();
        let meta = |date: &str| {
            ExtensionMeta::from_toml_str(
                "fw",
                &format!(
                    "category = \"firmware\"\ntier = \"core\"\nkind = \"firmware\"\nauthor = \"a\"\ndescription = \"d\"\n\
                     arches = [\"amd64\"]\nversion = {{ format = \"firmware\", date = \"{date}\" }}\nfirmware = [\"x\"]\n"
                ),
            )
            .unwrap()
        };
        assert_eq!(pin.check_recipe_version(&meta("20260810")), Ok(()));
        let e = pin.check_recipe_version(&meta("20250410")).unwrap_err();
        assert!(e.contains("`20250410` is not the pinned linux-firmware release `20260810`"), "{e}");
    }

    #[test]
    fn selections_are_plain_relative_paths_with_simple_globs() {
        for ok in ["bnx2x", "intel/ice/ddp/ice.pkg", "ql*_fw.bin", "intel/vpu/*", "rtl_nic/rtl81??-*.fw"] {
            assert_eq!(check_selection(ok), Ok(()), "{ok}");
        }
        for bad in ["", "/usr/lib/firmware/bnx2", "bnx2/", "a//b", "./a", "a/../b", "rtl_{bt,nic}", "a[0-9]"] {
            assert!(check_selection(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn globs_match_like_a_shell() {
        assert!(glob_match("ql*_fw.bin", "ql2500_fw.bin"));
        assert!(glob_match("ql*_fw.bin", "ql_fw.bin"));
        assert!(!glob_match("ql*_fw.bin", "ql2500_fw.bin.orig"));
        assert!(glob_match("*", "a"));
        assert!(!glob_match("*", ".hidden"));
        assert!(glob_match(".h*", ".hidden"));
        assert!(glob_match("a?c", "abc") && !glob_match("a?c", "ac"));
        assert!(glob_match("*a*b*", "xxaxxbxx") && !glob_match("*a*b*", "xxbxxaxx"));
        assert!(path_matches("intel/*/ddp", "intel/ice/ddp"));
        assert!(!path_matches("intel/*", "intel/ice/ddp"), "`*` stays within one component");
        assert!(!path_matches("intel", "intel/ice"));
    }

    #[test]
    fn whence_links_parse_and_stay_inside_the_release() {
        let text = "Driver: ice\nFile: intel/ice/ddp/ice-1.3.36.0.pkg\nLink: intel/ice/ddp/ice.pkg -> ice-1.3.36.0.pkg\n\
                    Licence: Redistributable.\nLink: nvidia/tu104/gr -> ../tu102/gr\n";
        let links = whence_links(text).unwrap();
        assert_eq!(links.len(), 2);
        assert_eq!(
            (links[0].name.as_str(), links[0].target.as_str(), links[0].line),
            ("intel/ice/ddp/ice.pkg", "ice-1.3.36.0.pkg", 3)
        );
        assert_eq!(resolve_link(&links[1].name, &links[1].target).as_deref(), Some("nvidia/tu102/gr"));
        let e = whence_links("\n\nLink: a/b -> ../../c\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.to_string().starts_with("WHENCE line 3: link `a/b` -> `../../c` points outside"), "{e}");
        assert!(whence_links("Link: a -> /abs").is_err());
        assert!(whence_links("Link: a b").is_err());
    }
}
