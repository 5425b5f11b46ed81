//! Recipe for `gasket-driver`: google/gasket-driver at the commit siderolabs/pkgs pins, built out
//! of tree (`src/`, giving `gasket.ko` and `apex.ko`) against the extension's kernel toolchain
//! (the pinned Talos kernel by default), stripped, signed and installed under `extras/`.
//!
//! pkgs carries two patches for recent kernels (`no-llseek.patch`, `module-import-ns.patch`);
//! their text is not in this repository, so the same two changes are applied as fix-ups:
//! `no_llseek` was removed in Linux 6.12 (`noop_llseek` is the replacement; checked by building
//! against Debian's 6.12 headers), and since 6.13 `MODULE_IMPORT_NS` takes a string.

use talos_ext_build::prelude::*;

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let tc = s.kernel_toolchain()?;
    let mut build = s
        .kbuild_modules("gasket")
        .pinned_source("gasket-driver")
        .subdir("src")
        .replace("src/gasket_core.c", "no_llseek", "noop_llseek")
        .expect_modules(["gasket.ko", "apex.ko"]);
    if kernel_at_least(&tc.kernel_release(s.arch()), 6, 13) {
        build = build.replace("*", "MODULE_IMPORT_NS(DMA_BUF)", "MODULE_IMPORT_NS(\"DMA_BUF\")");
    }
    build.run()?;
    Ok(())
}

/// Whether a kernel release (`6.18.45-talos`) is at least `major.minor`.
fn kernel_at_least(release: &str, major: u32, minor: u32) -> bool {
    let mut parts = release.split(['.', '-', '+']).map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (major, minor)
}

fn main() {
    talos_ext_build::build_script(recipe)
}
