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
    let setup = s.build_setup()?;
    let build = s.work_dir().join("build").join("openssl");
    if build.exists() {
        std::fs::remove_dir_all(&build).with_context(|| format!("removing {}", build.display()))?;
    }
    std::fs::create_dir_all(&build).with_context(|| format!("creating {}", build.display()))?;
    let target = match s.arch() {
        Arch::Amd64 => "linux-x86_64",
        Arch::Arm64 => "linux-aarch64",
    };
    // OpenSSL has its own perl `Configure` (not autotools), so it runs as a plain step: out of
    // tree, with the cross environment (`CC`, `CFLAGS`, `AR`, ... are read from it).
    s.step("openssl-configure", "perl", &build)?.arg(src.join("Configure")).arg(target).args(CONFIGURE).run()?;
    // `build_libs`: only the libraries, not the (disabled) programs or the docs.
    s.step("openssl-make", "make", &build)?.args(setup.jobs.make_args()).arg("build_libs").run()?;
    // `install_dev`: headers, static libraries and pkg-config files, into the sysroot.
    s.step("openssl-install", "make", &build)?
        .arg("install_dev")
        .arg(format!("DESTDIR={}", setup.sysroot.display()))
        .run()?;
    Ok(())
}

fn main() {
    talos_ext_build::library_script(recipe)
}
