//! Recipe for the internal library `rpcsvc-proto`: rpcgen, the RPC protocol compiler, and the
//! `rpcsvc/*.x` protocol definitions with the headers rpcgen generates from them (NSM's
//! `sm_inter.h`, NLM's `nlm_prot.h`, ...). musl has neither (glibc dropped them too).
//!
//! Unlike the other library stages, nothing here is compiled for the target: rpcgen is a
//! **build-machine** program, run by later builds to generate C from `.x` files (rpc.statd's
//! configure takes it as `--with-rpcgen=<sysroot>/usr/bin/rpcgen`, as upstream's takes
//! `/usr/local/bin/rpcgen`), and the generated headers are plain C declarations, the same for
//! every arch. So the stage configures upstream's autotools project for the build machine (its
//! `gcc`, no `--host`; the tarball's own Makefile then runs the rpcgen it just built to make the
//! headers, which a cross-compiled rpcgen could not do for arm64) and installs into the sysroot:
//! `usr/bin/rpcgen` (an x86_64 program, never shipped) and `usr/include/rpcsvc/`. There is no
//! library to link, so the stage is the same for both arches.

use talos_ext_build::prelude::*;

/// Builds rpcgen for the build machine and installs it and the rpcsvc headers into the sysroot.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let src = s.source("rpcsvc-proto")?;
    let configure = src.join("configure");
    s.autotools("rpcsvc-proto", &src)
        .configure_command(
            &configure,
            ["--build=x86_64-linux-gnu", "--host=x86_64-linux-gnu", "--prefix=/usr", "--disable-nls"],
        )
        // The build machine's compiler and tools instead of the arch's musl cross toolchain.
        .env("CC", "gcc")
        .env("CPP", "gcc -E")
        .env("AR", "ar")
        .env("LD", "ld")
        .env("NM", "nm")
        .env("OBJCOPY", "objcopy")
        .env("RANLIB", "ranlib")
        .env("STRIP", "strip")
        .env("CFLAGS", "-O2 -g0")
        .env("CPPFLAGS", "")
        .env("LDFLAGS", "")
        .linkage(Linkage::Dynamic)
        .into_sysroot()
        .run()?;
    // Not needed by any build: the man page.
    let man = s.work_dir().join("sysroot/usr/share/man");
    if man.exists() {
        std::fs::remove_dir_all(&man).with_context(|| format!("removing {}", man.display()))?;
    }
    Ok(())
}

fn main() {
    talos_ext_build::library_script(recipe)
}
