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
pub mod kernel;
pub mod microcode;
mod library;
mod script;
mod sources;
mod stage;
pub mod step;
pub mod testing;
mod toolchain;

pub use library::{SYSROOT_OVERRIDES, SYSROOT_STAMP, TestLibrary, dep_var, library_script};
pub use script::{SBOM_NAMESPACE_BASE, STAGE_DIR, STAGED_INFO, StagedArch, StagedInfo, build_script};
pub use sources::{ENV_SOURCE_OVERRIDES, SourceOverride, default_cache_dir};
pub use stage::Stage;
/// Where sources come from (cache, mirrors, offline mode): what tests put in
/// [`testing::TestOptions::fetch`].
pub use talos_ext_fetch as fetch;
pub use talos_ext_model as model;
pub use talos_ext_model::Arch;
/// SPDX documents: every staged extension carries `rootfs/usr/local/share/spdx/<name>.spdx.json`.
pub use talos_ext_sbom as sbom;
pub use toolchain::{CrossToolchain, ToolchainError};

/// Comma-separated arches the build script must stage (`amd64,arm64`). Unset or empty: the build
/// script does nothing beyond registering what it depends on.
pub const ENV_ARCHES: &str = "TALOS_EXT_ARCHES";

/// The reproducible-builds convention's variable: timestamps in builds and images.
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";

/// `SOURCE_DATE_EPOCH` for recipes, as `cargo xtask build` passes it to build scripts. It has
/// its own name because other crates' build scripts (cc's, for one) watch `SOURCE_DATE_EPOCH`:
/// setting that for the inner `cargo build` only would rebuild them on every call. Recipes'
/// build steps get the value as `SOURCE_DATE_EPOCH`; without this variable, build scripts fall
/// back to `SOURCE_DATE_EPOCH`, then 0.
pub const ENV_SOURCE_DATE_EPOCH: &str = "TALOS_EXT_SOURCE_DATE_EPOCH";

/// What recipes import.
pub mod prelude {
    pub use crate::drivers::{Built, Dest, Linkage};
    pub use crate::{Arch, Stage};
    pub use anyhow::{Context as _, Result, bail};
}
