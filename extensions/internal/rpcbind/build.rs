//! Recipe for the internal stage `rpcbind`: the RPC port mapper, configured as the upstream
//! extension configures it (installed in its service's container root
//! `/usr/local/lib/containers/rpcbind`, programs in its `sbin/`, dropping to `nobody`, warm
//! starts on) and linked statically against musl and the libtirpc stage.
//!
//! It is a stage rather than steps of the `nfs-utils` recipe for two reasons: its SBOM component
//! (rpcbind 1.2.8, its CPE and pinned tarball) travels with its sysroot into the extension as a
//! package of its own, as upstream's stage gives one; and a recipe's `patches/` apply to every
//! source it unpacks, so rpcbind and nfs-utils' statd each keep their own crate. What it builds
//! is not a library: the programs are installed into the sysroot at the path they have on the
//! node (`usr/local/lib/containers/rpcbind/sbin/{rpcbind,rpcinfo}`), and `nfs-utils` copies that
//! tree into its rootfs. Man pages are not kept.
//!
//! rpcbind's configure empties `CPPFLAGS` after its libtirpc check, so the sysroot's include
//! directory (libtirpc's `<sys/queue.h>` for musl) is passed in `CFLAGS` too.

use talos_ext_build::prelude::*;

/// The service's container root (`nfs-utils` runs `rpcbind.yaml` with this as `/`).
pub const CONTAINER: &str = "/usr/local/lib/containers/rpcbind";

/// Builds rpcbind and rpcinfo for one arch into the sysroot, under the container root.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let sysroot = s.use_library("libtirpc")?;
    let src = s.source("rpcbind")?;
    let include = sysroot.join("usr/include");
    s.autotools("rpcbind", &src)
        .prefix(CONTAINER)
        .configure_args([
            // Upstream's flags.
            &format!("--bindir={CONTAINER}/sbin"),
            &format!("--sbindir={CONTAINER}/sbin"),
            "--with-rpcuser=nobody",
            "--without-systemdsystemunitdir",
            "--enable-warmstarts",
        ])
        .cflags([format!("-I{}", include.display())])
        .install_targets(["install-exec"])
        .into_sysroot()
        .run()?;
    Ok(())
}

fn main() {
    talos_ext_build::library_script(recipe)
}
