//! Layered extensions: an extension whose image also carries another extension's whole rootfs,
//! as upstream's `COPY --from=<other stage>` does (dvb-cx23885 carries v4l-uvc-drivers: the
//! tuner modules need the V4L2 core and the UVC rules, and a user installs one image).
//!
//! It is cargo's mechanism again, as for library stages: the extension layered upon sets
//! `links = "<its name>"`, and its build script then prints `cargo::metadata=rootfs_<arch>=<dir>`
//! (its staged, validated tree) and `overridden_<arch>=<list>`; the layering one lists it under
//! `[dependencies]` and its recipe calls [`Stage::layer_extension`] first, which copies that
//! rootfs into its own. In tests the other extension's recipe is passed in
//! `testing::TestOptions::libraries` and staged on demand with the same options.
//!
//! [`Stage::layer_extension_into`] copies the other rootfs into a directory of this one instead,
//! a service's container root (`usr/local/lib/containers/<name>`): upstream copies the `glibc`
//! stage into nvidia-fabricmanager's container, whose programs run with that root as `/`. The
//! layer's SBOM documents (`usr/local/share/spdx/`) still go to this rootfs' own
//! `usr/local/share/spdx/`, where every extension's documents are.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use talos_ext_model::Arch;

use crate::stage::Stage;

/// The variable cargo sets for a dependent from `cargo::metadata=<key>_<arch>=...` of the
/// package with `links = "<links>"`.
pub(crate) fn dep_metadata_var(links: &str, key: &str, arch: Arch) -> String {
    format!("DEP_{}_{}_{}", links.to_uppercase().replace('-', "_"), key.to_uppercase(), arch.as_str().to_uppercase())
}

/// Prints what a dependent needs to layer this staged extension (only when the package has
/// `links`: cargo passes metadata only then).
pub(crate) fn publish_layer(arch: Arch, staged: &Path, overridden: &[String]) {
    if std::env::var_os("CARGO_MANIFEST_LINKS").is_some() {
        println!("cargo::metadata=rootfs_{arch}={}", staged.join("rootfs").display());
        println!("cargo::metadata=overridden_{arch}={}", overridden.join(","));
    }
}

impl Stage {
    /// Copies the whole staged rootfs of extension `name` (built for this arch, validated) into
    /// this stage's rootfs; what this recipe installs afterwards replaces its files. Sources the
    /// other extension took from overrides mark this image too. Returns the copied rootfs.
    pub fn layer_extension(&self, name: &str) -> Result<PathBuf> {
        self.layer_extension_at(name, "")
    }

    /// Like [`Stage::layer_extension`], but into the directory `dest` of this rootfs (relative,
    /// e.g. a service's container root `usr/local/lib/containers/<service>`): the other rootfs'
    /// paths land below `dest`, except its SBOM documents, which go to this rootfs'
    /// `usr/local/share/spdx/`. Returns the copied rootfs.
    pub fn layer_extension_into(&self, name: &str, dest: &str) -> Result<PathBuf> {
        let dest = dest.trim_matches('/');
        if dest.is_empty() || !dest.split('/').all(|c| !c.is_empty() && c != "." && c != "..") {
            bail!("recipe `{}` layers `{name}` into `{dest}`, which is not a relative directory", self.meta.name);
        }
        self.layer_extension_at(name, dest)
    }

    fn layer_extension_at(&self, name: &str, dest: &str) -> Result<PathBuf> {
        #[cfg(feature = "testing")]
        if let Some(other) = self.libraries.iter().find(|l| l.links == name) {
            return crate::testing::stage_layer(other, self, |rootfs, overridden| {
                self.merge_layer(name, rootfs, overridden, dest)
            });
        }
        let var = dep_metadata_var(name, "rootfs", self.arch);
        let Some(rootfs) = std::env::var_os(&var).map(PathBuf::from) else {
            bail!(
                "recipe `{}` layers extension `{name}`, but {var} is not set\n\
                 hint: list it under [dependencies] in Cargo.toml (`{name} = {{ path = \"../../<category>/{name}\" }}`), \
                 and give `{name}` `links = \"{name}\"` in its [package]; `{name}` must be built for {}",
                self.meta.name,
                self.arch
            );
        };
        let overridden = std::env::var(dep_metadata_var(name, "overridden", self.arch)).unwrap_or_default();
        let overridden: Vec<String> = overridden.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect();
        println!("cargo:rerun-if-changed={}", rootfs.display());
        self.merge_layer(name, &rootfs, &overridden, dest)
    }

    fn merge_layer(&self, name: &str, rootfs: &Path, overridden: &[String], dest: &str) -> Result<PathBuf> {
        {
            let mut seen = self.overridden.borrow_mut();
            for source in overridden {
                let source = if source.contains('/') { source.clone() } else { format!("{name}/{source}") };
                if !seen.contains(&source) {
                    seen.push(source);
                }
            }
        }
        let into = if dest.is_empty() { self.rootfs() } else { self.rootfs().join(dest) };
        talos_ext_fs::merge_tree(rootfs, &into, |_| false).with_context(|| {
            format!("layering the rootfs of `{name}` ({}) into `{}`", rootfs.display(), self.meta.name)
        })?;
        if !dest.is_empty() {
            move_sbom_documents(&into, &self.rootfs())?;
        }
        Ok(rootfs.to_path_buf())
    }
}

/// The regular file that the absolute path `path` names inside `rootfs`, following symlinks as
/// the node would (absolute targets from `rootfs`, relative ones from the link's directory),
/// never leaving `rootfs`.
pub fn resolve_in_rootfs(rootfs: &Path, path: &str) -> Result<PathBuf> {
    let mut pending: Vec<String> = path.split('/').filter(|c| !c.is_empty()).rev().map(str::to_string).collect();
    let mut at: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(component) = pending.pop() {
        match component.as_str() {
            "." => continue,
            ".." => {
                at.pop();
                continue;
            }
            _ => {}
        }
        let here = rootfs.join(at.join("/")).join(&component);
        let meta = std::fs::symlink_metadata(&here).with_context(|| format!("{path}: no {}", here.display()))?;
        if meta.file_type().is_symlink() {
            hops += 1;
            if hops > 40 {
                bail!("{path}: too many levels of symbolic links");
            }
            let target = std::fs::read_link(&here).with_context(|| format!("reading the link {}", here.display()))?;
            let target = target.to_string_lossy().into_owned();
            if target.starts_with('/') {
                at.clear();
            }
            pending.extend(target.split('/').filter(|c| !c.is_empty()).rev().map(str::to_string));
        } else {
            at.push(component);
        }
    }
    let resolved = rootfs.join(at.join("/"));
    if !resolved.is_file() {
        bail!("{path} resolves to {}, which is not a regular file", resolved.display());
    }
    Ok(resolved)
}

/// Where staged trees keep their SBOM documents, relative to the rootfs.
const SPDX_DIR: &str = "usr/local/share/spdx";

/// Moves the SBOM documents of a tree layered into the directory `layered` of `rootfs` to
/// `rootfs`' own [`SPDX_DIR`], and removes the directories that leaves empty.
fn move_sbom_documents(layered: &Path, rootfs: &Path) -> Result<()> {
    let from = layered.join(SPDX_DIR);
    if !from.is_dir() {
        return Ok(());
    }
    let to = rootfs.join(SPDX_DIR);
    std::fs::create_dir_all(&to).with_context(|| format!("creating {}", to.display()))?;
    for entry in talos_ext_fs::sorted_entries(&from)? {
        let target = to.join(entry.file_name());
        std::fs::rename(entry.path(), &target)
            .with_context(|| format!("moving {} to {}", entry.path().display(), target.display()))?;
    }
    // The emptied directories, deepest first, as long as they are empty.
    let mut dir = from;
    while dir != layered && std::fs::read_dir(&dir).map(|mut d| d.next().is_none()).unwrap_or(false) {
        std::fs::remove_dir(&dir).with_context(|| format!("removing {}", dir.display()))?;
        if !dir.pop() {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sbom_documents_of_a_layer_in_a_container_root_move_to_the_rootfs() {
        let tmp = tempfile::tempdir().unwrap();
        let rootfs = tmp.path().join("rootfs");
        let layered = rootfs.join("usr/local/lib/containers/svc");
        std::fs::create_dir_all(layered.join(SPDX_DIR)).unwrap();
        std::fs::create_dir_all(layered.join("usr/local/glibc")).unwrap();
        std::fs::write(layered.join(SPDX_DIR).join("glibc.spdx.json"), b"{}").unwrap();
        std::fs::create_dir_all(rootfs.join(SPDX_DIR)).unwrap();
        std::fs::write(rootfs.join(SPDX_DIR).join("other.spdx.json"), b"{}").unwrap();
        move_sbom_documents(&layered, &rootfs).unwrap();
        assert!(rootfs.join(SPDX_DIR).join("glibc.spdx.json").is_file());
        assert!(rootfs.join(SPDX_DIR).join("other.spdx.json").is_file(), "documents already there stay");
        assert!(!layered.join("usr/local/share").exists(), "the emptied directories are removed");
        assert!(layered.join("usr/local/glibc").is_dir(), "the rest of the layer stays");
        // Nothing to move is no error.
        move_sbom_documents(&layered, &rootfs).unwrap();
    }
}
