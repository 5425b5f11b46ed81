//! Pinned sources in recipes: fetch (through the shared cache and mirrors), or take a local
//! override, then unpack with the top directory stripped and apply the recipe's patches.
//!
//! Overrides come from `cargo xtask build --source <ext>[/<source>]=<dir|archive>`, passed to
//! build scripts in [`crate::ENV_SOURCE_OVERRIDES`]. An overridden source skips pin verification: the
//! build script prints a cargo warning and the staged tree records it, so the image is marked
//! (and `publish` refuses it unless told otherwise).
//!
//! Unpacked trees are kept in `<work>/src/<source>` with a stamp of what produced them (the
//! archive's sha256 and the patches' contents), so a re-run with the same inputs does not unpack
//! again. Every file of an unpacked tree gets one mtime (`SOURCE_DATE_EPOCH`) before the patches
//! are applied, so build systems see nothing as stale that upstream did not change.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use talos_ext_archive::{UnpackOptions, apply_patches, find_patches, unpack};
use talos_ext_fetch::{NoReporter, fetch};
use talos_ext_model::Source;
use talos_ext_model::handoff::SourceOverride;

use crate::stage::Stage;

/// How the unpack stamp of a directory override starts: it is re-copied on every run (a working
/// tree may change under us), so the stamp is unique and identifies nothing; builds from it are
/// keyed by the copied tree's contents instead (see `drivers::source_identity`).
pub(crate) const OVERRIDE_DIR_STAMP: &str = "override-dir ";

impl Stage {
    /// The pinned source `name` for this arch, from the recipe's metadata.
    pub fn pinned(&self, name: &str) -> Result<&Source> {
        self.meta.source(name, self.arch).with_context(|| {
            let known: Vec<&str> = self.meta.sources_for(self.arch).map(|s| s.name.as_str()).collect();
            format!(
                "recipe `{}` asks for source `{name}`, which its Cargo.toml does not pin for {} (pinned: {})",
                self.meta.name,
                self.arch,
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            )
        })
    }

    fn override_for(&self, name: &str) -> Result<Option<&SourceOverride>> {
        let mine: Vec<&SourceOverride> = self.overrides.iter().filter(|o| o.extension == self.meta.name).collect();
        if let Some(o) = mine.iter().find(|o| o.source.as_deref() == Some(name)) {
            return Ok(Some(o));
        }
        let Some(o) = mine.iter().find(|o| o.source.is_none()) else { return Ok(None) };
        let count = self.meta.sources_for(self.arch).count();
        if count != 1 {
            bail!(
                "--source {}=... is ambiguous: `{}` has {count} sources; name one as `{}/<source>=...`",
                self.meta.name,
                self.meta.name,
                self.meta.name
            );
        }
        Ok(Some(o))
    }

    /// The verified archive (or file) of source `name`: from the cache, a mirror or upstream, or
    /// the local override.
    pub fn source_file(&self, name: &str) -> Result<PathBuf> {
        let pinned = self.pinned(name)?;
        if let Some(o) = self.override_for(name)? {
            self.note_override(name, &o.path);
            return Ok(o.path.clone());
        }
        let file = fetch(&self.fetch, &self.meta.name, pinned, &NoReporter)?;
        let mut fetched = self.fetched.borrow_mut();
        if !fetched.iter().any(|f| f == name) {
            fetched.push(name.to_string());
        }
        Ok(file)
    }

    /// Source `name` unpacked (top directory stripped) with `patches/*.patch` applied, in order.
    /// A directory override is copied, then patched; the override itself is never modified.
    pub fn source(&self, name: &str) -> Result<PathBuf> {
        let file = self.source_file(name)?;
        let dest = self.work.join("src").join(name);
        let patches = find_patches(&self.manifest_dir.join("patches"));
        let stamp = self.unpack_stamp(name, &file, &patches)?;
        let stamp_path = self.work.join("src").join(format!(".{name}.stamp"));
        if dest.is_dir() && fs::read_to_string(&stamp_path).ok().as_deref() == Some(stamp.as_str()) {
            return Ok(dest);
        }
        talos_ext_fs::remove_dir_if_exists(&dest)?;
        let _ = fs::remove_file(&stamp_path);
        fs::create_dir_all(self.work.join("src")).context("creating the source directory")?;
        if file.is_dir() {
            talos_ext_fs::merge_tree(&file, &dest, |name| name == ".git")?;
        } else {
            unpack(&file, &dest, &UnpackOptions { strip_components: 1 })
                .with_context(|| format!("unpacking source `{name}` of `{}`", self.meta.name))?;
        }
        // Unpacking and copying drop mtimes, so files would be as new as their extraction order
        // makes them, and an autotools Makefile would then try to regenerate `aclocal.m4` or
        // `configure` (with autotools versions the machine may not have). One time for the
        // whole tree says "nothing is stale"; files the patches change are newer, as they are.
        let epoch = std::time::UNIX_EPOCH + std::time::Duration::from_secs(self.source_date_epoch);
        talos_ext_fs::set_file_mtimes(&dest, epoch)?;
        apply_patches(&dest, &patches).with_context(|| format!("patching source `{name}` of `{}`", self.meta.name))?;
        fs::write(&stamp_path, stamp).with_context(|| format!("writing {}", stamp_path.display()))?;
        Ok(dest)
    }

    /// What identifies an unpacked tree: the pinned sha256 (or, for an override, its path and
    /// modification time) and the patches' contents.
    fn unpack_stamp(&self, name: &str, file: &Path, patches: &[PathBuf]) -> Result<String> {
        let mut h = Sha256::new();
        // How trees are prepared (one mtime for every file, then the patches).
        h.update("unpack v2: one mtime\n");
        if self.override_for(name)?.is_some() {
            // Overrides are working trees that change under us: always re-copy a directory.
            if file.is_dir() {
                return Ok(format!("{OVERRIDE_DIR_STAMP}{}", crate::script::stamp()));
            }
            let modified = fs::metadata(file).and_then(|m| m.modified()).ok();
            h.update(format!("override {} {modified:?}", file.display()));
        } else {
            h.update(self.pinned(name)?.sha256.as_str());
        }
        for p in patches {
            h.update(p.file_name().map(|n| n.as_encoded_bytes()).unwrap_or_default());
            h.update(fs::read(p).with_context(|| format!("reading {}", p.display()))?);
        }
        Ok(hex::encode(h.finalize()))
    }

    /// The stand-in kernel source of `--source linux=<archive>`
    /// ([`KERNEL_SOURCE_OVERRIDE`](talos_ext_model::handoff::KERNEL_SOURCE_OVERRIDE)), marked
    /// on the image like any overridden source.
    pub(crate) fn kernel_source_override(&self) -> Option<PathBuf> {
        let name = talos_ext_model::handoff::KERNEL_SOURCE_OVERRIDE;
        let o = self.overrides.iter().find(|o| o.extension == name && o.source.is_none())?;
        self.note_override(name, &o.path);
        Some(o.path.clone())
    }

    pub(crate) fn note_override(&self, name: &str, path: &Path) {
        let mut seen = self.overridden.borrow_mut();
        if !seen.iter().any(|s| s == name) {
            println!("cargo:rerun-if-changed={}", path.display());
            println!(
                "cargo:warning={}: source `{name}` overridden by {} (pin NOT verified; the image is marked)",
                self.meta.name,
                path.display()
            );
            seen.push(name.to_string());
        }
    }
}
