//! [`Repo`]: a private apt state (sources, configuration, downloaded indexes) in a directory of
//! its own, updated with `apt-get update`, and the lookups and downloads made with it.
//!
//! The state's configuration is written out in full and given to apt as `APT_CONFIG`, with
//! `Dir::Etc` inside the state, so nothing of the machine's apt configuration is read: not its
//! `/etc/apt/apt.conf.d` (a global `Acquire::Check-Valid-Until`, compressed lists, hooks), not
//! its sources, not its dpkg architectures. What the state needs it says itself:
//!
//! - `Acquire::Check-Valid-Until "false"`: a snapshot mirror's `sid`/`forky` Release files are
//!   past their validity window. That window guards against an old index being replayed; it adds
//!   nothing here, where every file taken is named with its sha256 by an index whose signature
//!   apt checked (which is the point of using apt for the indexes at all);
//! - the architectures (`APT::Architectures`), only the index targets used (`Packages` or
//!   `Sources`, no translations), uncompressed lists (so they can be searched in place), and
//!   `Signed-By` the Debian archive keyring;
//! - the suites and components asked for, each from the archive the machine is configured with
//!   ([`Mirrors`]).
//!
//! The state lives in `<root>/apt/<kind>-<hash>`, the hash covering everything above, so states
//! with different suites never share a directory. Updates are serialised between threads and
//! processes by a lock file in the state.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use sha2::Digest as _;
use talos_ext_fetch::{FetchConfig, FetchError, NoReporter};
use talos_ext_fs::lock_file;
use talos_ext_process::Command;

use crate::index::{self, BinaryPackage, IndexFile, IndexKind, PoolFile, SourcePackage};
use crate::version::compare_versions;
use crate::{DebianError, Mirrors, NotFound, PackageSpec};

/// The keyring the Debian archive's indexes are signed with.
pub const DEBIAN_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// An index older than this is refreshed (once) when a lookup finds nothing in it: Debian may
/// have published the version since. A younger one is trusted, so repeated misses (a rotated
/// kernel ABI, a mistyped version) do not cost an update each.
pub const REFRESH_AFTER: Duration = Duration::from_secs(10 * 60);

/// Every component of the Debian archive.
pub const ALL_COMPONENTS: [&str; 4] = ["main", "contrib", "non-free", "non-free-firmware"];
/// The suites of [`Repo::current_sources`]: a version moves from `sid` to `forky` (testing) to
/// `trixie` (stable), so these three hold any current one wherever it is on the way;
/// `trixie-backports` holds releases that passed through on the way (OpenZFS 2.4.3, whose
/// upstream tarball is the pin, is only there); `bookworm` (oldstable) keeps older releases
/// whose tarballs are still in the pool when a newer suite's are not (bird2 2.0.12: the pool
/// here lacks the tarballs of trixie's 2.17.6 and sid's 2.20.0).
pub const CURRENT_SOURCE_SUITES: [&str; 5] = ["sid", "forky", "trixie", "trixie-backports", "bookworm"];
/// The suites of [`Repo::current_binaries`].
pub const CURRENT_BINARY_SUITES: [&str; 2] = ["trixie", "bookworm"];

const APT_HINT: &str = "apt-get comes with Debian and Ubuntu (package `apt`)";

/// A private apt state for one kind of index (binary or source packages) of some suites.
#[derive(Debug)]
pub struct Repo {
    kind: IndexKind,
    suites: Vec<String>,
    components: Vec<String>,
    /// Architectures of `Packages` indexes (unused for sources).
    arches: Vec<String>,
    mirrors: Mirrors,
    keyring: PathBuf,
    root: PathBuf,
    /// Set once this value has updated the indexes.
    refreshed: AtomicBool,
}

impl Repo {
    /// A state for binary packages of `suites` and `components`, for `arches`, under `root`,
    /// from the machine's archive ([`Mirrors::from_system`]).
    pub fn binaries(root: &Path, suites: &[&str], components: &[&str], arches: &[&str]) -> Repo {
        Repo::new(IndexKind::Binary, root, suites, components, arches)
    }

    /// A state for source packages of `suites` and `components` under `root`, from the machine's
    /// archive ([`Mirrors::from_system`]).
    pub fn sources(root: &Path, suites: &[&str], components: &[&str]) -> Repo {
        Repo::new(IndexKind::Source, root, suites, components, &[])
    }

    /// The source packages of Debian's current suites (`sid`, `forky`, `trixie`,
    /// `trixie-backports`, `bookworm`; every component): upstream release tarballs of current
    /// software.
    pub fn current_sources(root: &Path) -> Repo {
        Repo::sources(root, &CURRENT_SOURCE_SUITES, &ALL_COMPONENTS)
    }

    /// The binary packages of Debian's stable suites (`trixie`, `bookworm`; every component)
    /// for `amd64` and `arm64`: firmware, microcode and tools as Debian builds them.
    pub fn current_binaries(root: &Path) -> Repo {
        Repo::binaries(root, &CURRENT_BINARY_SUITES, &ALL_COMPONENTS, &["amd64", "arm64"])
    }

    fn new(kind: IndexKind, root: &Path, suites: &[&str], components: &[&str], arches: &[&str]) -> Repo {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Repo {
            kind,
            suites: owned(suites),
            components: owned(components),
            arches: owned(arches),
            mirrors: Mirrors::from_system(),
            keyring: PathBuf::from(DEBIAN_KEYRING),
            root: root.to_path_buf(),
            refreshed: AtomicBool::new(false),
        }
    }

    /// The same state with other archive roots.
    pub fn with_mirrors(mut self, mirrors: Mirrors) -> Repo {
        self.mirrors = mirrors;
        self
    }

    /// The same state checked with another keyring.
    pub fn with_keyring(mut self, keyring: &Path) -> Repo {
        self.keyring = keyring.to_path_buf();
        self
    }

    /// The archive roots.
    pub fn mirrors(&self) -> &Mirrors {
        &self.mirrors
    }

    /// The state's directory: `<root>/apt/<deb|deb-src>-<hash of its configuration>`.
    pub fn dir(&self) -> PathBuf {
        let mut hasher = sha2::Sha256::new();
        hasher.update(self.sources_text().as_bytes());
        hasher.update(self.config_text(Path::new("/")).as_bytes());
        let hash = hex::encode(&hasher.finalize()[..8]);
        self.root.join("apt").join(format!("{}-{hash}", self.kind.apt_type()))
    }

    /// What the state holds, for messages: `deb trixie bookworm (main, contrib) for amd64 arm64
    /// from http://deb.debian.org/debian`.
    pub fn describe(&self) -> String {
        let arches = match self.kind {
            IndexKind::Binary => format!(" for {}", self.arches.join(" ")),
            IndexKind::Source => String::new(),
        };
        format!(
            "{} {} ({}){arches} from {}",
            self.kind.apt_type(),
            self.suites.join(" "),
            self.components.join(", "),
            self.uris().join(" ")
        )
    }

    /// The archive roots of the suites, in order, without repeats.
    fn uris(&self) -> Vec<String> {
        let mut uris: Vec<String> = Vec::new();
        for suite in &self.suites {
            let uri = self.mirrors.uri_for(suite).to_string();
            if !uris.contains(&uri) {
                uris.push(uri);
            }
        }
        uris
    }

    /// `apt-get update` of the state (created first if needed): downloads the indexes and checks
    /// their signatures; then checks that every index asked for is there and signed.
    pub fn update(&self) -> Result<(), DebianError> {
        let dir = self.dir();
        let _lock = lock_file(&dir.join(".lock"))?;
        self.update_locked(&dir)
    }

    /// Updates unless the indexes are there already (lookups do this themselves).
    pub fn ensure_updated(&self) -> Result<(), DebianError> {
        let dir = self.dir();
        if dir.join(STAMP).is_file() {
            return Ok(());
        }
        let _lock = lock_file(&dir.join(".lock"))?;
        if dir.join(STAMP).is_file() {
            return Ok(()); // another thread or process did it meanwhile
        }
        self.update_locked(&dir)
    }

    /// Updates again when a lookup found nothing, unless this value already did or the indexes
    /// are younger than [`REFRESH_AFTER`] (or were refreshed while waiting for the lock).
    /// Returns whether it updated.
    fn refresh(&self, force: bool) -> Result<bool, DebianError> {
        if self.refreshed.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let dir = self.dir();
        let updated = |dir: &Path| fs::metadata(dir.join(STAMP)).and_then(|m| m.modified()).ok();
        let seen = updated(&dir);
        let young = seen.and_then(|t| SystemTime::now().duration_since(t).ok()).is_some_and(|age| age < REFRESH_AFTER);
        if young && !force {
            return Ok(false);
        }
        let _lock = lock_file(&dir.join(".lock"))?;
        if updated(&dir) != seen {
            self.refreshed.store(true, Ordering::SeqCst);
            return Ok(true); // refreshed by someone else while we waited
        }
        self.update_locked(&dir)?;
        Ok(true)
    }

    fn update_locked(&self, dir: &Path) -> Result<(), DebianError> {
        if !self.keyring.is_file() {
            return Err(DebianError::Keyring { path: self.keyring.clone() });
        }
        self.write_state(dir)?;
        let stamp = dir.join(STAMP);
        talos_ext_fs::remove_if_exists(&stamp)?;
        self.apt(dir, "update")
            .args(["-q", "update", "--error-on=any"])
            .run()
            .map_err(|cause| self.apt_error(dir, "update", cause))?;
        let missing: Vec<String> = self
            .expected_indexes(dir)
            .into_iter()
            .filter(|f| !f.path.is_file())
            .map(|f| match f.arch {
                Some(arch) => format!("{}/{} ({arch})", f.suite, f.component),
                None => format!("{}/{}", f.suite, f.component),
            })
            .collect();
        if !missing.is_empty() {
            return Err(DebianError::NoIndex {
                dir: dir.to_path_buf(),
                what: missing.join(", "),
                sources: self.describe(),
            });
        }
        fs::write(&stamp, "").map_err(DebianError::io("write", &stamp))?;
        self.refreshed.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Every index the state in `dir` asks for, where `apt-get update` puts it: apt names a
    /// downloaded index after its URI (`URItoFileName`), which is what `apt-get indextargets`
    /// reports too, but without building apt's package cache first (seconds per call).
    fn expected_indexes(&self, dir: &Path) -> Vec<IndexFile> {
        let mut out = Vec::new();
        for suite in &self.suites {
            let repo_uri = self.mirrors.uri_for(suite);
            for component in &self.components {
                let arches: Vec<Option<&String>> = match self.kind {
                    IndexKind::Source => vec![None],
                    IndexKind::Binary => self.arches.iter().map(Some).collect(),
                };
                for arch in arches {
                    let target = match arch {
                        Some(arch) => format!("{component}/binary-{arch}/Packages"),
                        None => format!("{component}/source/Sources"),
                    };
                    let uri = format!("{repo_uri}/dists/{suite}/{target}");
                    out.push(IndexFile {
                        path: dir.join("lists").join(uri_to_file_name(&uri)),
                        suite: suite.clone(),
                        component: component.clone(),
                        arch: arch.cloned(),
                        repo_uri: repo_uri.to_string(),
                    });
                }
            }
        }
        out
    }

    /// The index files the state reads, in lookup order (suites as given, then components, then
    /// architectures); present once the state is updated.
    pub fn index_paths(&self) -> Vec<PathBuf> {
        self.expected_indexes(&self.dir()).into_iter().map(|f| f.path).collect()
    }

    /// `apt-get` with the state's configuration (and nothing of the caller's environment but a
    /// proxy, which apt reads from `http_proxy`).
    fn apt(&self, dir: &Path, what: &str) -> Command {
        let mut command = Command::new("apt-get").name(&format!("apt-get-{what}")).env("APT_CONFIG", dir.join(CONFIG));
        command.env_mut().pass_through(&["http_proxy", "https_proxy", "no_proxy"]);
        command.hint(APT_HINT)
    }

    fn apt_error(&self, dir: &Path, what: &'static str, cause: talos_ext_process::ProcessError) -> DebianError {
        DebianError::Apt { what, dir: dir.to_path_buf(), sources: self.describe(), cause: Box::new(cause) }
    }

    /// The output of `apt-config dump` with the state's configuration: what apt really uses.
    pub fn apt_config_dump(&self) -> Result<String, DebianError> {
        let dir = self.dir();
        {
            let _lock = lock_file(&dir.join(".lock"))?;
            self.write_state(&dir)?;
        }
        let mut command = Command::new("apt-config").arg("dump").env("APT_CONFIG", dir.join(CONFIG)).hint(APT_HINT);
        command.env_mut().pass_through(&["http_proxy", "https_proxy", "no_proxy"]);
        command.read().map_err(|cause| self.apt_error(&dir, "config dump", cause))
    }

    /// Writes the configuration, sources and directories of the state (unchanged files are not
    /// rewritten).
    fn write_state(&self, dir: &Path) -> Result<(), DebianError> {
        let etc = dir.join("etc");
        for sub in ["apt.conf.d", "preferences.d", "sources.list.d", "trusted.gpg.d"] {
            let path = etc.join(sub);
            fs::create_dir_all(&path).map_err(DebianError::io("create directory", &path))?;
        }
        for sub in ["lists/partial", "cache/archives/partial", "log"] {
            let path = dir.join(sub);
            fs::create_dir_all(&path).map_err(DebianError::io("create directory", &path))?;
        }
        write_if_changed(&dir.join(CONFIG), &self.config_text(dir))?;
        write_if_changed(&etc.join("sources.list.d/private.sources"), &self.sources_text())?;
        write_if_changed(&dir.join("status"), "")
    }

    /// The whole apt configuration of the state in `dir`.
    fn config_text(&self, dir: &Path) -> String {
        let d = dir.display();
        let arches = match self.kind {
            IndexKind::Binary => self.arches.clone(),
            IndexKind::Source => vec![crate::DEFAULT_ARCH.to_string()],
        };
        let list: String = arches.iter().map(|a| format!(" \"{a}\";")).collect();
        format!(
            "// The whole apt configuration of a private state of talos-ext-debian (APT_CONFIG);\n\
             // Dir::Etc is inside the state, so nothing of the machine's /etc/apt is read.\n\
             Dir::Etc \"{d}/etc\";\n\
             Dir::State \"{d}\";\n\
             Dir::State::Lists \"{d}/lists\";\n\
             Dir::State::status \"{d}/status\";\n\
             Dir::Cache \"{d}/cache\";\n\
             Dir::Cache::pkgcache \"\";\n\
             Dir::Cache::srcpkgcache \"\";\n\
             Dir::Log \"{d}/log\";\n\
             APT::Architecture \"{}\";\n\
             APT::Architectures {{{list} }};\n\
             APT::Sandbox::User \"root\";\n\
             // Every file taken is pinned by its sha256 in a signed index; a snapshot mirror's\n\
             // sid and forky Release files are past their validity window.\n\
             Acquire::Check-Valid-Until \"false\";\n\
             Acquire::Languages \"none\";\n\
             Acquire::GzipIndexes \"false\";\n\
             Acquire::Retries \"3\";\n",
            arches[0]
        )
    }

    /// The deb822 sources of the state: one stanza per archive root.
    fn sources_text(&self) -> String {
        let mut text = String::new();
        for uri in self.uris() {
            let suites: Vec<&str> =
                self.suites.iter().filter(|s| self.mirrors.uri_for(s) == uri).map(String::as_str).collect();
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&format!(
                "Types: {}\nURIs: {uri}\nSuites: {}\nComponents: {}\n",
                self.kind.apt_type(),
                suites.join(" "),
                self.components.join(" ")
            ));
            if self.kind == IndexKind::Binary {
                text.push_str(&format!("Architectures: {}\n", self.arches.join(" ")));
            }
            text.push_str(&format!("Targets: {}\nSigned-By: {}\n", self.kind.identifier(), self.keyring.display()));
        }
        text
    }

    /// The state's downloaded indexes. Only `apt-get update` puts files there, and only after
    /// their hashes matched the Release file whose signature it checked.
    fn index_files(&self) -> Vec<IndexFile> {
        self.expected_indexes(&self.dir()).into_iter().filter(|f| f.path.is_file()).collect()
    }

    /// Runs `find` on the indexes (updated first when there are none yet); when it finds
    /// nothing, refreshes them once (see [`REFRESH_AFTER`]) and runs it again.
    fn lookup<T>(&self, find: impl Fn(&[IndexFile]) -> Result<T, DebianError>) -> Result<T, DebianError> {
        self.ensure_updated()?;
        match find(&self.index_files()) {
            Err(e) if e.is_not_found() && self.refresh(false)? => find(&self.index_files()),
            other => other,
        }
    }

    /// The binary package `spec` asks for: exactly its version, or the newest the indexes list
    /// for its arch (an `all` package serves every arch).
    pub fn binary(&self, spec: &PackageSpec) -> Result<BinaryPackage, DebianError> {
        Ok(self.binaries_of(std::slice::from_ref(spec))?.remove(0))
    }

    /// [`Repo::binary`] for several specs, reading each index once.
    pub fn binaries_of(&self, specs: &[PackageSpec]) -> Result<Vec<BinaryPackage>, DebianError> {
        self.lookup(|files| self.find_binaries(files, specs))
    }

    fn find_binaries(&self, files: &[IndexFile], specs: &[PackageSpec]) -> Result<Vec<BinaryPackage>, DebianError> {
        let arch_of = |spec: &PackageSpec| self.lookup_arch(spec.arch_or_default()).to_string();
        let mut found: Vec<Vec<BinaryPackage>> = vec![Vec::new(); specs.len()];
        for file in files {
            let wanted: Vec<usize> = (0..specs.len()).filter(|&i| file.arch == Some(arch_of(&specs[i]))).collect();
            if wanted.is_empty() {
                continue;
            }
            let data = fs::read(&file.path).map_err(DebianError::io("read", &file.path))?;
            for i in wanted {
                found[i].extend(index::binaries(file, &data, &specs[i].name, &arch_of(&specs[i])));
            }
        }
        let mut chosen = Vec::new();
        for (spec, found) in specs.iter().zip(found) {
            let package = match &spec.version {
                Some(version) => found.into_iter().find(|p| &p.version == version),
                None => found
                    .into_iter()
                    .reduce(|best, p| if compare_versions(&p.version, &best.version).is_gt() { p } else { best }),
            };
            match package {
                Some(package) => chosen.push(package),
                None => return Err(self.binary_not_found(files, spec, &arch_of(spec))?),
            }
        }
        Ok(chosen)
    }

    /// The error for `spec`, saying which versions the indexes have, for any arch.
    fn binary_not_found(
        &self,
        files: &[IndexFile],
        spec: &PackageSpec,
        arch: &str,
    ) -> Result<DebianError, DebianError> {
        let mut available = BTreeSet::new();
        for file in files {
            let data = fs::read(&file.path).map_err(DebianError::io("read", &file.path))?;
            for stanza in index::stanzas_of(&data, &spec.name) {
                let fields = index::fields(stanza);
                if let (Some(v), Some(a)) = (index::field(&fields, "Version"), index::field(&fields, "Architecture")) {
                    available.insert(format!("{v} ({}/{}, {a})", file.suite, file.component));
                }
            }
        }
        Ok(self.not_found("binary package", &spec.name, spec.version.as_deref(), Some(arch), available))
    }

    /// `all` is looked up in the first arch's indexes (which list every `all` package).
    fn lookup_arch<'a>(&'a self, arch: &'a str) -> &'a str {
        match arch {
            "all" => self.arches.first().map_or(crate::DEFAULT_ARCH, String::as_str),
            arch => arch,
        }
    }

    /// The names of the binary packages for `arch` (or `all`) that start with `prefix`.
    pub fn binary_names(&self, prefix: &str, arch: &str) -> Result<BTreeSet<String>, DebianError> {
        self.ensure_updated()?;
        let arch = self.lookup_arch(arch);
        let mut names = BTreeSet::new();
        for file in self.index_files().iter().filter(|f| f.arch.as_deref() == Some(arch)) {
            let data = fs::read(&file.path).map_err(DebianError::io("read", &file.path))?;
            names.extend(index::names_with_prefix(&data, prefix));
        }
        Ok(names)
    }

    /// The source package `name` in exactly `version`.
    pub fn source(&self, name: &str, version: &str) -> Result<SourcePackage, DebianError> {
        self.lookup(|files| {
            let mut available = BTreeSet::new();
            for file in files {
                let data = fs::read(&file.path).map_err(DebianError::io("read", &file.path))?;
                for package in index::sources(file, &data, name) {
                    if package.version == version {
                        return Ok(package);
                    }
                    available.insert(format!("{} ({}/{})", package.version, file.suite, file.component));
                }
            }
            Err(self.not_found("source package", name, Some(version), None, available))
        })
    }

    fn not_found(
        &self,
        kind: &'static str,
        package: &str,
        version: Option<&str>,
        arch: Option<&str>,
        available: BTreeSet<String>,
    ) -> DebianError {
        DebianError::NotFound(Box::new(NotFound {
            kind,
            package: package.to_string(),
            version: version.map(str::to_string),
            arch: arch.map(str::to_string),
            suites: self.suites.clone(),
            components: self.components.clone(),
            uris: self.uris().join(" "),
            available: available.into_iter().collect(),
        }))
    }

    /// Downloads `file` into `dir` (as `dir/<file name>`), verified against the sha256 of the
    /// index; a file already there is taken as it is (files only get there verified).
    pub fn download(&self, file: &PoolFile, dir: &Path) -> Result<PathBuf, DebianError> {
        let dest = dir.join(&file.name);
        if dest.is_file() {
            return Ok(dest);
        }
        let _lock = lock_file(&dir.join(".lock"))?;
        if dest.is_file() {
            return Ok(dest);
        }
        let config = FetchConfig::new(dir.to_path_buf());
        talos_ext_fetch::download_sha256(&config, &file.url, &file.sha256, &dest, &NoReporter)
            .map_err(|cause| DebianError::Download { what: file.name.clone(), cause: Box::new(cause) })?;
        Ok(dest)
    }

    /// Looks up `spec` ([`Repo::binary`]) and downloads its `.deb` into `dir`; when the pool no
    /// longer has the file (an index older than the archive), refreshes the indexes once and
    /// tries again.
    pub fn fetch_binary(&self, spec: &PackageSpec, dir: &Path) -> Result<(BinaryPackage, PathBuf), DebianError> {
        Ok(self.fetch_binaries(std::slice::from_ref(spec), dir)?.remove(0))
    }

    /// [`Repo::fetch_binary`] for several specs.
    pub fn fetch_binaries(
        &self,
        specs: &[PackageSpec],
        dir: &Path,
    ) -> Result<Vec<(BinaryPackage, PathBuf)>, DebianError> {
        let download_all = |packages: Vec<BinaryPackage>| {
            packages
                .into_iter()
                .map(|p| self.download(&p.file, dir).map(|path| (p, path)))
                .collect::<Result<Vec<_>, _>>()
        };
        match download_all(self.binaries_of(specs)?) {
            Err(e) if is_gone(&e) && self.refresh(true)? => download_all(self.binaries_of(specs)?),
            other => other,
        }
    }

    /// Looks up the source package `name` in exactly `version` and downloads its upstream
    /// tarball ([`SourcePackage::upstream_tarball`]) into `dir`, refreshing once like
    /// [`Repo::fetch_binary`].
    pub fn fetch_upstream_tarball(&self, name: &str, version: &str, dir: &Path) -> Result<PathBuf, DebianError> {
        let tarball = |package: &SourcePackage| {
            package.upstream_tarball().cloned().ok_or_else(|| DebianError::NoUpstreamTarball {
                package: name.to_string(),
                version: version.to_string(),
                suite: package.suite.clone(),
                files: package.files.iter().map(|f| f.name.clone()).collect(),
            })
        };
        let file = tarball(&self.source(name, version)?)?;
        match self.download(&file, dir) {
            Err(e) if is_gone(&e) && self.refresh(true)? => self.download(&tarball(&self.source(name, version)?)?, dir),
            other => other,
        }
    }
}

/// The stamp of a completed update.
const STAMP: &str = "updated";
/// The state's apt configuration file.
const CONFIG: &str = "apt.conf";

/// apt's `URItoFileName`: the URI without its scheme and credentials, the characters
/// `\|{}[]<>"^~_=!@#$%^&*`, spaces, controls and non-ASCII bytes %-quoted, and `/` made `_`.
fn uri_to_file_name(uri: &str) -> String {
    let rest = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let rest = match rest.split_once('/') {
        Some((host, path)) => format!("{}/{path}", host.rsplit_once('@').map_or(host, |(_, h)| h)),
        None => rest.rsplit_once('@').map_or(rest, |(_, h)| h).to_string(),
    };
    let mut out = String::new();
    for b in rest.bytes() {
        if b <= 0x20 || b >= 0x7f || br#"\|{}[]<>"^~_=!@#$%^&*"#.contains(&b) {
            out.push_str(&format!("%{b:02x}"));
        } else if b == b'/' {
            out.push('_');
        } else {
            out.push(char::from(b));
        }
    }
    out
}

/// Whether a download failed because the server does not have the file.
fn is_gone(e: &DebianError) -> bool {
    matches!(e, DebianError::Download { cause, .. } if matches!(**cause, FetchError::HttpStatus { status: 404 | 410, .. }))
}

fn write_if_changed(path: &Path, text: &str) -> Result<(), DebianError> {
    if fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    fs::write(path, text).map_err(DebianError::io("write", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(kind: IndexKind) -> Repo {
        let mirrors = Mirrors { debian: "http://m/debian".into(), security: "http://m/debian-security".into() };
        let r = match kind {
            IndexKind::Binary => {
                Repo::binaries(Path::new("/c"), &["bookworm", "bookworm-security"], &["main"], &["amd64", "arm64"])
            }
            IndexKind::Source => Repo::sources(Path::new("/c"), &["sid", "trixie"], &["main", "contrib"]),
        };
        r.with_mirrors(mirrors)
    }

    #[test]
    fn sources_group_suites_by_archive_and_say_everything_needed() {
        assert_eq!(
            repo(IndexKind::Binary).sources_text(),
            "Types: deb\nURIs: http://m/debian\nSuites: bookworm\nComponents: main\nArchitectures: amd64 arm64\n\
             Targets: Packages\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n\
             Types: deb\nURIs: http://m/debian-security\nSuites: bookworm-security\nComponents: main\n\
             Architectures: amd64 arm64\nTargets: Packages\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        );
        assert_eq!(
            repo(IndexKind::Source).sources_text(),
            "Types: deb-src\nURIs: http://m/debian\nSuites: sid trixie\nComponents: main contrib\n\
             Targets: Sources\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        );
    }

    #[test]
    fn the_configuration_is_complete_and_keeps_apt_away_from_etc() {
        let text = repo(IndexKind::Binary).config_text(Path::new("/c/apt/x"));
        for line in [
            "Dir::Etc \"/c/apt/x/etc\";",
            "Acquire::Check-Valid-Until \"false\";",
            "APT::Architectures { \"amd64\"; \"arm64\"; };",
            "Acquire::GzipIndexes \"false\";",
            "Dir::State::status \"/c/apt/x/status\";",
        ] {
            assert!(text.lines().any(|l| l == line), "`{line}` missing from:\n{text}");
        }
    }

    #[test]
    fn list_file_names_are_apt_s() {
        assert_eq!(
            uri_to_file_name("http://deb.debian.org/debian/dists/sid/main/source/Sources"),
            "deb.debian.org_debian_dists_sid_main_source_Sources"
        );
        assert_eq!(
            uri_to_file_name(
                "https://u:p@snap.example:8080/archive/debian/20250520T000000Z/dists/a_b~c/main/binary-arm64/Packages"
            ),
            "snap.example:8080_archive_debian_20250520T000000Z_dists_a%5fb%7ec_main_binary-arm64_Packages"
        );
        let paths = repo(IndexKind::Binary).index_paths();
        assert_eq!(paths.len(), 4);
        assert!(
            paths[3].ends_with("lists/m_debian-security_dists_bookworm-security_main_binary-arm64_Packages"),
            "{paths:?}"
        );
    }

    #[test]
    fn the_directory_depends_on_the_configuration() {
        let (a, b) = (repo(IndexKind::Binary), repo(IndexKind::Source));
        assert!(a.dir().starts_with("/c/apt") && a.dir().file_name().unwrap().to_string_lossy().starts_with("deb-"));
        assert_ne!(a.dir(), b.dir());
        assert_eq!(a.dir(), repo(IndexKind::Binary).dir());
        let other = repo(IndexKind::Binary).with_mirrors(Mirrors::default());
        assert_ne!(a.dir(), other.dir());
        assert_eq!(
            a.describe(),
            "deb bookworm bookworm-security (main) for amd64 arm64 from http://m/debian http://m/debian-security"
        );
    }
}
