//! Recipe for `nfsrahead`: nfs-utils' readahead helper, which udev runs for every new backing
//! device and which prints the readahead (KiB) an NFS mount should get. Configured with the
//! upstream extension's flags (everything but the helper off, configuration at
//! `/usr/local/etc/nfsrahead/nfs.conf`, nfs-utils' internal rpcgen) and built, as upstream does,
//! in only the two directories it needs: `support/nfs` (the configuration parser and logger it
//! links) and `tools/nfsrahead`. Shipped: `/usr/local/libexec/nfsrahead`, the udev rule that
//! runs it (`/usr/lib/udev/rules.d/99-nfs.rules`) and its `nfs.conf`, where upstream puts them.
//!
//! Libraries: nfs-utils' configure requires libtirpc's `<rpc/rpc.h>`, libevent, `<uuid/uuid.h>`
//! and, for nfsrahead, libmount, whatever is built. Of these only libmount (with the libblkid it
//! needs) is linked into the program; libtirpc and libevent are configure's requirements, and
//! their stages (like util-linux-libs) are recorded in the SBOM as what the build used. sqlite,
//! which upstream's stage also provides, is not used: configure only warns without it when cross
//! compiling, and nothing built here links it.
//!
//! Differences from the upstream extension, and why:
//! - no `patches/sys-queue.h`: musl has no `<sys/queue.h>` (which nfs-utils' `conffile.h`
//!   includes), and the libtirpc stage already puts its BSD header into the sysroot for the
//!   programs that include libtirpc's headers; the recipe uses that one copy;
//! - `--disable-caps`: nothing built here uses libcap;
//! - `LIBMOUNT_LIBS=-lmount -lblkid`: pkg-config's non-static answer (`-lmount`) leaves the
//!   static link without libblkid;
//! - a static program; the udev rule and `nfs.conf` are our own text.

use talos_ext_build::prelude::*;

/// Where the helper is installed (upstream: `libexec_PROGRAMS` under `--prefix=/usr/local`).
const PROGRAM: &str = "usr/local/libexec/nfsrahead";

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    for lib in ["libtirpc", "libevent", "util-linux-libs"] {
        s.use_library(lib)?;
    }
    let src = s.source("nfs-utils")?;
    let built = s
        .autotools("nfs-utils", &src)
        .configure_args([
            // Upstream's flags.
            "--disable-gss",
            "--disable-ipv6",
            "--disable-mount",
            "--disable-nfsdcld",
            "--disable-nfsdctl",
            "--disable-nfsv4",
            "--disable-nfsv41",
            "--disable-uuid",
            "--enable-junction=no",
            "--with-nfsconfig=/usr/local/etc/nfsrahead/nfs.conf",
            "--with-rpcgen=internal",
            // Ours (see above).
            "--disable-caps",
            "--without-tcp-wrappers",
            "LIBMOUNT_LIBS=-lmount -lblkid",
        ])
        // nfs-utils names its own headers from the build tree (`-I$(top_builddir)/support/include`),
        // where an out-of-tree build has none.
        .cflags([format!("-I{}", src.join("support/include").display())])
        .make_subdirs(["support/nfs", "tools/nfsrahead"])
        .no_install()
        .run()?;
    s.install(&built.output("tools/nfsrahead/nfsrahead"), PROGRAM, 0o755)?;
    s.install(&s.input("files/99-nfs.rules")?, "usr/lib/udev/rules.d/99-nfs.rules", 0o644)?;
    s.install(&s.input("files/nfs.conf")?, "usr/local/etc/nfsrahead/nfs.conf", 0o644)?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
