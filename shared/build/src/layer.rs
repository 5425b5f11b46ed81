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
        #[cfg(feature = "testing")]
        if let Some(other) = self.libraries.iter().find(|l| l.links == name) {
            return crate::testing::stage_layer(other, self, |rootfs, overridden| {
                self.merge_layer(name, rootfs, overridden)
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
        self.merge_layer(name, &rootfs, &overridden)
    }

    fn merge_layer(&self, name: &str, rootfs: &Path, overridden: &[String]) -> Result<PathBuf> {
        {
            let mut seen = self.overridden.borrow_mut();
            for source in overridden {
                let source = if source.contains('/') { source.clone() } else { format!("{name}/{source}") };
                if !seen.contains(&source) {
                    seen.push(source);
                }
            }
        }
        talos_ext_fs::merge_tree(rootfs, &self.rootfs(), |_| false).with_context(|| {
            format!("layering the rootfs of `{name}` ({}) into `{}`", rootfs.display(), self.meta.name)
        })?;
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
