//! Internal library stages: crates under `extensions/internal/<lib>/` (kind `library`) that
//! build static libraries per arch into a sysroot, for recipes to link against. They are never
//! published.
//!
//! They use cargo's own mechanism, so cargo orders and caches them: the library crate sets
//! `links = "<lib>"` and its `build.rs` calls [`library_script`], which prints
//! `cargo:sysroot_<arch>=<dir>`; a dependent lists the library under `[dependencies]` and its
//! recipe calls [`Stage::use_library`], which reads `DEP_<LIB>_SYSROOT_<ARCH>` and merges that
//! sysroot into its own (`<work>/sysroot`, where the drivers look for headers, libraries and
//! `.pc` files). In tests, where cargo does not run the library's build script, the library's
//! recipe is passed in `testing::TestOptions::libraries` (feature `testing`) and staged on demand,
//! once per arch and set of overrides, shared between tests.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use talos_ext_model::Arch;

use crate::script::Recipe;
use crate::stage::Stage;

/// A library recipe available to tests (see `testing::TestOptions`).
#[cfg(feature = "testing")]
#[derive(Debug, Clone)]
pub struct TestLibrary {
    /// The `links` name (`libnvme`).
    pub links: String,
    /// The library crate's directory.
    pub manifest_dir: PathBuf,
    pub recipe: Recipe,
}

#[cfg(feature = "testing")]
impl TestLibrary {
    /// The workspace's internal library `links` ([`crate::testing::internal_crate`]), staged by
    /// `recipe`.
    pub fn internal(links: &str, recipe: Recipe) -> TestLibrary {
        TestLibrary { links: links.into(), manifest_dir: crate::testing::internal_crate(links), recipe }
    }
}

/// The file in a finished library sysroot that changes whenever its contents change: it holds
/// their digest (dependents watch it).
pub const SYSROOT_STAMP: &str = ".talos-ext-stamp";

/// The `main` of an internal library's `build.rs`: stages the requested arches like
/// [`crate::build_script`] (the recipe installs into the sysroot with the drivers'
/// `.into_sysroot()`), and publishes each sysroot as `cargo:sysroot_<arch>=<dir>`.
pub fn library_script(recipe: Recipe) {
    crate::script::run_script(recipe, true)
}

/// The file in a library sysroot listing sources (`<lib>/<source>`, one per line) that came
/// from `--source` overrides, its own and its libraries', so the extension that links it is
/// marked as built from overridden sources too.
pub const SYSROOT_OVERRIDES: &str = ".talos-ext-overridden";

/// The directory of a sysroot holding one SBOM component (`<links>.json`,
/// [`talos_ext_sbom::Component`]) per library merged into it, the library's own and those of
/// the libraries it links: the extension that links them lists each in its SBOM.
pub const SYSROOT_COMPONENTS: &str = ".talos-ext-sbom";

/// Finishes a library stage: records its SBOM component and overridden sources, stamps its
/// sysroot and returns it.
pub(crate) fn finish_library(stage: &Stage) -> Result<PathBuf> {
    let sysroot = stage.work.join("sysroot");
    let components = sysroot.join(SYSROOT_COMPONENTS);
    fs::create_dir_all(&components).with_context(|| format!("creating {}", components.display()))?;
    let component = talos_ext_sbom::Component::from_meta(&stage.meta, &stage.pin.talos.tag, stage.arch);
    let path = components.join(format!("{}.json", stage.meta.name));
    let json = serde_json::to_vec_pretty(&component).context("serialising an SBOM component")?;
    fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
    let overridden: Vec<String> = stage
        .overridden
        .borrow()
        .iter()
        .map(|s| if s.contains('/') { s.clone() } else { format!("{}/{s}", stage.meta.name) })
        .collect();
    let list = sysroot.join(SYSROOT_OVERRIDES);
    fs::write(&list, overridden.iter().map(|s| format!("{s}\n")).collect::<String>())
        .with_context(|| format!("writing {}", list.display()))?;
    let stamp_path = sysroot.join(SYSROOT_STAMP);
    let digest = crate::fresh::tree_digest_except(&sysroot, SYSROOT_STAMP)?;
    if fs::read_to_string(&stamp_path).ok().as_deref() != Some(digest.as_str()) {
        fs::write(&stamp_path, digest).with_context(|| format!("writing {}", stamp_path.display()))?;
    }
    Ok(sysroot)
}

/// The SBOM components of the libraries merged into `sysroot`, sorted by name.
pub(crate) fn sysroot_components(sysroot: &Path) -> Result<Vec<talos_ext_sbom::Component>> {
    let dir = sysroot.join(SYSROOT_COMPONENTS);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in talos_ext_fs::sorted_entries(&dir)? {
        let path = entry.path();
        let text = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let component: talos_ext_sbom::Component =
            serde_json::from_slice(&text).with_context(|| format!("parsing the SBOM component {}", path.display()))?;
        out.push(component);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Empties a stage's sysroot at the start of a run, keeping a library's [`SYSROOT_STAMP`].
pub(crate) fn empty_sysroot(sysroot: &Path) -> Result<()> {
    fs::create_dir_all(sysroot).with_context(|| format!("creating {}", sysroot.display()))?;
    for entry in talos_ext_fs::sorted_entries(sysroot)? {
        if entry.file_name() != SYSROOT_STAMP {
            talos_ext_fs::remove_if_exists(&entry.path())?;
        }
    }
    Ok(())
}

/// `DEP_<LINKS>_SYSROOT_<ARCH>`, the variable cargo gives a dependent's build script.
pub fn dep_var(links: &str, arch: Arch) -> String {
    crate::layer::dep_metadata_var(links, "sysroot", arch)
}

impl Stage {
    /// Merges the sysroot of internal library `links` (built for this arch) into this stage's
    /// sysroot, so the drivers find its headers, static libraries and pkg-config files.
    pub fn use_library(&self, links: &str) -> Result<PathBuf> {
        #[cfg(feature = "testing")]
        if let Some(lib) = self.libraries.iter().find(|l| l.links == links) {
            // Tests: the library's shared stage, merged while it is locked.
            crate::testing::use_shared_library(lib, self, |from, _| self.merge_library(links, from))?;
            return Ok(self.work.join("sysroot"));
        }
        let var = dep_var(links, self.arch);
        let Some(from) = std::env::var_os(&var).map(PathBuf::from) else {
            bail!(
                "recipe `{}` uses internal library `{links}`, but {var} is not set\n\
                 hint: list it under [dependencies] in Cargo.toml (`{links} = {{ path = \"../../internal/{links}\" }}`); \
                 the library crate must have `links = \"{links}\"`",
                self.meta.name
            );
        };
        println!("cargo:rerun-if-changed={}", from.join(SYSROOT_STAMP).display());
        self.merge_library(links, &from)?;
        Ok(self.work.join("sysroot"))
    }

    /// Merges a library's sysroot into this stage's, and takes over its overridden sources.
    fn merge_library(&self, links: &str, from: &Path) -> Result<()> {
        // Sources the library (or its own libraries) took from overrides mark this stage too.
        if let Ok(list) = fs::read_to_string(from.join(SYSROOT_OVERRIDES)) {
            let mut seen = self.overridden.borrow_mut();
            for name in list.lines().filter(|l| !l.is_empty()) {
                if !seen.iter().any(|s| s == name) {
                    seen.push(name.to_string());
                }
            }
        }
        let into = self.work.join("sysroot");
        talos_ext_fs::merge_tree(from, &into, |name| {
            [".git", SYSROOT_STAMP, SYSROOT_OVERRIDES].map(OsStr::new).contains(&name)
        })
        .with_context(|| format!("merging the sysroot of `{links}` into {}", into.display()))
    }
}
