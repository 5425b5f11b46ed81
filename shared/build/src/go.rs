//! Go builds done the cargo way: the pinned toolchain, the module graph, and the hermetic build.
//!
//! - **Toolchain** ([`GoTool::prepare`]): the release `toolchain/go.toml` pins, as the go command
//!   itself fetches it for `GOTOOLCHAIN` (the module zip `golang.org/toolchain@v0.0.1-<version>.
//!   <host>`), through the fetch client (cache, mirrors, offline, sha256 + sha512), unpacked once
//!   into `<cache>/go/toolchain/<version>.<host>/`. A `go` on the machine is never used.
//! - **Modules** ([`resolve`]): in the recipe's wrapper module (`go/go.mod` + `go/go.sum`), `go
//!   list -deps` of the packages for every arch, with `GOPROXY` set to the mirrors' `go/`
//!   directories and then the module proxy (or `off` when offline without mirrors), downloads
//!   what the build needs into the private `GOMODCACHE` (`<cache>/go/mod`), go checking every
//!   module against `go.sum`. The **graph hash** is the sha256 of the sorted `<path> <version>
//!   <h1:...>` lines of the modules whose packages are built; it must equal the pinned
//!   `go.graph_hash`, or nothing is built.
//! - **Build** ([`Stage::go_build`]): `go build` with `GOPROXY=off` (the network is never
//!   touched), `GOFLAGS=-mod=readonly -trimpath -buildvcs=false`, `CGO_ENABLED=0` unless the
//!   recipe declares cgo (then the engine's musl cross compiler, the sysroot of its internal
//!   library stages and a static external link: `Stage::cgo_env`), `GOOS=linux GOARCH=<arch>`, `GOTOOLCHAIN=local`, the private module and
//!   build caches (`<cache>/go/build`), and `-ldflags "-s -w -buildid= <stamps>"`, so the same
//!   recipe built anywhere gives the same bytes.
//! - **Source trees** ([`GoModule::tree`]): where the module proxy does not serve the module the
//!   programs live in (a nested `cmd` module with `replace ../` lines), the `[go]` table names a
//!   pinned `source` and the module's `dir` in it, and `go` runs there: upstream's own `go.mod` and
//!   `go.sum` with the dependencies from the proxy (`-mod=readonly`, the graph hash over the
//!   modules' `h1:` hashes as go verified them), or its `vendor/` directory (`vendor = true`:
//!   `-mod=vendor`, `GOPROXY=off` even to resolve, the `h1:` hashes as the tree's `go.sum`
//!   declares them). Local `replace` targets must stay inside the tree: the source's own pin
//!   covers them, so they are not graph lines.
//! - **Mirror** ([`mirror_modules`]): the module cache's download tree is the module proxy's
//!   layout (`<escaped path>/@v/<version>.{info,mod,zip}` and `list`), so copying it to
//!   `<mirror>/go/` makes any directory or HTTP mirror a `GOPROXY` for air-gapped builds.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256, Sha512};
use talos_ext_fetch::{FetchConfig, Mirror, Reporter};
use talos_ext_model::go::GO_PROXY;
use talos_ext_model::{Arch, ExtensionMeta, GO_WRAPPER_DIR, GoBuild, GoLibc, GoToolchain, Pin, Source, glibc_loader};

use crate::stage::Stage;
use crate::step::{Command, Env};

/// The directory of a mirror (and of the module cache's download tree) that serves Go modules.
pub const MIRROR_GO_DIR: &str = "go";

/// The pinned Go toolchain, unpacked and checked.
#[derive(Debug, Clone)]
pub struct GoTool {
    /// `go1.26.8`.
    pub version: String,
    /// The `go` binary.
    pub go: PathBuf,
    /// The toolchain zip it was unpacked from (for the SBOM).
    pub source: Source,
    /// The cache root (`<cache>/go/...` lives below it).
    cache_dir: PathBuf,
}

impl GoTool {
    /// Fetches (or finds in the cache) and unpacks the toolchain `toolchain/go.toml` pins for
    /// this host, then checks that the unpacked `go` reports that version.
    pub fn prepare(root: &Path, fetch: &FetchConfig, reporter: &dyn Reporter) -> Result<GoTool> {
        let tc = GoToolchain::load(root)?;
        let host = GoToolchain::host_key().context("Go builds run on linux amd64 or arm64 hosts only")?;
        let source = tc.source(host).with_context(|| {
            format!(
                "{}: no [hosts.{host}] entry: the Go toolchain is not pinned for this host",
                root.join(talos_ext_model::GO_TOOLCHAIN_PATH).display()
            )
        })?;
        let zip = talos_ext_fetch::fetch(fetch, "go-toolchain", &source, reporter)
            .with_context(|| format!("fetching the Go toolchain {} for {host}", tc.version))?;
        let dir = fetch.cache_dir.join("go/toolchain").join(format!(
            "{}.{host}-{}",
            tc.version,
            &source.sha256.as_str()[..16]
        ));
        let go = dir.join("bin/go");
        if !go.is_file() {
            let _lock = talos_ext_fs::lock_file(&fetch.cache_dir.join("locks/go-toolchain.lock"))?;
            if !go.is_file() {
                talos_ext_fs::remove_dir_if_exists(&dir)?;
                // `golang.org/toolchain@v0.0.1-go1.26.8.linux-amd64/...`: two components.
                talos_ext_archive::unpack(&zip, &dir, &talos_ext_archive::UnpackOptions { strip_components: 2 })
                    .with_context(|| format!("unpacking the Go toolchain {} into {}", tc.version, dir.display()))?;
                // Module zips need not carry modes; the go command makes these executable too.
                for sub in ["bin", &format!("pkg/tool/{}", host.replace('-', "_"))] {
                    for entry in talos_ext_fs::sorted_entries(&dir.join(sub))? {
                        let path = entry.path();
                        if path.is_file() {
                            fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
                                .with_context(|| format!("setting mode 755 on {}", path.display()))?;
                        }
                    }
                }
            }
        }
        let tool = GoTool { version: tc.version.clone(), go, source, cache_dir: fetch.cache_dir.clone() };
        let reported = tool.command("go-version", &dir).args(["env", "GOVERSION"]).read()?;
        if reported.trim() != tc.version {
            bail!(
                "{} reports Go {}, but toolchain/go.toml pins {}: remove {} and retry",
                tool.go.display(),
                reported.trim(),
                tc.version,
                dir.display()
            );
        }
        Ok(tool)
    }

    /// The private module cache: `<cache>/go/mod`.
    pub fn mod_cache(&self) -> PathBuf {
        self.cache_dir.join("go/mod")
    }

    /// The shared build cache: `<cache>/go/build` (content-addressed by the go command; safe to
    /// share between builds, recipes and arches).
    pub fn build_cache(&self) -> PathBuf {
        self.cache_dir.join("go/build")
    }

    /// A `go` command with the hermetic environment (no proxy, read-only modules, private
    /// caches, this toolchain only); callers add `GOPROXY`, `GOOS`/`GOARCH` and the like.
    pub fn command(&self, name: &str, dir: &Path) -> Command {
        let mut env = Env::base();
        let home = self.cache_dir.join("go/home");
        env.set("HOME", &home)
            .set("GOPATH", self.cache_dir.join("go/path"))
            .set("GOMODCACHE", self.mod_cache())
            .set("GOCACHE", self.build_cache())
            .set("GOTOOLCHAIN", "local")
            .set("GOENV", "off")
            .set("GOWORK", "off")
            .set("GOTELEMETRY", "off")
            // -modcacherw: the cache stays removable (go makes module trees read-only otherwise).
            .set("GOFLAGS", goflags(false))
            .set("GOPROXY", "off")
            .set("GOSUMDB", "off")
            .set("GONOSUMDB", "*")
            .set("GOPRIVATE", "")
            .set("CGO_ENABLED", "0")
            .set("GOAMD64", "v1")
            .set("GOARM64", "v8.0");
        Command::new(&self.go).name(name).dir(dir).envs(env)
    }
}

/// `GOFLAGS` of every go command: read-only modules (or the tree's `vendor/` directory), a
/// removable module cache, trimmed paths, no VCS stamps.
pub fn goflags(vendor: bool) -> &'static str {
    if vendor {
        "-mod=vendor -modcacherw -trimpath -buildvcs=false"
    } else {
        "-mod=readonly -modcacherw -trimpath -buildvcs=false"
    }
}

/// Where `go` runs for a recipe: its wrapper module `go/`, or the module directory of its pinned
/// source tree (see the module docs).
#[derive(Debug, Clone)]
pub struct GoModule {
    /// The directory holding the `go.mod` go runs in.
    pub dir: PathBuf,
    /// The unpacked source tree, for a source-tree build: local `replace` targets stay inside it.
    pub tree: Option<PathBuf>,
    /// `-mod=vendor`: the tree's `vendor/` directory, nothing downloaded.
    pub vendor: bool,
}

impl GoModule {
    /// The recipe crate's wrapper module, checked to require the pinned module and version;
    /// or, when its `go.mod` declares `go.module` itself, the crate's own module: the program's
    /// source is in the crate's `go/` directory (a recipe input), so there is nothing upstream
    /// to require, and `go.version` is only the version it is released as.
    pub fn wrapper(manifest_dir: &Path, go: &GoBuild) -> Result<GoModule> {
        let dir = wrapper_dir(manifest_dir)?;
        let gomod = dir.join("go.mod");
        let text = fs::read_to_string(&gomod).with_context(|| format!("reading {}", gomod.display()))?;
        if declared_module(&text).as_deref() != Some(go.module.as_str()) {
            check_requires(&gomod, &text, go)?;
        }
        Ok(GoModule { dir, tree: None, vendor: false })
    }

    /// The module directory `go.dir` of the unpacked source tree `tree`: its `go.mod` declares
    /// `go.module`, and with `go.vendor` it has a `vendor/modules.txt` (go itself refuses a
    /// dependency its `go.sum` does not pin).
    pub fn tree(tree: &Path, go: &GoBuild) -> Result<GoModule> {
        let dir = if go.dir.is_empty() { tree.to_path_buf() } else { tree.join(&go.dir) };
        let gomod = dir.join("go.mod");
        let text = fs::read_to_string(&gomod)
            .with_context(|| format!("reading {} (package.metadata.talos-extension.go.dir)", gomod.display()))?;
        let declared = declared_module(&text);
        if declared.as_deref() != Some(go.module.as_str()) {
            bail!(
                "{}: declares module `{}`, but package.metadata.talos-extension.go.module is `{}`",
                gomod.display(),
                declared.unwrap_or_default(),
                go.module
            );
        }
        let modules_txt = dir.join("vendor/modules.txt");
        if go.vendor && !modules_txt.is_file() {
            bail!("{} does not exist: `vendor = true` builds from the tree's vendor directory", modules_txt.display());
        }
        Ok(GoModule { dir, tree: Some(tree.to_path_buf()), vendor: go.vendor })
    }

    /// `GOPROXY` for resolving: a vendored build downloads nothing.
    fn goproxy<'a>(&self, goproxy: &'a str) -> &'a str {
        if self.vendor { "off" } else { goproxy }
    }
}

/// `GOPROXY` for fetching: each mirror's `go/` directory, then the module proxy unless offline;
/// `off` when offline without mirrors (the module cache alone).
pub fn goproxy(fetch: &FetchConfig) -> String {
    let mut list: Vec<String> = fetch
        .mirrors
        .iter()
        .map(|m| match m {
            Mirror::Dir(dir) => format!("file://{}", dir.join(MIRROR_GO_DIR).display()),
            Mirror::Http(url) => format!("{url}/{MIRROR_GO_DIR}"),
        })
        .collect();
    if !fetch.offline {
        list.push(GO_PROXY.to_string());
    }
    if list.is_empty() { "off".to_string() } else { list.join(",") }
}

/// One module of the graph, as go verified it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Module {
    pub path: String,
    pub version: String,
    /// `h1:...`, the hash of the module's zip (what `go.sum` pins).
    pub h1: String,
}

/// The modules a recipe's packages are built from and their graph hash.
#[derive(Debug, Clone)]
pub struct ModuleGraph {
    /// Sorted by path and version.
    pub modules: Vec<Module>,
    /// sha256 (hex) of the sorted `<path> <version> <h1>\n` lines.
    pub hash: String,
}

/// The hash of a module list: sha256 of the sorted, deduplicated `<path> <version> <h1>\n` lines.
pub fn graph_hash(modules: &[Module]) -> String {
    let lines: BTreeSet<String> = modules.iter().map(|m| format!("{} {} {}\n", m.path, m.version, m.h1)).collect();
    let mut h = Sha256::new();
    for line in lines {
        h.update(line.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The module proxy's escaping of a path (`github.com/BurntSushi/toml` ->
/// `github.com/!burnt!sushi/toml`), as the module cache and proxies lay it out.
pub fn escape_module_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The module path a `go.mod` declares (its `module` line), if any.
fn declared_module(gomod: &str) -> Option<String> {
    gomod
        .lines()
        .find_map(|l| l.split("//").next().unwrap_or("").trim().strip_prefix("module "))
        .map(|m| m.trim().trim_matches('"').to_string())
}

/// The wrapper module directory of a recipe crate, checked to hold `go.mod` and `go.sum`.
pub fn wrapper_dir(manifest_dir: &Path) -> Result<PathBuf> {
    let dir = manifest_dir.join(GO_WRAPPER_DIR);
    for file in ["go.mod", "go.sum"] {
        let path = dir.join(file);
        if !path.is_file() {
            bail!(
                "{} does not exist: a go-build recipe carries a wrapper module ({GO_WRAPPER_DIR}/go.mod requiring the \
                 upstream module, and its go.sum)",
                path.display()
            );
        }
    }
    let gomod = dir.join("go.mod");
    let text = fs::read_to_string(&gomod).with_context(|| format!("reading {}", gomod.display()))?;
    check_wrapper(&gomod, &text).map(|()| dir)
}

/// The wrapper's `go.mod` names no other module than upstream's at the pinned version.
fn check_wrapper(gomod: &Path, text: &str) -> Result<()> {
    if !text.lines().any(|l| l.trim_start().starts_with("module ")) {
        bail!("{}: no `module` line", gomod.display());
    }
    Ok(())
}

fn check_requires(gomod: &Path, text: &str, go: &GoBuild) -> Result<()> {
    let want = format!("{} {}", go.module, go.version);
    let found = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or("").trim())
        .any(|l| l == want || l.strip_prefix("require ").map(str::trim) == Some(want.as_str()));
    if !found {
        bail!(
            "{}: does not require `{want}` (package.metadata.talos-extension.go.module/version): the wrapper module \
             must require the module and version the metadata pins",
            gomod.display()
        );
    }
    Ok(())
}

/// Resolves (and, unless `GOPROXY` is `off`, downloads) the modules the recipe's packages are
/// built from for `arches`, in its wrapper module `go/`; see [`resolve_in`].
pub fn resolve(
    tool: &GoTool,
    meta: &ExtensionMeta,
    manifest_dir: &Path,
    arches: &[Arch],
    goproxy: &str,
    progress: bool,
    log_dir: Option<&Path>,
) -> Result<ModuleGraph> {
    let go = meta.go.as_ref().with_context(|| format!("`{}` declares no [go] build", meta.name))?;
    if let Some(source) = &go.source {
        bail!(
            "`{}` builds in its pinned source `{source}` (go.source), not a wrapper module: resolve it with \
             `resolve_in` and `GoModule::tree` on the unpacked source",
            meta.name
        );
    }
    let module = GoModule::wrapper(manifest_dir, go)?;
    resolve_in(tool, meta, &module, manifest_dir, arches, goproxy, progress, log_dir)
}

/// Resolves the modules the recipe's packages are built from for `arches` in `module` (`go list
/// -deps` per arch; unless `GOPROXY` is `off`, downloading into the module cache, go checking
/// each against `go.sum`), takes each one's `h1:` hash (from the module cache, or for a vendored
/// tree from its `go.sum`), and checks the graph hash against `go.graph_hash`: a difference is an
/// error naming both hashes and the crate's `Cargo.toml`, before anything is built. A source-tree
/// recipe without a pinned graph hash gets it printed as a cargo warning (its `go.sum` pinned
/// every module, go checked each against it).
#[allow(clippy::too_many_arguments)]
pub fn resolve_in(
    tool: &GoTool,
    meta: &ExtensionMeta,
    module: &GoModule,
    manifest_dir: &Path,
    arches: &[Arch],
    goproxy: &str,
    progress: bool,
    log_dir: Option<&Path>,
) -> Result<ModuleGraph> {
    let go = meta.go.as_ref().with_context(|| format!("`{}` declares no [go] build", meta.name))?;
    let goproxy = module.goproxy(goproxy);
    let mut used = BTreeSet::new();
    for &arch in arches {
        let mut cmd = tool
            .command(&format!("go-list-{arch}"), &module.dir)
            .env("GOFLAGS", goflags(module.vendor))
            .env("GOPROXY", goproxy)
            .env("GOOS", "linux")
            .env("GOARCH", GoToolchain::goarch(arch))
            .env("CGO_ENABLED", if go.cgo { "1" } else { "0" })
            .args(["list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{with .Replace}}{{.Path}} {{.Version}}{{else}}{{.Path}} {{.Version}}{{end}}{{end}}{{end}}"]);
        if !go.tags.is_empty() {
            cmd = cmd.arg(format!("-tags={}", go.tags.join(",")));
        }
        cmd = cmd.args(&go.packages).stream_output(progress);
        if let Some(logs) = log_dir {
            cmd = cmd.log_dir(logs);
        }
        let out = cmd.read().with_context(|| {
            format!(
                "resolving the Go modules of `{}` for {arch} in {} (GOPROXY={goproxy}){}",
                meta.name,
                module.dir.display(),
                if goproxy == "off" && !module.vendor {
                    "; run `cargo xtask fetch` first, or pass a --mirror"
                } else {
                    ""
                }
            )
        })?;
        for line in out.lines().filter(|l| !l.trim().is_empty()) {
            used.insert(line.trim().to_string());
        }
    }
    let sums = if module.vendor { Some(go_sum(&module.dir)?) } else { None };
    let mut modules = Vec::new();
    for line in used {
        // A local replacement has no version (the line was trimmed: `../`).
        let (path, version) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        if version.is_empty() {
            check_local_replacement(module, path)?;
            continue;
        }
        let h1 = match &sums {
            Some(sums) => sums.get(&(path.to_string(), version.to_string())).cloned().with_context(|| {
                format!(
                    "{}: no `{path} {version} h1:` line for the vendored module (the graph hash takes the tree's \
                     declared hashes)",
                    module.dir.join("go.sum").display()
                )
            })?,
            None => {
                let ziphash = tool
                    .mod_cache()
                    .join("cache/download")
                    .join(escape_module_path(path))
                    .join("@v")
                    .join(format!("{version}.ziphash"));
                fs::read_to_string(&ziphash).with_context(|| format!("reading {}", ziphash.display()))?
            }
        };
        modules.push(Module { path: path.to_string(), version: version.to_string(), h1: h1.trim().to_string() });
    }
    let hash = graph_hash(&modules);
    match &go.graph_hash {
        Some(pinned) if hash != pinned.as_str() => bail!(
            "{}: package.metadata.talos-extension.go.graph_hash is {pinned}, but the module graph of `{}` hashes to \
             {hash} ({} modules): a dependency changed; if that is intended, pin the new hash",
            manifest_dir.join("Cargo.toml").display(),
            meta.name,
            modules.len()
        ),
        Some(_) => {}
        // Only a source-tree build may leave it out (the model checks): its go.sum pinned each module.
        None => println!(
            "cargo:warning={}: module graph hash {hash} ({} modules) of the tree's go.sum; no go.graph_hash is pinned, \
             the source's sha256 pins the go.sum go verified every module against",
            meta.name,
            modules.len()
        ),
    }
    Ok(ModuleGraph { modules, hash })
}

/// A module replaced by a local directory: allowed only in a source-tree build, and only inside
/// the tree (the source's pin covers it).
fn check_local_replacement(module: &GoModule, path: &str) -> Result<()> {
    let Some(tree) = &module.tree else {
        bail!(
            "module `{path}` has no version: a local replacement is not allowed in a go-build recipe's wrapper module"
        );
    };
    let target = module.dir.join(path);
    let (target, tree_c) = (
        target.canonicalize().with_context(|| format!("resolving the local replacement {}", target.display()))?,
        tree.canonicalize().with_context(|| format!("resolving {}", tree.display()))?,
    );
    if !target.starts_with(&tree_c) {
        bail!(
            "{}: the local replacement `{path}` points outside the source tree {} (only the tree is pinned)",
            module.dir.join("go.mod").display(),
            tree.display()
        );
    }
    Ok(())
}

/// The `h1:` hashes of module zips a `go.sum` declares, by `(path, version)`.
fn go_sum(dir: &Path) -> Result<std::collections::BTreeMap<(String, String), String>> {
    let path = dir.join("go.sum");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut sums = std::collections::BTreeMap::new();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        if let (Some(p), Some(v), Some(h)) = (parts.next(), parts.next(), parts.next())
            && !v.ends_with("/go.mod")
        {
            sums.insert((p.to_string(), v.to_string()), h.to_string());
        }
    }
    Ok(sums)
}

/// Copies the module cache's download tree into `<mirror>/go/` (the module proxy's layout),
/// leaving files already there; lock, partial and temporary files and the checksum database
/// cache are skipped. Returns the number of files copied.
pub fn mirror_modules(tool: &GoTool, mirror: &Path) -> Result<usize> {
    let from = tool.mod_cache().join("cache/download");
    let to = mirror.join(MIRROR_GO_DIR);
    fn walk(from: &Path, to: &Path, copied: &mut usize) -> Result<()> {
        for entry in talos_ext_fs::sorted_entries(from)? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if path.is_dir() {
                if name != "sumdb" {
                    walk(&path, &to.join(&name), copied)?;
                }
                continue;
            }
            if name == "lock" || name.ends_with(".lock") || name.ends_with(".partial") || name.contains(".tmp") {
                continue;
            }
            let dest = to.join(&name);
            if dest.is_file() {
                continue;
            }
            fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
            let tmp = to.join(format!(".{name}.tmp"));
            fs::copy(&path, &tmp).with_context(|| format!("copying {} to {}", path.display(), tmp.display()))?;
            fs::set_permissions(&tmp, fs::Permissions::from_mode(0o644))
                .with_context(|| format!("setting mode 644 on {}", tmp.display()))?;
            fs::rename(&tmp, &dest).with_context(|| format!("renaming {} to {}", tmp.display(), dest.display()))?;
            *copied += 1;
        }
        Ok(())
    }
    let mut copied = 0;
    if from.is_dir() {
        walk(&from, &to, &mut copied)?;
    }
    Ok(copied)
}

/// The `Cargo.toml`'s metadata of the recipe in `manifest_dir`, its workspace root, and the
/// toolchain: what `cargo xtask fetch` needs to fetch a Go recipe's modules. A source-tree
/// recipe's pinned source is fetched too and unpacked (with its patches) into
/// `<cache>/go/trees/`, where the modules are resolved.
pub fn fetch_recipe(
    meta: &ExtensionMeta,
    manifest_dir: &Path,
    fetch: &FetchConfig,
    reporter: &dyn Reporter,
    progress: bool,
) -> Result<(GoTool, ModuleGraph)> {
    let root = Pin::find_workspace_root(manifest_dir)
        .with_context(|| format!("no {} above {}", talos_ext_model::PIN_PATH, manifest_dir.display()))?;
    let tool = GoTool::prepare(&root, fetch, reporter)?;
    let go = meta.go.as_ref().with_context(|| format!("`{}` declares no [go] build", meta.name))?;
    let module = match &go.source {
        None => GoModule::wrapper(manifest_dir, go)?,
        Some(name) => {
            let source = meta
                .sources
                .iter()
                .find(|s| &s.name == name && s.arch.is_none())
                .with_context(|| format!("`{}`: go.source `{name}` is not a pinned source", meta.name))?;
            let archive = talos_ext_fetch::fetch(fetch, &meta.name, source, reporter)?;
            let tree = unpacked_tree(fetch, manifest_dir, source, &archive)?;
            GoModule::tree(&tree, go)?
        }
    };
    let graph = resolve_in(&tool, meta, &module, manifest_dir, &meta.arches, &goproxy(fetch), progress, None)?;
    Ok((tool, graph))
}

/// `source` unpacked (top directory stripped) with the recipe's `patches/` applied, in
/// `<cache>/go/trees/<sha256 of the archive and patches>`, written under another name and
/// renamed into place.
fn unpacked_tree(fetch: &FetchConfig, manifest_dir: &Path, source: &Source, archive: &Path) -> Result<PathBuf> {
    let patches = talos_ext_archive::find_patches(&manifest_dir.join("patches"));
    let mut h = Sha256::new();
    h.update(source.sha256.as_str());
    for p in &patches {
        h.update(fs::read(p).with_context(|| format!("reading {}", p.display()))?);
    }
    let trees = fetch.cache_dir.join("go/trees");
    let dir = trees.join(&hex::encode(h.finalize())[..32]);
    if dir.is_dir() {
        return Ok(dir);
    }
    let _lock = talos_ext_fs::lock_file(&fetch.cache_dir.join("locks/go-trees.lock"))?;
    if dir.is_dir() {
        return Ok(dir);
    }
    let tmp = trees.join(format!(".{}.tmp", source.name));
    talos_ext_fs::remove_dir_if_exists(&tmp)?;
    talos_ext_archive::unpack(archive, &tmp, &talos_ext_archive::UnpackOptions { strip_components: 1 })
        .with_context(|| format!("unpacking source `{}` into {}", source.name, tmp.display()))?;
    talos_ext_archive::apply_patches(&tmp, &patches)
        .with_context(|| format!("patching source `{}` in {}", source.name, tmp.display()))?;
    fs::rename(&tmp, &dir).with_context(|| format!("renaming {} to {}", tmp.display(), dir.display()))?;
    Ok(dir)
}

/// sha256 and sha512 of a file, streamed.
fn file_sums(path: &Path) -> Result<(String, String)> {
    let mut file = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let (mut a, mut b) = (Sha256::new(), Sha512::new());
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        a.update(&buf[..n]);
        b.update(&buf[..n]);
    }
    Ok((hex::encode(a.finalize()), hex::encode(b.finalize())))
}

impl Stage {
    /// Builds the recipe's Go packages (its `[go]` table) for this arch and returns the
    /// programs, by name, in the scratch directory: the toolchain and the modules are fetched
    /// first (the graph hash checked), then `go build` runs without network (see the module
    /// docs), in the wrapper module or, with `go.source`, in that pinned source's tree (unpacked
    /// and patched by [`Stage::source`], so `--source` overrides it like any source). The Go toolchain and every module built in are added to the SBOM.
    pub fn go_build(&self) -> Result<Vec<(String, PathBuf)>> {
        let go = self.meta.go.clone().with_context(|| format!("`{}` declares no [go] build", self.meta.name))?;
        let root = Pin::find_workspace_root(&self.manifest_dir)
            .with_context(|| format!("no {} above {}", talos_ext_model::PIN_PATH, self.manifest_dir.display()))?;
        println!("cargo:rerun-if-changed={}", root.join(talos_ext_model::GO_TOOLCHAIN_PATH).display());
        // The recipe's own source first: offline, its absence is what the error names.
        let module = match &go.source {
            None => GoModule::wrapper(&self.manifest_dir, &go)?,
            Some(name) => GoModule::tree(&self.source(name)?, &go)?,
        };
        let tool = GoTool::prepare(&root, &self.fetch, &talos_ext_fetch::NoReporter)?;
        let logs = self.work.join("logs");
        // The graph of every arch the recipe declares: the pinned hash covers them all.
        let graph = resolve_in(
            &tool,
            &self.meta,
            &module,
            &self.manifest_dir,
            &self.meta.arches,
            &goproxy(&self.fetch),
            false,
            Some(&logs),
        )?;
        let dir = module.dir.clone();
        let out = self.work.join("go-bin");
        talos_ext_fs::remove_dir_if_exists(&out)?;
        fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
        let mut ldflags = vec!["-s".to_string(), "-w".to_string(), "-buildid=".to_string()];
        if go.cgo {
            // cgo links externally: with musl statically, with glibc against the node's glibc
            // loader (see `cgo_env`); the recipe's own linker flags follow.
            let mut ext = vec![match go.libc {
                GoLibc::Musl => "-static".to_string(),
                GoLibc::Glibc => format!("-Wl,--dynamic-linker={}", glibc_loader(self.arch)),
            }];
            ext.extend(go.extldflags.iter().cloned());
            ldflags.extend(["-linkmode=external".to_string(), format!("'-extldflags={}'", ext.join(" "))]);
        }
        ldflags.extend(go.ldflags_for(GoToolchain::goarch(self.arch)));
        let mut cmd = tool
            .command(&format!("go-build-{}", self.arch), &dir)
            .env("GOFLAGS", goflags(module.vendor))
            .env("GOOS", "linux")
            .env("GOARCH", GoToolchain::goarch(self.arch))
            .env("CGO_ENABLED", if go.cgo { "1" } else { "0" })
            .env("GOCACHE", self.go_cache.clone().unwrap_or_else(|| tool.build_cache()))
            .env("SOURCE_DATE_EPOCH", self.source_date_epoch.to_string())
            .args(["build", "-o"])
            .arg(format!("{}/", out.display()))
            .arg(format!("-ldflags={}", ldflags.join(" ")));
        if !go.tags.is_empty() {
            cmd = cmd.arg(format!("-tags={}", go.tags.join(",")));
        }
        if go.cgo {
            let env = match go.libc {
                GoLibc::Musl => self.cgo_env(&tool)?,
                GoLibc::Glibc => self.cgo_glibc_env(&tool)?,
            };
            for (name, value) in env {
                cmd = cmd.env(name, value);
            }
        }
        cmd.args(&go.packages)
            .log_dir(&logs)
            .run()
            .with_context(|| format!("building the Go packages of `{}` for {}", self.meta.name, self.arch))?;
        let mut programs = Vec::new();
        for name in go.programs() {
            let path = out.join(name);
            if !path.is_file() {
                bail!("go build did not write {}", path.display());
            }
            programs.push((name.to_string(), path));
        }
        self.record_go_components(&tool, &graph)?;
        Ok(programs)
    }

    /// The environment of a cgo build (`cgo = true`): the engine's musl cross compiler for the
    /// arch as `CC`, with the C drivers' flags (optimisation, the work dir mapped to `/build`
    /// and the module cache to `/gomod` in debug info and `__FILE__`, the sysroot's headers and
    /// the uapi headers) in `CGO_CFLAGS`, the sysroot's libraries (the internal library stages
    /// the recipe used) in `CGO_LDFLAGS`, and `pkg-config` confined to the sysroot. The link is
    /// external and static (`-linkmode=external -extldflags=-static`, added to the ldflags).
    fn cgo_env(&self, tool: &GoTool) -> Result<Vec<(&'static str, String)>> {
        let setup = self.build_setup()?;
        let mut cflags = setup.cflags();
        cflags.extend(crate::toolchain::CrossToolchain::prefix_map_flags(&[(&tool.mod_cache(), "/gomod")]));
        cflags.extend(setup.cppflags());
        Ok(vec![
            ("CC", setup.cc().join(" ")),
            ("CGO_CFLAGS", cflags.join(" ")),
            ("CGO_LDFLAGS", format!("-L{}", setup.sysroot.join("usr/lib").display())),
            ("PKG_CONFIG", "pkg-config".to_string()),
            ("PKG_CONFIG_LIBDIR", setup.pkg_config_libdir()),
            ("PKG_CONFIG_SYSROOT_DIR", setup.sysroot.display().to_string()),
            ("PKG_CONFIG_PATH", String::new()),
        ])
    }

    /// The environment of a glibc cgo build (`libc = "glibc"`): Debian's gcc for the arch
    /// (`x86_64-linux-gnu-gcc`, `aarch64-linux-gnu-gcc` with `libc6-dev-arm64-cross`), which
    /// links against the build machine's glibc (Debian 12's 2.36; the node's `glibc` extension
    /// is newer, and glibc keeps old symbol versions), dynamically; the loader is set in the
    /// ldflags ([`glibc_loader`]). Optimised, no debug info, the work dir and the module cache
    /// mapped in `__FILE__`; no library stages (they are musl builds).
    fn cgo_glibc_env(&self, tool: &GoTool) -> Result<Vec<(&'static str, String)>> {
        let cc = PathBuf::from(format!("/usr/bin/{}-linux-gnu-gcc", self.arch.gnu_machine()));
        let crt = match self.arch {
            Arch::Amd64 => PathBuf::from("/usr/lib/x86_64-linux-gnu/crt1.o"),
            Arch::Arm64 => PathBuf::from("/usr/aarch64-linux-gnu/lib/crt1.o"),
        };
        for (path, package) in [(&cc, "gcc / gcc-aarch64-linux-gnu"), (&crt, "libc6-dev / libc6-dev-arm64-cross")] {
            if !path.exists() {
                bail!(
                    "{} is missing: a glibc cgo build for {} needs Debian's {package}\nhint: run ci/setup.sh",
                    path.display(),
                    self.arch
                );
            }
        }
        let mut cflags = vec!["-O2".to_string(), "-g0".to_string()];
        cflags.extend(crate::toolchain::CrossToolchain::prefix_map_flags(&[
            (&self.work, "/build"),
            (&tool.mod_cache(), "/gomod"),
        ]));
        Ok(vec![
            ("CC", cc.display().to_string()),
            ("CGO_CFLAGS", cflags.join(" ")),
            ("CGO_LDFLAGS", String::new()),
            ("PKG_CONFIG", "false".to_string()),
        ])
    }

    /// The Go toolchain and the modules built in, for the SBOM.
    fn record_go_components(&self, tool: &GoTool, graph: &ModuleGraph) -> Result<()> {
        let (sha256, sha512) = file_sums(&talos_ext_fetch::FetchConfig::cache_path(&self.fetch, &tool.source.sha256))?;
        if sha256 != tool.source.sha256.as_str() || sha512 != tool.source.sha512.as_str() {
            bail!("the cached Go toolchain zip does not match its pin");
        }
        let version = tool.version.trim_start_matches("go").to_string();
        let mut components = vec![talos_ext_sbom::Component {
            name: "go".into(),
            version: version.clone(),
            license: Some("BSD-3-Clause".into()),
            cpes: vec![format!("cpe:2.3:a:golang:go:{version}:*:*:*:*:*:*:*")],
            purl: Some(format!(
                "pkg:golang/golang.org/toolchain@{}",
                tool.source.url.rsplit('/').next().unwrap_or("").trim_end_matches(".zip")
            )),
            sources: vec![tool.source.clone()],
            binary: None,
        }];
        for m in &graph.modules {
            components.push(talos_ext_sbom::Component {
                name: m.path.clone(),
                version: m.version.clone(),
                license: None,
                cpes: Vec::new(),
                purl: Some(format!("pkg:golang/{}@{}", m.path, m.version)),
                sources: Vec::new(),
                binary: None,
            });
        }
        self.components.borrow_mut().extend(components);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_hash() {
        assert_eq!(escape_module_path("github.com/BurntSushi/toml"), "github.com/!burnt!sushi/toml");
        let a = Module { path: "b.io/x".into(), version: "v1.0.0".into(), h1: "h1:x=".into() };
        let b = Module { path: "a.io/y".into(), version: "v0.1.0".into(), h1: "h1:y=".into() };
        // Order and duplicates do not matter; the lines are hashed sorted.
        assert_eq!(graph_hash(&[a.clone(), b.clone()]), graph_hash(&[b.clone(), a.clone(), b.clone()]));
        let mut expect = Sha256::new();
        expect.update(b"a.io/y v0.1.0 h1:y=\nb.io/x v1.0.0 h1:x=\n");
        assert_eq!(graph_hash(&[a, b]), hex::encode(expect.finalize()));
    }

    #[test]
    fn local_replacements_stay_inside_the_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = tmp.path().join("tree");
        for d in ["cmd", "estargz"] {
            fs::create_dir_all(tree.join(d)).unwrap();
        }
        fs::create_dir_all(tmp.path().join("elsewhere")).unwrap();
        let module = GoModule { dir: tree.join("cmd"), tree: Some(tree.clone()), vendor: false };
        check_local_replacement(&module, "../").unwrap();
        check_local_replacement(&module, "../estargz").unwrap();
        let e = check_local_replacement(&module, "../../elsewhere").unwrap_err();
        assert!(e.to_string().contains("`../../elsewhere` points outside the source tree"), "{e}");
        let wrapper = GoModule { tree: None, ..module };
        let e = check_local_replacement(&wrapper, "../").unwrap_err();
        assert!(e.to_string().contains("not allowed in a go-build recipe's wrapper module"), "{e}");
    }

    #[test]
    fn go_sum_hashes_of_module_zips() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("go.sum"), "a.io/x v1.0.0 h1:zip=\na.io/x v1.0.0/go.mod h1:mod=\n").unwrap();
        let sums = go_sum(tmp.path()).unwrap();
        assert_eq!(sums.len(), 1);
        assert_eq!(sums[&("a.io/x".to_string(), "v1.0.0".to_string())], "h1:zip=");
    }

    #[test]
    fn wrapper_must_require_the_pin() {
        let go: GoBuild = toml::from_str(&format!(
            "module = \"tailscale.com\"\nversion = \"v1.102.2\"\npackages = [\"tailscale.com/cmd/tailscale\"]\ngraph_hash = \"{}\"",
            "0".repeat(64)
        ))
        .unwrap();
        let p = Path::new("go/go.mod");
        check_requires(p, "module x\n\nrequire tailscale.com v1.102.2\n", &go).unwrap();
        check_requires(p, "module x\nrequire (\n\ttailscale.com v1.102.2 // indirect\n)\n", &go).unwrap();
        let e = check_requires(p, "module x\nrequire tailscale.com v1.102.5\n", &go).unwrap_err();
        assert!(e.to_string().contains("go/go.mod: does not require `tailscale.com v1.102.2`"), "{e}");
    }

    #[test]
    fn a_crate_may_carry_the_module_itself() {
        let go: GoBuild = toml::from_str(&format!(
            "module = \"example.local/tool\"\nversion = \"v2.5.2\"\npackages = [\"example.local/tool\"]\ngraph_hash = \"{}\"",
            "0".repeat(64)
        ))
        .unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(GO_WRAPPER_DIR);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("go.sum"), "").unwrap();
        // The crate's go.mod declares the module: its own source, nothing to require.
        fs::write(dir.join("go.mod"), "// own\nmodule \"example.local/tool\" // the program\n\ngo 1.26.0\n").unwrap();
        let module = GoModule::wrapper(tmp.path(), &go).unwrap();
        assert_eq!((module.dir, module.tree, module.vendor), (dir.clone(), None, false));
        // Another module that does not require the pin is still refused.
        fs::write(dir.join("go.mod"), "module example.local/wrapper\n\ngo 1.26.0\n").unwrap();
        let e = GoModule::wrapper(tmp.path(), &go).unwrap_err();
        assert!(e.to_string().contains("does not require `example.local/tool v2.5.2`"), "{e}");
    }
}
