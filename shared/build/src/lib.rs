//! What an extension's `build.rs` uses: the recipe entry point, the per-arch cross toolchain,
//! and the staging and install helpers.
//!
//! A recipe is a function `fn recipe(stage: &mut Stage) -> Result<()>` that puts files under the
//! stage's rootfs for one arch. Its `build.rs` hands it to [`build_script`]:
//!
//! ```no_run
//! use talos_ext_build::prelude::*;
//!
//! pub fn recipe(s: &mut Stage) -> Result<()> {
//!     let bin = s.compile_program("hello", &["native/hello.c"])?;
//!     s.install(&bin, "usr/local/lib/containers/hello/hello", 0o755)?;
//!     Ok(())
//! }
//!
//! fn main() {
//!     talos_ext_build::build_script(recipe)
//! }
//! ```
//!
//! A plain `cargo build` does no heavy work: the recipe runs only when `cargo xtask build` (or a
//! test, through [`testing::stage`]) asks for arches with [`ENV_ARCHES`]. Each requested arch is
//! staged into a fresh directory under `OUT_DIR`, given its `manifest.yaml`, validated in strict
//! mode, and only then renamed into place, so a failed recipe never leaves a half-staged tree
//! where `xtask` would pack it.

pub mod drivers;
pub mod elf;
pub mod firmware;
mod fresh;
pub mod go;
pub mod kata;
pub mod kernel;
mod layer;
pub use layer::resolve_in_rootfs;
mod library;
pub mod microcode;
pub mod nvidia;
pub mod nvidia_container_toolkit;
pub mod nvidia_fabricmanager;
pub mod prebuilt;
mod script;
mod sources;
mod stage;
pub mod step;
#[cfg(feature = "testing")]
pub mod testing;
mod toolchain;

#[cfg(feature = "testing")]
pub use library::TestLibrary;
pub use library::{SYSROOT_COMPONENTS, SYSROOT_OVERRIDES, SYSROOT_STAMP, dep_var, library_script};
pub use script::{RECIPE_INPUTS, SBOM_NAMESPACE_BASE, build_script, default_build_script, default_recipe};
pub use stage::Stage;
/// Where sources come from (cache, mirrors, offline mode): what tests put in
/// [`testing::TestOptions::fetch`].
pub use talos_ext_fetch as fetch;
pub use talos_ext_model as model;
pub use talos_ext_model::Arch;
/// The contract with `cargo xtask build` (environment in, staged trees out), defined in the model.
pub use talos_ext_model::handoff::{
    ENV_ARCHES, ENV_SOURCE_DATE_EPOCH, ENV_SOURCE_OVERRIDES, SOURCE_DATE_EPOCH, STAGE_DIR, STAGED_INFO, SourceOverride,
    StagedArch, StagedInfo, default_cache_dir, test_stages_dir,
};
/// SPDX documents: every staged extension carries `rootfs/usr/local/share/spdx/<name>.spdx.json`.
pub use talos_ext_sbom as sbom;
/// The validator (what staging runs on every tree), for tests that re-check a changed tree.
pub use talos_ext_validate as validate;
pub use toolchain::{CrossToolchain, ToolchainError, with_cc_wrapper};

/// What recipes import.
pub mod prelude {
    pub use crate::drivers::{Built, Dest, Linkage, MesonRelease};
    pub use crate::{Arch, Stage};
    pub use anyhow::{Context as _, Result, bail};
}
