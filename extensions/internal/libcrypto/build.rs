//! Recipe for the internal library `libcrypto`: OpenSSL built as static libraries only (no
//! programs, tests, docs, engines or loadable modules) and installed into the sysroot with its
//! headers and `libcrypto.pc` / `libssl.pc`.

use talos_ext_build::prelude::*;

/// OpenSSL's `Configure` options: static libraries only, and nothing that loads code or reads
/// files at run time beyond what libcrypto needs.
const CONFIGURE: &[&str] = &[
    "--prefix=/usr",
    "--libdir=lib",
    "--openssldir=/etc/ssl",
    "no-shared",
    "no-module",
    "no-dso",
    "no-engine",
    "no-legacy",
    "no-apps",
    "no-tests",
    "no-docs",
    "no-comp",
    "no-quic",
    "no-ui-console",
    // No source paths in error strings (reproducible, and nothing about the build machine).
    "no-filenames",
];

/// Builds `libcrypto.a` and `libssl.a` for one arch into the stage's sysroot.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let src = s.source("openssl")?;
    let target = match s.arch() {
        Arch::Amd64 => "linux-x86_64",
        Arch::Arm64 => "linux-aarch64",
    };
    let mut configure = vec![src.join("Configure").display().to_string(), target.to_string()];
    configure.extend(CONFIGURE.iter().map(|a| a.to_string()));
    // OpenSSL has its own perl `Configure` (not autotools), run out of tree with the cross
    // environment (`CC`, `CFLAGS`, `AR`, ... are read from it); `build_libs` builds only the
    // libraries, `install_dev` installs headers, static libraries and pkg-config files.
    s.autotools("openssl", &src)
        .configure_command("perl", configure)
        .make_targets(["build_libs"])
        .install_targets(["install_dev"])
        .into_sysroot()
        .run()?;
    Ok(())
}

fn main() {
    talos_ext_build::library_script(recipe)
}
