//! Kernel toolchains: `toolchain/toolchains/<name>.toml`, the key lock `toolchain/keys.lock`, and
//! which toolchain an extension builds with.
//!
//! A toolchain is the kernel that modules are built for: its release string, where its build
//! tree comes from and which compiler builds it. Two kinds exist side by side:
//!
//! - [`ToolchainSpec::Talos`]: the pinned Talos kernel (source tarball, per-arch config, the
//!   `kernel` image carrying signed in-tree modules, `LLVM=1`);
//! - [`ToolchainSpec::Debian`]: Debian's kernel headers and image packages, a stand-in that works
//!   offline from the Debian archive (gcc, not LLVM).
//!
//! Which one a build uses ([`select`]): `TALOS_EXT_TOOLCHAIN` ([`ENV_TOOLCHAIN`]) if set, else the
//! extension's own `toolchain` field, else by rule: examples (`category = "examples"`) use the pin's
//! `[toolchains] examples`, every other extension the pin's `[toolchains] default`.
//!
//! This module only reads and parses; preparing a toolchain is `talos-ext-kernel`'s job.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Arch, ExtensionMeta, Pin, Sha256, Source};

/// Directory of the toolchain definitions, relative to the workspace root.
pub const TOOLCHAINS_DIR: &str = "toolchain/toolchains";

/// The lock of module signing key fingerprints, relative to the workspace root.
pub const KEYS_LOCK_PATH: &str = "toolchain/keys.lock";

/// Names the toolchain every extension of a build uses, overriding metadata and rules.
/// `cargo xtask build --toolchain <name>` sets it.
pub const ENV_TOOLCHAIN: &str = "TALOS_EXT_TOOLCHAIN";

/// A toolchain definition, loaded and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    /// The file stem: `talos-v1.14.0-beta.1`, `debian-6.12`.
    pub name: String,
    pub spec: ToolchainSpec,
}

/// The body of a toolchain file, by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ToolchainSpec {
    Talos(TalosToolchain),
    Debian(DebianToolchain),
}

/// `kind = "talos"`: the pinned Talos kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TalosToolchain {
    pub description: String,
    pub talos: TalosRelease,
    pub kernel: TalosKernel,
    pub compiler: Compiler,
}

/// `[talos]` of a Talos toolchain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TalosRelease {
    /// The Talos tag, `v1.14.0-beta.1`.
    pub tag: String,
    /// The siderolabs/pkgs tag its kernel comes from.
    pub pkgs: String,
}

/// `[kernel]` of a Talos toolchain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TalosKernel {
    /// The upstream version, `6.18.45`.
    pub version: String,
    /// The kernel release (`uname -r`, the modules directory name), `6.18.45-talos`.
    pub release: String,
    /// The image carrying the signed in-tree modules under `/usr/lib/modules/<release>`.
    pub image: String,
    /// The kernel source tarball.
    pub source: Source,
    /// The `.config` per arch.
    pub config: BTreeMap<Arch, ConfigPin>,
}

/// A pinned kernel config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigPin {
    pub url: String,
    pub sha256: Sha256,
}

/// `kind = "debian"`: Debian's kernel packages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebianToolchain {
    pub description: String,
    pub debian: DebianKernel,
    pub compiler: Compiler,
}

/// `[debian]` of a Debian toolchain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebianKernel {
    /// The pinned ABI name, `6.12.117+deb12`.
    pub abi: String,
    /// The series a fallback may pick from, `6.12`.
    pub series: String,
    /// The distribution suffix of ABI names, `deb12`.
    pub suffix: String,
    #[serde(default)]
    pub fallback: Fallback,
    /// The Debian suites whose `main` indexes the packages are looked up in
    /// (`["bookworm", "bookworm-security"]`).
    pub suites: Vec<String>,
    /// Template of the kernel release per arch, `{abi}-{arch}`.
    pub release: String,
    pub packages: DebianPackages,
}

/// Package name templates of a Debian toolchain (`{abi}`, `{arch}` are replaced).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebianPackages {
    /// Per-arch headers (`linux-headers-{abi}-{arch}`).
    pub headers: String,
    /// Arch-independent headers (`linux-headers-{abi}-common`).
    pub common: String,
    /// kbuild programs, always taken for amd64 (`linux-kbuild-{abi}`).
    pub kbuild: String,
    /// The image with the module tree (`linux-image-{abi}-{arch}`).
    pub image: String,
}

/// What to do when the pinned Debian ABI is no longer in the Debian indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fallback {
    /// Use the newest ABI of the same series and suffix, with a message.
    #[default]
    NewestInSeries,
    /// Fail.
    None,
}

/// `[compiler]` of a toolchain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compiler {
    /// Build with `LLVM=1` (clang, lld, llvm binutils) instead of gcc and binutils.
    pub llvm: bool,
    /// The compiler version the kernel was built with (clang `22.1.8`, gcc `12`).
    pub version: String,
    /// The image providing the compiler, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The suffix of the LLVM programs (`-22`: `clang-22`, `ld.lld-22`, ...), passed to kbuild
    /// as `LLVM=-22`; without it, `LLVM=1` and the unsuffixed programs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    /// The Debian packages that provide this exact compiler, installed by `ci/setup.sh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debian: Option<CompilerPackages>,
}

/// `[compiler.debian]`: Debian packages of one exact version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompilerPackages {
    /// Package names (`clang-22`, `lld-22`, `llvm-22`).
    pub packages: Vec<String>,
    /// The Debian version all of them have (`1:22.1.8-1~deb12u1`).
    pub version: String,
    /// The suite that carries that version (`bookworm-security`), for messages.
    pub suite: String,
}

impl Compiler {
    /// The `LLVM=` value of kbuild (`-22` or `1`), `None` for gcc builds.
    pub fn llvm_make_value(&self) -> Option<String> {
        self.llvm.then(|| self.suffix.clone().unwrap_or_else(|| "1".into()))
    }

    /// An LLVM program's name with this compiler's suffix (`clang` -> `clang-22`).
    pub fn llvm_program(&self, name: &str) -> String {
        format!("{name}{}", self.suffix.as_deref().unwrap_or(""))
    }
}

/// A toolchain file that cannot be read, parsed or used.
#[derive(Debug, thiserror::Error)]
pub enum ToolchainError {
    #[error("cannot read {path}: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("no toolchain `{name}`: {path} does not exist (known: {known})")]
    Unknown { name: String, path: PathBuf, known: String },
    #[error("{path}: {field}: {message}")]
    Invalid { path: PathBuf, field: String, message: String },
}

impl Toolchain {
    /// Parses a toolchain file's text; `path` is used in messages, its stem is the name.
    pub fn from_toml_str(path: &Path, text: &str) -> Result<Toolchain, ToolchainError> {
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let parse_err = |message: String| ToolchainError::Parse { path: path.to_path_buf(), message };
        // `kind` first, then the kind's struct, so errors name the field (serde loses the path
        // inside internally tagged enums).
        let mut table: toml::Table = toml::from_str(text).map_err(|e| parse_err(e.to_string()))?;
        let kind = match table.remove("kind") {
            Some(toml::Value::String(k)) => k,
            Some(other) => return Err(parse_err(format!("kind: `{other}` is not a string"))),
            None => return Err(parse_err("kind: missing (`talos` or `debian`)".into())),
        };
        fn body<T: serde::de::DeserializeOwned>(table: toml::Table) -> Result<T, String> {
            serde_path_to_error::deserialize(toml::Value::Table(table))
                .map_err(|e| format!("{}: {}", e.path(), e.inner()))
        }
        let spec = match kind.as_str() {
            "talos" => ToolchainSpec::Talos(body(table).map_err(parse_err)?),
            "debian" => ToolchainSpec::Debian(body(table).map_err(parse_err)?),
            other => return Err(parse_err(format!("kind: `{other}` is neither `talos` nor `debian`"))),
        };
        let tc = Toolchain { name, spec };
        tc.check(path)?;
        Ok(tc)
    }

    /// Reads `toolchain/toolchains/<name>.toml` below a workspace root.
    pub fn load(workspace_root: &Path, name: &str) -> Result<Toolchain, ToolchainError> {
        let path = workspace_root.join(TOOLCHAINS_DIR).join(format!("{name}.toml"));
        if !path.is_file() {
            let known = Toolchain::names(workspace_root).unwrap_or_default().join(", ");
            return Err(ToolchainError::Unknown { name: name.to_string(), path, known });
        }
        let text =
            std::fs::read_to_string(&path).map_err(|cause| ToolchainError::Read { path: path.clone(), cause })?;
        Toolchain::from_toml_str(&path, &text)
    }

    /// The names of every toolchain file, sorted.
    pub fn names(workspace_root: &Path) -> Result<Vec<String>, ToolchainError> {
        let dir = workspace_root.join(TOOLCHAINS_DIR);
        let entries = std::fs::read_dir(&dir).map_err(|cause| ToolchainError::Read { path: dir.clone(), cause })?;
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .collect();
        names.sort();
        Ok(names)
    }

    fn check(&self, path: &Path) -> Result<(), ToolchainError> {
        let invalid = |field: &str, message: String| {
            Err(ToolchainError::Invalid { path: path.to_path_buf(), field: field.to_string(), message })
        };
        if self.name.is_empty() || !self.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return invalid("name", format!("file stem `{}` is not a simple name", self.name));
        }
        match &self.spec {
            ToolchainSpec::Talos(t) => {
                if t.kernel.release.is_empty() || t.kernel.release.contains('/') {
                    return invalid("kernel.release", format!("`{}` is not a kernel release", t.kernel.release));
                }
                if !t.kernel.release.starts_with(&t.kernel.version) {
                    return invalid(
                        "kernel.release",
                        format!("`{}` does not start with kernel.version `{}`", t.kernel.release, t.kernel.version),
                    );
                }
                for arch in Arch::ALL {
                    if !t.kernel.config.contains_key(&arch) {
                        return invalid("kernel.config", format!("no config pinned for {arch}"));
                    }
                }
                if !t.compiler.llvm {
                    return invalid("compiler.llvm", "Talos kernels are built with LLVM=1".into());
                }
                if let Some(suffix) = &t.compiler.suffix
                    && !(suffix.starts_with('-') && suffix.len() > 1 && suffix[1..].bytes().all(|b| b.is_ascii_digit()))
                {
                    return invalid("compiler.suffix", format!("`{suffix}` is not `-<major>` (e.g. `-22`)"));
                }
                if let Some(d) = &t.compiler.debian
                    && !d.version.contains(&t.compiler.version)
                {
                    return invalid(
                        "compiler.debian.version",
                        format!("`{}` is not a packaging of compiler.version `{}`", d.version, t.compiler.version),
                    );
                }
            }
            ToolchainSpec::Debian(d) => {
                let k = &d.debian;
                if !k.abi.starts_with(&format!("{}.", k.series)) || !k.abi.ends_with(&format!("+{}", k.suffix)) {
                    return invalid(
                        "debian.abi",
                        format!("`{}` is not `{}.N+{}` (debian.series, debian.suffix)", k.abi, k.series, k.suffix),
                    );
                }
                for (field, template) in [
                    ("debian.release", &k.release),
                    ("debian.packages.headers", &k.packages.headers),
                    ("debian.packages.image", &k.packages.image),
                ] {
                    if !template.contains("{abi}") || !template.contains("{arch}") {
                        return invalid(field, format!("`{template}` must contain `{{abi}}` and `{{arch}}`"));
                    }
                }
                for (field, template) in
                    [("debian.packages.common", &k.packages.common), ("debian.packages.kbuild", &k.packages.kbuild)]
                {
                    if !template.contains("{abi}") {
                        return invalid(field, format!("`{template}` must contain `{{abi}}`"));
                    }
                }
            }
        }
        Ok(())
    }

    /// `talos` or `debian`.
    pub fn kind(&self) -> &'static str {
        match &self.spec {
            ToolchainSpec::Talos(_) => "talos",
            ToolchainSpec::Debian(_) => "debian",
        }
    }

    /// Whether modules are built with LLVM (`LLVM=1` or `LLVM=-<major>`).
    pub fn llvm(&self) -> bool {
        self.compiler().llvm
    }

    /// The `[compiler]` table.
    pub fn compiler(&self) -> &Compiler {
        match &self.spec {
            ToolchainSpec::Talos(t) => &t.compiler,
            ToolchainSpec::Debian(d) => &d.compiler,
        }
    }

    /// The one-line description.
    pub fn description(&self) -> &str {
        match &self.spec {
            ToolchainSpec::Talos(t) => &t.description,
            ToolchainSpec::Debian(d) => &d.description,
        }
    }

    /// The kernel release for `arch` with the pinned version (Debian: the pinned ABI; see
    /// [`DebianKernel::release_for`] for a resolved one).
    pub fn kernel_release(&self, arch: Arch) -> String {
        match &self.spec {
            ToolchainSpec::Talos(t) => t.kernel.release.clone(),
            ToolchainSpec::Debian(d) => d.debian.release_for(&d.debian.abi, arch),
        }
    }
}

impl DebianKernel {
    fn fill(template: &str, abi: &str, arch: Arch) -> String {
        template.replace("{abi}", abi).replace("{arch}", arch.as_str())
    }

    /// The kernel release of ABI `abi` for `arch` (`6.12.117+deb12-amd64`).
    pub fn release_for(&self, abi: &str, arch: Arch) -> String {
        Self::fill(&self.release, abi, arch)
    }

    /// The packages to download for ABI `abi` and `arch`, with the architecture qualifier apt
    /// needs (`:arm64`, `:amd64`): headers, common, kbuild (always amd64).
    pub fn header_packages(&self, abi: &str, arch: Arch) -> [String; 3] {
        [
            format!("{}:{arch}", Self::fill(&self.packages.headers, abi, arch)),
            Self::fill(&self.packages.common, abi, arch),
            format!("{}:amd64", Self::fill(&self.packages.kbuild, abi, Arch::Amd64)),
        ]
    }

    /// The image package (module tree) for ABI `abi` and `arch`, with its architecture qualifier.
    pub fn image_package(&self, abi: &str, arch: Arch) -> String {
        format!("{}:{arch}", Self::fill(&self.packages.image, abi, arch))
    }

    /// The name of the common headers package, whose presence in the Debian indexes decides whether
    /// an ABI is available.
    pub fn common_package(&self, abi: &str) -> String {
        Self::fill(&self.packages.common, abi, Arch::Amd64)
    }

    /// Whether `abi` belongs to this toolchain's series and suffix (`6.12.N+deb12`), and its patch
    /// number `N`.
    pub fn series_patch(&self, abi: &str) -> Option<u32> {
        let rest = abi.strip_prefix(&self.series)?.strip_prefix('.')?;
        let n = rest.strip_suffix(&self.suffix)?.strip_suffix('+')?;
        n.parse().ok()
    }
}

/// How a toolchain was chosen for an extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectedBy {
    /// [`ENV_TOOLCHAIN`].
    Env,
    /// The extension's `toolchain` field.
    Metadata,
    /// The pin's `[toolchains] examples` (the extension is an example).
    ExamplesRule,
    /// The pin's `[toolchains] default`.
    DefaultRule,
}

impl fmt::Display for SelectedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SelectedBy::Env => ENV_TOOLCHAIN,
            SelectedBy::Metadata => "the extension's `toolchain` field",
            SelectedBy::ExamplesRule => "toolchain/pin.toml [toolchains] examples",
            SelectedBy::DefaultRule => "toolchain/pin.toml [toolchains] default",
        })
    }
}

/// The toolchain an extension builds with, and why (see the module docs). `env` is the value
/// of [`ENV_TOOLCHAIN`] (empty counts as unset). `None` when nothing names one.
pub fn select(meta: &ExtensionMeta, pin: &Pin, env: Option<&str>) -> Option<(String, SelectedBy)> {
    if let Some(name) = env.map(str::trim).filter(|n| !n.is_empty()) {
        return Some((name.to_string(), SelectedBy::Env));
    }
    if let Some(name) = &meta.toolchain {
        return Some((name.clone(), SelectedBy::Metadata));
    }
    if meta.category == "examples"
        && let Some(name) = &pin.toolchains.examples
    {
        return Some((name.clone(), SelectedBy::ExamplesRule));
    }
    pin.toolchains.default.clone().map(|n| (n, SelectedBy::DefaultRule))
}

/// `toolchain/keys.lock`: the sha256 fingerprint of the module signing certificate per
/// toolchain. A kernel built to trust one key loads only modules signed with it, so a build
/// whose key differs from the lock must stop.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysLock {
    /// Toolchain name → lower-case hex sha256 of the DER certificate.
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
}

/// The header written above the entries of `toolchain/keys.lock`.
pub const KEYS_LOCK_HEADER: &str = "\
# Module signing key fingerprints per kernel toolchain: sha256 of the DER certificate
# (`openssl x509 -noout -fingerprint -sha256`, without colons, lower case).
#
# A kernel trusts the key it was built with; a module signed with any other key does not load.
# A build whose key does not match its toolchain's entry here fails. Change an entry only on
# purpose, with `cargo xtask toolchain rekey --toolchain <name>`, and rebuild that kernel.
";

impl KeysLock {
    /// Parses lock text; `path` is used in messages.
    pub fn from_toml_str(path: &Path, text: &str) -> Result<KeysLock, ToolchainError> {
        let lock: KeysLock = toml::from_str(text)
            .map_err(|e| ToolchainError::Parse { path: path.to_path_buf(), message: e.to_string() })?;
        for (name, fp) in &lock.keys {
            if fp.len() != 64 || !fp.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Err(ToolchainError::Invalid {
                    path: path.to_path_buf(),
                    field: format!("keys.{name}"),
                    message: format!("`{fp}` is not 64 lower-case hex digits"),
                });
            }
        }
        Ok(lock)
    }

    /// Reads a lock file; a missing file is an empty lock.
    pub fn load(path: &Path) -> Result<KeysLock, ToolchainError> {
        match std::fs::read_to_string(path) {
            Ok(text) => KeysLock::from_toml_str(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KeysLock::default()),
            Err(source) => Err(ToolchainError::Read { path: path.to_path_buf(), cause: source }),
        }
    }

    /// The lock file's text: [`KEYS_LOCK_HEADER`] and the entries, sorted.
    pub fn to_toml(&self) -> String {
        let mut out = format!("{KEYS_LOCK_HEADER}\n[keys]\n");
        for (name, fp) in &self.keys {
            out.push_str(&format!("{} = \"{fp}\"\n", toml_key(name)));
        }
        out
    }
}

fn toml_key(name: &str) -> String {
    if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).map(Path::to_path_buf).unwrap_or_default()
    }

    #[test]
    fn workspace_toolchains_load() {
        let root = root();
        let names = Toolchain::names(&root).unwrap();
        assert!(names.contains(&"debian-6.12".to_string()), "{names:?}");
        for name in &names {
            let tc = Toolchain::load(&root, name).unwrap();
            assert!(!tc.kernel_release(Arch::Arm64).is_empty());
        }
        let talos = Toolchain::load(&root, "talos-v1.14.0-beta.1").unwrap();
        assert_eq!(talos.kernel_release(Arch::Amd64), "6.18.45-talos");
        assert!(talos.llvm());
        assert_eq!(talos.compiler().llvm_make_value().as_deref(), Some("-22"));
        assert_eq!(talos.compiler().llvm_program("llvm-strip"), "llvm-strip-22");
        let packages = talos.compiler().debian.as_ref().expect("the Talos compiler is pinned to Debian packages");
        assert_eq!(packages.version, "1:22.1.8-1~deb12u1");
        let debian = Toolchain::load(&root, "debian-6.12").unwrap();
        assert!(!debian.llvm());
        let ToolchainSpec::Debian(d) = &debian.spec else { panic!("kind") };
        assert_eq!(d.debian.release_for("6.12.117+deb12", Arch::Arm64), "6.12.117+deb12-arm64");
        assert_eq!(
            d.debian.header_packages("6.12.117+deb12", Arch::Arm64),
            [
                "linux-headers-6.12.117+deb12-arm64:arm64".to_string(),
                "linux-headers-6.12.117+deb12-common".to_string(),
                "linux-kbuild-6.12.117+deb12:amd64".to_string()
            ]
        );
        assert_eq!(d.debian.series_patch("6.12.95+deb12"), Some(95));
        assert_eq!(d.debian.series_patch("6.1.0+deb12"), None);
        let e = Toolchain::load(&root, "nope").unwrap_err().to_string();
        assert!(e.contains("debian-6.12"), "{e}");
    }

    #[test]
    fn errors_name_file_and_field() {
        let e = Toolchain::from_toml_str(Path::new("x/t.toml"), "kind = \"debian\"\ndescription = 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x/t.toml") && e.contains("description"), "{e}");
        let text = std::fs::read_to_string(root().join(TOOLCHAINS_DIR).join("debian-6.12.toml")).unwrap();
        let bad = text.replace("abi = \"6.12.117+deb12\"", "abi = \"6.1.0-56\"");
        let e = Toolchain::from_toml_str(Path::new("d.toml"), &bad).unwrap_err().to_string();
        assert!(e.contains("debian.abi"), "{e}");
        let talos = std::fs::read_to_string(root().join(TOOLCHAINS_DIR).join("talos-v1.14.0-beta.1.toml")).unwrap();
        for (from, to, field) in [
            ("suffix = \"-22\"", "suffix = \"22\"", "compiler.suffix"),
            ("version = \"1:22.1.8-1~deb12u1\"", "version = \"1:21.1.8-1\"", "compiler.debian.version"),
        ] {
            assert!(talos.contains(from), "{from}");
            let e = Toolchain::from_toml_str(Path::new("t.toml"), &talos.replace(from, to)).unwrap_err().to_string();
            assert!(e.contains("t.toml") && e.contains(field), "{e}");
        }
    }

    #[test]
    fn keys_lock_round_trip() {
        let mut lock = KeysLock::default();
        lock.keys.insert("debian-6.12".into(), "a".repeat(64));
        lock.keys.insert("talos-v1.14.0-beta.1".into(), "b".repeat(64));
        let text = lock.to_toml();
        assert_eq!(KeysLock::from_toml_str(Path::new("k"), &text).unwrap(), lock);
        let e = KeysLock::from_toml_str(Path::new("k"), "[keys]\nx = \"zz\"\n").unwrap_err().to_string();
        assert!(e.contains("keys.x"), "{e}");
    }
}
