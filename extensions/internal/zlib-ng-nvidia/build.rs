//! Recipe for the internal library `zlib-ng-nvidia`: zlib-ng in zlib-compatible mode
//! (`--zlib-compat`: `libz.so.1`) as a **glibc shared library**, as upstream's stage builds it
//! (with its glibc toolchain) for the nvidia-fabricmanager service container, where NVIDIA's glibc
//! programs load it: zlib-ng's own `configure` (not autotools) with Debian's gcc for amd64
//! instead of the musl driver, `make libz.a`, `make install` (which links the shared library) into the stage's sysroot under
//! `/usr/local` (upstream's prefix). The fabric manager recipe takes only the shared library and
//! its soname link out of the sysroot (upstream deletes the headers, static library and
//! pkg-config file). amd64 only, as upstream.

use talos_ext_build::prelude::*;

/// Debian's gcc for amd64 (glibc), as the glibc recipe uses.
pub const CC: &str = "/usr/bin/x86_64-linux-gnu-gcc";

/// Builds zlib-ng into the sysroot.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let src = s.source("zlib-ng")?;
    let cflags = format!("-O2 -g0 -ffile-prefix-map={}=/build", s.work_dir().display());
    s.autotools("zlib-ng", &src)
        .configure_command(src.join("configure"), ["--prefix=/usr/local", "--zlib-compat"])
        .linkage(Linkage::Dynamic)
        .env("CC", CC)
        .env("CPP", format!("{CC} -E"))
        .env("CFLAGS", &cflags)
        .env_remove("CPPFLAGS")
        .env_remove("LDFLAGS")
        // The build step makes the static library only: the default target also builds
        // zlib-ng's test programs, whose sources Debian's component tarball leaves out; the
        // install makes the shared library (`install-shared` depends on it).
        .make_targets(["libz.a"])
        .into_sysroot()
        .run()?;
    Ok(())
}

fn main() {
    talos_ext_build::library_script(recipe)
}
