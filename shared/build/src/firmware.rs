//! Kind `firmware`: files of the pinned linux-firmware release (`toolchain/firmware.toml`) into
//! `/usr/lib/firmware/`, selected by the recipe's metadata (`firmware = [...]`: files,
//! directories, `*`/`?` globs), with the links the release's `WHENCE` defines (`Link: <name> ->
//! <target>`, which upstream's `copy-firmware.sh` creates) recreated as symlinks.
//!
//! - **Tree.** The release tarball is fetched like a source (cache, mirrors, offline) and
//!   unpacked once into `<cache>/firmware/linux-firmware-<version>-<sha256 prefix>/` (under a
//!   lock, renamed into place), which every recipe and arch shares. `--source
//!   linux-firmware=<dir>` ([`FIRMWARE_SOURCE_OVERRIDE`]) names a directory with the release's
//!   layout instead: a stand-in, marked on the image as every override is, and the SBOM's
//!   `linux-firmware` component says so in its version.
//! - **Selection** ([`FirmwareTree::select`]). Each selected path must match something (the error
//!   names the recipe, the path and the tree); a directory brings everything below it, a link
//!   the link. Links are `WHENCE`'s plus any relative symlinks a directory tree has; a link's
//!   target (resolved from the link's directory) is selected too, so no link ships dangling.
//!   Paths through a link are not followed: select the link or its target.
//! - **Staging** ([`Stage::install_firmware`]): files 0644 (whatever the tree says), directories
//!   0755, symlinks as written, in sorted order; strict validation runs afterwards as for every
//!   stage.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use talos_ext_archive::{UnpackOptions, unpack};
use talos_ext_fetch::{NoReporter, fetch};
use talos_ext_model::firmware::{
    FIRMWARE_ROOT, LINUX_FIRMWARE, LINUX_FIRMWARE_PATH, LinuxFirmware, WHENCE, WhenceError, path_matches, resolve_link,
    whence_links,
};
use talos_ext_model::handoff::FIRMWARE_SOURCE_OVERRIDE;
use talos_ext_model::{PIN_PATH, Pin};

use crate::stage::Stage;

/// What one path of a firmware tree is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    File,
    Dir,
    /// A link to a path relative to the link's directory (as `ln -s` takes it).
    Link(String),
}

/// A firmware tree that cannot be read or a selection that cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum FirmwareError {
    #[error("reading the firmware tree {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", path.display())]
    Whence {
        path: PathBuf,
        #[source]
        source: WhenceError,
    },
    #[error("{}: {message}", path.display())]
    Tree { path: PathBuf, message: String },
    #[error("firmware recipe `{recipe}`: `{path}` matches nothing in {tree}{hint}")]
    Missing { recipe: String, path: String, tree: String, hint: String },
    #[error(
        "firmware recipe `{recipe}`: the link `{link}` -> `{target}` points at `{resolved}`, which is not in {tree}"
    )]
    Dangling { recipe: String, link: String, target: String, resolved: String, tree: String },
}

/// A linux-firmware tree on disk: its paths (a sorted walk; `.git` left out) and `WHENCE`'s links.
#[derive(Debug, Clone)]
pub struct FirmwareTree {
    root: PathBuf,
    /// How errors name the tree (`linux-firmware 20260810 (<dir>)`, `the stand-in tree <dir>`).
    described: String,
    nodes: BTreeMap<String, Node>,
}

impl FirmwareTree {
    /// Reads the tree at `root`; `described` is how errors name it.
    pub fn open(root: &Path, described: &str) -> Result<FirmwareTree, FirmwareError> {
        let mut nodes = BTreeMap::new();
        walk(root, root, &mut nodes)?;
        let whence = root.join(WHENCE);
        if whence.is_file() {
            let text =
                fs::read_to_string(&whence).map_err(|source| FirmwareError::Read { path: whence.clone(), source })?;
            let links = whence_links(&text).map_err(|source| FirmwareError::Whence { path: whence.clone(), source })?;
            for link in links {
                match nodes.get(&link.name) {
                    None => {}
                    Some(Node::Link(t)) if *t == link.target => {}
                    Some(other) => {
                        return Err(FirmwareError::Tree {
                            path: whence,
                            message: format!(
                                "line {}: `Link: {} -> {}`, but the tree has {} there",
                                link.line,
                                link.name,
                                link.target,
                                match other {
                                    Node::File => "a file".to_string(),
                                    Node::Dir => "a directory".to_string(),
                                    Node::Link(t) => format!("a link to `{t}`"),
                                }
                            ),
                        });
                    }
                }
                let mut parent = link.name.as_str();
                while let Some((dir, _)) = parent.rsplit_once('/') {
                    nodes.entry(dir.to_string()).or_insert(Node::Dir);
                    parent = dir;
                }
                nodes.insert(link.name, Node::Link(link.target));
            }
        }
        Ok(FirmwareTree { root: root.to_path_buf(), described: described.to_string(), nodes })
    }

    /// The tree's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every path of the tree (files, directories, links), sorted.
    pub fn nodes(&self) -> &BTreeMap<String, Node> {
        &self.nodes
    }

    /// What `recipe`'s selected `paths` resolve to: every file, directory and link to stage, by
    /// path relative to the tree (sorted), links' targets included.
    pub fn select(&self, recipe: &str, paths: &[String]) -> Result<BTreeMap<String, Node>, FirmwareError> {
        let mut out = BTreeMap::new();
        let mut links = Vec::new();
        for pattern in paths {
            let matched: Vec<&String> = self.nodes.keys().filter(|p| path_matches(pattern, p)).collect();
            if matched.is_empty() {
                return Err(FirmwareError::Missing {
                    recipe: recipe.to_string(),
                    path: pattern.clone(),
                    tree: self.described.clone(),
                    hint: self.through_link_hint(pattern),
                });
            }
            for path in matched {
                self.add(path, &mut out, &mut links);
            }
        }
        let mut followed = BTreeSet::new();
        while let Some((link, target)) = links.pop() {
            if !followed.insert(link.clone()) {
                continue;
            }
            let dangling = |resolved: String| FirmwareError::Dangling {
                recipe: recipe.to_string(),
                link: link.clone(),
                target: target.clone(),
                resolved,
                tree: self.described.clone(),
            };
            let resolved = resolve_link(&link, &target).ok_or_else(|| dangling("outside the tree".into()))?;
            if !self.nodes.contains_key(&resolved) {
                return Err(dangling(resolved));
            }
            self.add(&resolved, &mut out, &mut links);
        }
        Ok(out)
    }

    /// Adds `path` (and, for a directory, everything below it), queueing the links it adds.
    fn add(&self, path: &str, out: &mut BTreeMap<String, Node>, links: &mut Vec<(String, String)>) {
        let below = format!("{path}/");
        let here = self.nodes.range(path.to_string()..).take_while(|(p, _)| *p == path || p.starts_with(&below));
        for (p, node) in here {
            if let Node::Link(target) = node {
                links.push((p.clone(), target.clone()));
            }
            out.insert(p.clone(), node.clone());
        }
    }

    /// `: it passes through the link ...` when a leading part of `pattern` is a link.
    fn through_link_hint(&self, pattern: &str) -> String {
        let parts: Vec<&str> = pattern.split('/').collect();
        for n in 1..parts.len() {
            let prefix = parts[..n].join("/");
            if let Some(Node::Link(target)) = self.nodes.get(&prefix) {
                return format!(
                    "\nhint: `{prefix}` is a link to `{target}`; paths through links are not followed: select the \
                     link or its target"
                );
            }
        }
        String::new()
    }
}

/// Walks `dir` (sorted) into `nodes`, paths relative to `root`.
fn walk(root: &Path, dir: &Path, nodes: &mut BTreeMap<String, Node>) -> Result<(), FirmwareError> {
    fn read(path: &Path) -> impl FnOnce(std::io::Error) -> FirmwareError + use<> {
        let path = path.to_path_buf();
        move |source| FirmwareError::Read { path, source }
    }
    let mut entries: Vec<fs::DirEntry> =
        fs::read_dir(dir).map_err(read(dir))?.collect::<Result<_, _>>().map_err(read(dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
        let kind = entry.file_type().map_err(read(&path))?;
        if kind.is_dir() {
            if entry.file_name() == ".git" {
                continue;
            }
            nodes.insert(rel, Node::Dir);
            walk(root, &path, nodes)?;
        } else if kind.is_symlink() {
            let target = fs::read_link(&path).map_err(read(&path))?.to_string_lossy().into_owned();
            if resolve_link(&rel, &target).is_none() {
                return Err(FirmwareError::Tree {
                    path,
                    message: format!("the symlink to `{target}` leaves the firmware tree"),
                });
            }
            nodes.insert(rel, Node::Link(target));
        } else if kind.is_file() {
            nodes.insert(rel, Node::File);
        } else {
            return Err(FirmwareError::Tree { path, message: "not a file, directory or symlink".into() });
        }
    }
    Ok(())
}

impl Stage {
    /// Installs the firmware the recipe's metadata selects (`firmware = [...]`) from the pinned
    /// linux-firmware release, or from the `--source linux-firmware=<dir>` stand-in, into
    /// `/usr/lib/firmware/`, and records the release as the SBOM's `linux-firmware` component.
    /// Returns the staged paths (relative to the rootfs), sorted.
    pub fn install_firmware(&self) -> Result<Vec<String>> {
        let root = Pin::find_workspace_root(&self.manifest_dir)
            .with_context(|| format!("no {PIN_PATH} above {}", self.manifest_dir.display()))?;
        let pin = match &self.linux_firmware {
            Some(pin) => pin.clone(),
            None => LinuxFirmware::load(&root)?,
        };
        pin.check_recipe_version(&self.meta).map_err(|message| {
            anyhow::anyhow!(
                "{}: package.metadata.talos-extension.version.date: {message}",
                self.manifest_dir.join("Cargo.toml").display()
            )
        })?;
        let stand_in = self.overrides.iter().find(|o| o.extension == FIRMWARE_SOURCE_OVERRIDE && o.source.is_none());
        let (tree, component) = match stand_in {
            Some(o) => {
                self.note_override(FIRMWARE_SOURCE_OVERRIDE, &o.path);
                let described = format!("the stand-in linux-firmware tree {}", o.path.display());
                let component = talos_ext_sbom::Component {
                    name: LINUX_FIRMWARE.to_string(),
                    version: format!(
                        "stand-in (--source {FIRMWARE_SOURCE_OVERRIDE}=<dir>), not the pinned {}",
                        pin.version
                    ),
                    license: None,
                    cpes: Vec::new(),
                    purl: None,
                    sources: Vec::new(),
                    binary: None,
                };
                (FirmwareTree::open(&o.path, &described)?, component)
            }
            None => {
                let dir = self.pinned_firmware_tree(&pin)?;
                let described = format!("linux-firmware {} ({})", pin.version, dir.display());
                let component = talos_ext_sbom::Component {
                    name: LINUX_FIRMWARE.to_string(),
                    version: pin.version.clone(),
                    license: None,
                    cpes: Vec::new(),
                    purl: Some(format!("pkg:generic/{LINUX_FIRMWARE}@{}", pin.version)),
                    sources: vec![pin.source()],
                    binary: None,
                };
                (FirmwareTree::open(&dir, &described)?, component)
            }
        };
        let selected = tree.select(&self.meta.name, &self.meta.firmware)?;
        let mut staged = Vec::new();
        self.mkdir(FIRMWARE_ROOT)?;
        for (path, node) in &selected {
            let dest = format!("{FIRMWARE_ROOT}/{path}");
            match node {
                Node::Dir => {
                    self.mkdir(&dest)?;
                }
                Node::File => self.install(&tree.root().join(path), &dest, 0o644)?,
                Node::Link(target) => {
                    let at = self.rootfs().join(&dest);
                    if let Some(parent) = Path::new(&dest).parent() {
                        self.mkdir(&parent.to_string_lossy())?;
                    }
                    std::os::unix::fs::symlink(target, &at)
                        .with_context(|| format!("creating the symlink {} -> {target}", at.display()))?;
                }
            }
            staged.push(dest);
        }
        self.components.borrow_mut().push(component);
        Ok(staged)
    }

    /// The pinned release unpacked in the shared cache (`<cache>/firmware/`), fetched and unpacked
    /// on first use, under a lock.
    fn pinned_firmware_tree(&self, pin: &LinuxFirmware) -> Result<PathBuf> {
        let base = self.fetch.cache_dir.join("firmware");
        let name = format!("{LINUX_FIRMWARE}-{}-{}", pin.version, &pin.sha256.as_str()[..12]);
        let dir = base.join(&name);
        if dir.is_dir() {
            return Ok(dir);
        }
        let _lock = talos_ext_fs::lock_file(&base.join(format!("{name}.lock")))?;
        if dir.is_dir() {
            return Ok(dir);
        }
        let tarball = fetch(&self.fetch, &self.meta.name, &pin.source(), &NoReporter)
            .with_context(|| format!("fetching linux-firmware {} pinned in {LINUX_FIRMWARE_PATH}", pin.version))?;
        unpack(&tarball, &dir, &UnpackOptions { strip_components: 1 })
            .with_context(|| format!("unpacking linux-firmware {} into {}", pin.version, dir.display()))?;
        Ok(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    /// A tiny tree in linux-firmware's layout: files, nested directories, a `WHENCE` with links.
    fn tree() -> (tempfile::TempDir, FirmwareTree) {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        for f in [
            "ql2100_fw.bin",
            "ql2500_fw.bin",
            "qlx_other.bin",
            "bnx2/a.fw",
            "bnx2/sub/b.fw",
            "intel/ice/ddp/ice-1.3.0.0.pkg",
        ] {
            write(r, f, f);
        }
        write(r, "tu102/gr/fecs.bin", "x");
        write(
            r,
            WHENCE,
            "Driver: ice\nFile: intel/ice/ddp/ice-1.3.0.0.pkg\nLink: intel/ice/ddp/ice.pkg -> ice-1.3.0.0.pkg\n\
             Link: bnx2/c.fw -> a.fw\nLink: tu104/gr -> ../tu102/gr\nLink: gone.bin -> nowhere.bin\n",
        );
        let t = FirmwareTree::open(r, "the test tree").unwrap();
        (tmp, t)
    }

    fn select(t: &FirmwareTree, paths: &[&str]) -> Result<Vec<String>, FirmwareError> {
        let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
        Ok(t.select("fw", &paths)?
            .into_iter()
            .map(|(p, n)| match n {
                Node::Link(target) => format!("{p} -> {target}"),
                Node::Dir => format!("{p}/"),
                Node::File => p,
            })
            .collect())
    }

    #[test]
    fn globs_directories_and_whence_links_resolve() {
        let (_tmp, t) = tree();
        assert_eq!(select(&t, &["ql*_fw.bin"]).unwrap(), ["ql2100_fw.bin", "ql2500_fw.bin"]);
        assert_eq!(
            select(&t, &["bnx2"]).unwrap(),
            ["bnx2/", "bnx2/a.fw", "bnx2/c.fw -> a.fw", "bnx2/sub/", "bnx2/sub/b.fw"]
        );
        // A link brings its target (so nothing ships dangling); a link to a directory the directory.
        assert_eq!(
            select(&t, &["intel/ice/ddp/ice.pkg"]).unwrap(),
            ["intel/ice/ddp/ice-1.3.0.0.pkg", "intel/ice/ddp/ice.pkg -> ice-1.3.0.0.pkg"]
        );
        assert_eq!(select(&t, &["tu104/*"]).unwrap(), ["tu102/gr/", "tu102/gr/fecs.bin", "tu104/gr -> ../tu102/gr"]);
    }

    #[test]
    fn a_missing_path_names_recipe_path_and_tree() {
        let (_tmp, t) = tree();
        let e = select(&t, &["bnx2", "bnx2x"]).unwrap_err().to_string();
        assert_eq!(e, "firmware recipe `fw`: `bnx2x` matches nothing in the test tree");
        let e = select(&t, &["tu104/gr/fecs.bin"]).unwrap_err().to_string();
        assert!(
            e.contains("`tu104/gr/fecs.bin` matches nothing") && e.contains("`tu104/gr` is a link to `../tu102/gr`"),
            "{e}"
        );
        let e = select(&t, &["gone.bin"]).unwrap_err().to_string();
        assert_eq!(
            e,
            "firmware recipe `fw`: the link `gone.bin` -> `nowhere.bin` points at `nowhere.bin`, which is not in the test tree"
        );
    }

    #[test]
    fn tree_symlinks_count_as_links_and_may_not_leave_the_tree() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "rtl_nic/a.fw", "a");
        std::os::unix::fs::symlink("a.fw", tmp.path().join("rtl_nic/b.fw")).unwrap();
        let t = FirmwareTree::open(tmp.path(), "t").unwrap();
        assert_eq!(select(&t, &["rtl_nic/b.fw"]).unwrap(), ["rtl_nic/a.fw", "rtl_nic/b.fw -> a.fw"]);
        std::os::unix::fs::symlink("../../etc/passwd", tmp.path().join("rtl_nic/c.fw")).unwrap();
        let e = FirmwareTree::open(tmp.path(), "t").unwrap_err().to_string();
        assert!(e.ends_with("rtl_nic/c.fw: the symlink to `../../etc/passwd` leaves the firmware tree"), "{e}");
    }

    #[test]
    fn a_whence_link_over_a_file_is_an_error_naming_the_line() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "a.bin", "a");
        write(tmp.path(), WHENCE, "File: a.bin\n\nLink: a.bin -> b.bin\n");
        let e = FirmwareTree::open(tmp.path(), "t").unwrap_err().to_string();
        assert!(e.ends_with("WHENCE: line 3: `Link: a.bin -> b.bin`, but the tree has a file there"), "{e}");
    }
}
