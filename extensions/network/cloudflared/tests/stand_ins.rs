//! Stages `cloudflared` for its arches from generated STAND-INS, not the vendor's files (the tests
//! never reach the vendor): per payload a small static musl program for the arch (in a `.tar.gz`
//! under the pinned file name when the payload is an archive member), served through an offline
//! directory mirror under the test's own pin (the `cloudflared` entries of
//! `extensions/test-overrides.toml`, which `cargo xtask new` wrote). Checks the install, mode,
//! ELF machine, static linking, the SBOM's binary components and any CRI part, and that the
//! other arch's stand-in is refused.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

// The stand-ins are pinned by `talos_ext_build::testing::Repin` (see the module docs).
talos_ext_build::prebuilt_recipe_tests!(build::recipe);
