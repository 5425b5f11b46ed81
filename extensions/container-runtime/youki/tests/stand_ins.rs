//! Stages `youki` for both arches from generated STAND-INS, not upstream's release archives (they
//! are not reachable offline and no package archive carries youki): per arch a `.tar.gz` under
//! the pinned file name holding a small static musl program as the member `youki`, served through
//! an offline directory mirror under the test's own pin (listed in
//! `extensions/test-overrides.toml`). Checks the install, mode, ELF machine, static linking, that
//! it runs (arm64 under qemu), the SBOM's binary component and the CRI part (and that a broken
//! part is reported), and that the other arch's stand-in is refused naming both machines.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

// The stand-ins are pinned by `talos_ext_build::testing::Repin` (see the module docs).
talos_ext_build::prebuilt_recipe_tests!(build::recipe);
