//! Stages `wasmedge` for both arches from generated STAND-INS, not upstream's release archives (they
//! are not reachable offline): per arch a `.tar.gz` under the pinned file name holding a small
//! static musl program as the member `containerd-shim-wasmedge-v1`, served through an offline
//! directory mirror under the test's own pin (listed in `extensions/test-overrides.toml`).
//! Checks the install, mode, ELF machine, static linking, the SBOM's binary component and the CRI
//! part (and that a broken part is reported), and that the other arch's stand-in is refused.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

// The stand-ins are pinned by `talos_ext_build::testing::Repin` (see the module docs).
talos_ext_build::prebuilt_recipe_tests!(build::recipe);
