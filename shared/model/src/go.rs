//! Go builds in the model: the `[go]` table of a `go-build` recipe's metadata ([`GoBuild`]) and
//! the pinned Go toolchain, `toolchain/go.toml` ([`GoToolchain`]).
//!
//! A recipe names the upstream module and version it builds, the packages, the linker stamps,
//! build tags, whether it needs cgo, and the **module graph hash**: one sha256 over the sorted
//! `<module path> <version> <h1:zip hash>` lines of every module whose packages the build compiles
//! (Nix's `vendorHash`, in Go's own terms), so a changed dependency is a pin change. The crate
//! carries a small wrapper module (`go/go.mod` + `go/go.sum`) that requires the upstream module
//! (and repeats upstream's `replace` lines), in which `go build <package>` runs.
//!
//! A program that is the recipe's own code (no upstream module: nvidia-gdrdrv-device) lives in
//! the crate's `go/` directory itself: its `go.mod` declares the `[go]` module, which then needs
//! no `require` of itself, and `version` is only the version the program is released as.
//!
//! Where the module proxy does not serve the module the programs live in (a repository's nested
//! `cmd` module), the build runs in the recipe's pinned source tree instead (`source`
//! names the pinned source, `dir` the module's directory in it): upstream's own
//! `go.mod`/`go.sum` with the dependencies from the proxy (`-mod=readonly`), or its `vendor/`
//! directory (`-mod=vendor`, nothing downloaded). The graph hash covers the same lines either
//! way; `replace` lines pointing into the tree are covered by the source's own pin.
//!
//! The toolchain is the official Go release as the go command itself fetches it for
//! `GOTOOLCHAIN`: the module `golang.org/toolchain@v0.0.1-<version>.<os>-<arch>` from the module
//! proxy, pinned by sha256 and sha512 per host.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Arch, Sha256, Sha512, Source};

/// Where the Go toolchain pin lives, relative to the workspace root.
pub const GO_TOOLCHAIN_PATH: &str = "toolchain/go.toml";

/// The wrapper module's directory in a `go-build` recipe crate.
pub const GO_WRAPPER_DIR: &str = "go";

/// The module proxy the toolchain and modules come from when no mirror has them.
pub const GO_PROXY: &str = "https://proxy.golang.org";

/// `[package.metadata.talos-extension.go]`: what a `go-build` recipe builds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoBuild {
    /// The upstream module path (`tailscale.com`, `k8s.io/cloud-provider-aws`).
    pub module: String,
    /// The module version the wrapper module requires (`v1.102.5`); for the crate's own module
    /// (its `go/go.mod` declares `module`), the version the program is released as.
    pub version: String,
    /// Packages to build, as import paths (`tailscale.com/cmd/tailscaled`); each gives one
    /// program named after the package's last element.
    pub packages: Vec<String>,
    /// `-X` stamps and other linker flags, added after `-s -w -buildid=`. `{goarch}` stands for
    /// the arch being built, as Go names it (`amd64`, `arm64`), for stamps upstream takes from
    /// `go env GOARCH`; no other `{...}` is allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ldflags: Vec<String>,
    /// Build tags (`-tags`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Whether the build needs cgo (`CGO_ENABLED=1`); off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cgo: bool,
    /// The C library a cgo build links (`musl`, the default: the musl cross compiler, a static
    /// link; `glibc`: Debian's glibc cross compiler, a dynamic link against the glibc loader the
    /// `glibc` extension puts on the node, [`glibc_loader`]). Only with `cgo = true`.
    #[serde(default, skip_serializing_if = "GoLibc::is_musl")]
    pub libc: GoLibc,
    /// Flags for the external linker of a cgo build (`-extldflags`), after the ones the build
    /// sets (`-static`, or the glibc loader); one flag each, no spaces (`-Wl,-z,lazy`). Only
    /// with `cgo = true`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extldflags: Vec<String>,
    /// sha256 over the sorted `<path> <version> <h1:...>` lines of the modules the build uses.
    /// Required for a wrapper-module build; a source-tree build (`source`) may leave it out when
    /// it cannot be computed where the recipe is written: the tree's `go.sum`, covered by the
    /// source's sha256, pins every module's hash, which go checks on download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph_hash: Option<Sha256>,
    /// Build in the recipe's pinned source tree instead of the wrapper module `go/`: the pinned
    /// source (by name) whose unpacked tree holds the Go module.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The module's directory inside that tree (`cmd`); its top when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub dir: String,
    /// Build from the tree's `vendor/` directory (`-mod=vendor`, nothing downloaded) instead of
    /// downloading what its `go.sum` pins through the module proxy (`-mod=readonly`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub vendor: bool,
}

/// The C library of a cgo build (`[go] libc`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GoLibc {
    /// musl, statically linked (what runs on Talos without anything else).
    #[default]
    Musl,
    /// glibc, dynamically linked against [`glibc_loader`]: for programs that must load glibc
    /// libraries (NVIDIA's), on a node with the `glibc` extension.
    Glibc,
}

impl GoLibc {
    fn is_musl(&self) -> bool {
        *self == GoLibc::Musl
    }
}

/// The glibc dynamic loader a `libc = "glibc"` program declares: where the `glibc` extension
/// installs it on the node (`/usr/lib`, which Talos allows extensions to add to).
pub fn glibc_loader(arch: Arch) -> &'static str {
    match arch {
        Arch::Amd64 => "/usr/lib/ld-linux-x86-64.so.2",
        Arch::Arm64 => "/usr/lib/ld-linux-aarch64.so.1",
    }
}

impl GoBuild {
    /// Checks the table; errors are `(field below go., message)`.
    pub(crate) fn check(&self) -> Result<(), (String, String)> {
        let fail = |field: &str, message: String| Err((format!("go.{field}"), message));
        if !is_module_path(&self.module) {
            return fail("module", format!("`{}` is not a module path like `tailscale.com`", self.module));
        }
        if !is_semver(&self.version) {
            return fail("version", format!("`{}` is not a module version like `v1.2.3`", self.version));
        }
        if self.packages.is_empty() {
            return fail("packages", "must name at least one package to build".into());
        }
        for (i, p) in self.packages.iter().enumerate() {
            if !(p == &self.module || p.starts_with(&format!("{}/", self.module))) || !is_module_path(p) {
                return fail(
                    &format!("packages[{i}]"),
                    format!("`{p}` is not a package of module `{}` (an import path below it)", self.module),
                );
            }
        }
        for (i, f) in self.ldflags.iter().enumerate() {
            if f.trim().is_empty() || f.chars().any(char::is_whitespace) {
                return fail(&format!("ldflags[{i}]"), format!("`{f}` must be one flag without spaces"));
            }
            if ["-s", "-w"].contains(&f.as_str()) || f.starts_with("-buildid") {
                return fail(&format!("ldflags[{i}]"), format!("`{f}` is always set by the build; leave it out"));
            }
            if f.replace(GOARCH_PLACEHOLDER, "").contains(['{', '}']) {
                return fail(
                    &format!("ldflags[{i}]"),
                    format!("`{f}` has a placeholder other than `{GOARCH_PLACEHOLDER}`"),
                );
            }
        }
        if !self.cgo && self.libc != GoLibc::Musl {
            return fail("libc", "a C library is chosen only for a cgo build (`cgo = true`)".into());
        }
        if !self.cgo && !self.extldflags.is_empty() {
            return fail("extldflags", "external linker flags apply only to a cgo build (`cgo = true`)".into());
        }
        for (i, f) in self.extldflags.iter().enumerate() {
            if f.trim().is_empty() || f.chars().any(char::is_whitespace) || f.contains(['\'', '"']) {
                return fail(&format!("extldflags[{i}]"), format!("`{f}` must be one flag without spaces or quotes"));
            }
            if f == "-static" || f.contains("--dynamic-linker") {
                return fail(
                    &format!("extldflags[{i}]"),
                    format!("`{f}` is set by the build from `libc`; leave it out"),
                );
            }
        }
        for (i, t) in self.tags.iter().enumerate() {
            if t.is_empty() || !t.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
                return fail(&format!("tags[{i}]"), format!("`{t}` is not a build tag"));
            }
        }
        match &self.source {
            None if !self.dir.is_empty() || self.vendor => {
                let field = if self.vendor { "vendor" } else { "dir" };
                return fail(field, "applies to a source-tree build only: name the pinned `source` too".into());
            }
            Some(s) if s.is_empty() => return fail("source", "must name a pinned source of the recipe".into()),
            _ => {}
        }
        if self.graph_hash.is_none() && self.source.is_none() {
            return fail("graph_hash", "required (a wrapper-module build is pinned by its graph hash)".into());
        }
        let d = &self.dir;
        if !d.is_empty() && (d.starts_with('/') || !d.split('/').all(|e| !e.is_empty() && e != "." && e != "..")) {
            return fail("dir", format!("`{d}` is not a relative directory inside the source tree (like `cmd`)"));
        }
        Ok(())
    }

    /// Whether the build runs in the recipe's pinned source tree (not the wrapper module).
    pub fn from_source_tree(&self) -> bool {
        self.source.is_some()
    }

    /// The linker flags for one arch (`goarch` as Go names it), placeholders filled in.
    pub fn ldflags_for(&self, goarch: &str) -> Vec<String> {
        self.ldflags.iter().map(|f| f.replace(GOARCH_PLACEHOLDER, goarch)).collect()
    }

    /// The program names: the last element of each package path.
    pub fn programs(&self) -> Vec<&str> {
        self.packages.iter().map(|p| p.rsplit('/').next().unwrap_or(p)).collect()
    }
}

/// Stands for the Go arch in `ldflags`.
pub const GOARCH_PLACEHOLDER: &str = "{goarch}";

fn is_module_path(p: &str) -> bool {
    !p.is_empty()
        && p.split('/').all(|e| !e.is_empty() && e != "." && e != "..")
        && p.chars().all(|c| c.is_ascii_alphanumeric() || "-._~/".contains(c))
}

fn is_semver(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else { return false };
    let core = rest.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `toolchain/go.toml`: the Go release every Go build uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoToolchain {
    /// `go1.26.8`.
    pub version: String,
    /// The toolchain module zip per host (`linux-amd64`, `linux-arm64`).
    pub hosts: BTreeMap<String, GoToolchainHost>,
}

/// One host's toolchain zip, pinned.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoToolchainHost {
    pub sha256: Sha256,
    pub sha512: Sha512,
}

/// `toolchain/go.toml` that cannot be read, parsed, or has no entry for this host.
#[derive(Debug, thiserror::Error)]
pub enum GoToolchainError {
    #[error("cannot read {path}: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
}

impl GoToolchain {
    /// Reads `<root>/toolchain/go.toml`.
    pub fn load(root: &Path) -> Result<GoToolchain, GoToolchainError> {
        let path = root.join(GO_TOOLCHAIN_PATH);
        let text =
            std::fs::read_to_string(&path).map_err(|cause| GoToolchainError::Read { path: path.clone(), cause })?;
        Self::from_toml_str(&text).map_err(|message| GoToolchainError::Parse { path, message })
    }

    /// Parses the file's text; the error names the field.
    pub fn from_toml_str(text: &str) -> Result<GoToolchain, String> {
        let de = toml::Deserializer::parse(text).map_err(|e| e.to_string())?;
        let tc: GoToolchain =
            serde_path_to_error::deserialize(de).map_err(|e| format!("{}: {}", e.path(), e.inner().message()))?;
        let v = tc.version.strip_prefix("go").unwrap_or("");
        if v.is_empty() || !v.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) {
            return Err(format!("version: `{}` is not a Go release like `go1.26.8`", tc.version));
        }
        for host in tc.hosts.keys() {
            if !["linux-amd64", "linux-arm64"].contains(&host.as_str()) {
                return Err(format!("hosts.{host}: not one of `linux-amd64`, `linux-arm64`"));
            }
        }
        Ok(tc)
    }

    /// The host key of the machine this runs on (`linux-amd64`), if it is one Go builds run on.
    pub fn host_key() -> Option<&'static str> {
        match (std::env::consts::OS, std::env::consts::ARCH) {
            ("linux", "x86_64") => Some("linux-amd64"),
            ("linux", "aarch64") => Some("linux-arm64"),
            _ => None,
        }
    }

    /// The toolchain module's version: `v0.0.1-go1.26.8.linux-amd64`.
    pub fn module_version(&self, host: &str) -> String {
        format!("v0.0.1-{}.{host}", self.version)
    }

    /// The pinned toolchain zip of `host` as a source (the module proxy's URL).
    pub fn source(&self, host: &str) -> Option<Source> {
        let h = self.hosts.get(host)?;
        Some(Source {
            name: format!("go-toolchain-{host}"),
            url: format!("{GO_PROXY}/golang.org/toolchain/@v/{}.zip", self.module_version(host)),
            sha256: h.sha256.clone(),
            sha512: h.sha512.clone(),
            arch: None,
        })
    }

    /// The `GOARCH` of a target arch.
    pub fn goarch(arch: Arch) -> &'static str {
        match arch {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(extra: &str) -> Result<GoBuild, (String, String)> {
        let text = format!(
            "module = \"tailscale.com\"\nversion = \"v1.102.5\"\npackages = [\"tailscale.com/cmd/tailscaled\"]\ngraph_hash = \"{}\"\n{extra}",
            "0".repeat(64)
        );
        let b: GoBuild = toml::from_str(&text).map_err(|e| ("parse".to_string(), e.to_string()))?;
        b.check()?;
        Ok(b)
    }

    #[test]
    fn checks_name_the_field() {
        let ok = build("ldflags = [\"-X=tailscale.com/version.longStamp=1.102.5\"]\ntags = [\"ts_omit_aws\"]").unwrap();
        assert_eq!(ok.programs(), ["tailscaled"]);
        assert!(!ok.cgo);
        assert_eq!(build("ldflags = [\"-s\"]").unwrap_err().0, "go.ldflags[0]");
        assert_eq!(build("ldflags = [\"-X a=b c\"]").unwrap_err().0, "go.ldflags[0]");
        assert_eq!(build("ldflags = [\"-X=main.p={arch}\"]").unwrap_err().0, "go.ldflags[0]");
        let per_arch = build("ldflags = [\"-X=main.p=linux_{goarch}\", \"-X=main.v=1\"]").unwrap();
        assert_eq!(per_arch.ldflags_for("arm64"), ["-X=main.p=linux_arm64", "-X=main.v=1"]);
        assert_eq!(build("tags = [\"a b\"]").unwrap_err().0, "go.tags[0]");
        assert_eq!(ok.libc, GoLibc::Musl);
        let glibc = build("cgo = true\nlibc = \"glibc\"\nextldflags = [\"-Wl,-z,lazy\"]").unwrap();
        assert_eq!((glibc.libc, glibc.extldflags.as_slice()), (GoLibc::Glibc, &["-Wl,-z,lazy".to_string()][..]));
        assert_eq!(build("libc = \"glibc\"").unwrap_err().0, "go.libc");
        assert_eq!(build("extldflags = [\"-Wl,-z,lazy\"]").unwrap_err().0, "go.extldflags");
        assert_eq!(build("cgo = true\nextldflags = [\"-Wl,-z lazy\"]").unwrap_err().0, "go.extldflags[0]");
        assert_eq!(build("cgo = true\nextldflags = [\"-static\"]").unwrap_err().0, "go.extldflags[0]");
        assert!(build("cgo = true\nlibc = \"uclibc\"").is_err());
        assert_eq!(glibc_loader(Arch::Arm64), "/usr/lib/ld-linux-aarch64.so.1");
        let other = build("").map(|mut b| {
            b.packages = vec!["example.com/x".into()];
            b.check()
        });
        assert_eq!(other.unwrap().unwrap_err().0, "go.packages[0]");
        let mut b = build("").unwrap();
        b.version = "1.102.5".into();
        assert_eq!(b.check().unwrap_err().0, "go.version");
    }

    #[test]
    fn source_tree_keys() {
        let wrapper = build("").unwrap();
        assert!(!wrapper.from_source_tree());
        assert_eq!((wrapper.source, wrapper.dir.as_str(), wrapper.vendor), (None, "", false));
        let tree = build("source = \"stargz\"\ndir = \"cmd\"").unwrap();
        assert!(tree.from_source_tree());
        assert_eq!((tree.source.as_deref(), tree.dir.as_str(), tree.vendor), (Some("stargz"), "cmd", false));
        assert!(build("source = \"kata\"\ndir = \"src/runtime\"\nvendor = true").unwrap().vendor);
        assert_eq!(build("dir = \"cmd\"").unwrap_err().0, "go.dir");
        assert_eq!(build("vendor = true").unwrap_err().0, "go.vendor");
        assert_eq!(build("source = \"\"").unwrap_err().0, "go.source");
        for bad in ["../x", "/cmd", "a//b", "./cmd"] {
            assert_eq!(build(&format!("source = \"s\"\ndir = \"{bad}\"")).unwrap_err().0, "go.dir", "{bad}");
        }
        assert!(build("sourse = \"s\"").is_err(), "unknown keys are refused");
        let mut unhashed = build("").unwrap();
        unhashed.graph_hash = None;
        assert_eq!(unhashed.check().unwrap_err().0, "go.graph_hash");
        unhashed.source = Some("tree".into());
        unhashed.check().unwrap();
    }

    #[test]
    fn toolchain_file() {
        let text = format!(
            "version = \"go1.26.8\"\n[hosts.linux-amd64]\nsha256 = \"{}\"\nsha512 = \"{}\"\n",
            "a".repeat(64),
            "b".repeat(128)
        );
        let tc = GoToolchain::from_toml_str(&text).unwrap();
        let src = tc.source("linux-amd64").unwrap();
        assert_eq!(src.url, "https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go1.26.8.linux-amd64.zip");
        assert!(tc.source("linux-arm64").is_none());
        let e = GoToolchain::from_toml_str(&text.replace("go1.26.8", "1.26")).unwrap_err();
        assert!(e.starts_with("version:"), "{e}");
        let e = GoToolchain::from_toml_str(&text.replace("linux-amd64", "darwin-amd64")).unwrap_err();
        assert!(e.starts_with("hosts.darwin-amd64"), "{e}");
    }
}
