//! Recipe for the internal stage `rpc-statd`: nfs-utils' NSM daemon `rpc.statd` and its reboot
//! notifier `sm-notify` (what NFSv3 locking needs on a client), configured as the upstream
//! extension configures them (container root `/usr/local/lib/containers/rpc-statd`, state in
//! `/var/lib/nfs/statd`, NFSv4, GSS and the NFSv4 daemons off, rpcsvc-proto's rpcgen) and built
//! in only the directories upstream builds: `support/nsm`, `support/misc`, `support/nfs`,
//! `utils/statd`. Linked statically against musl and the libtirpc stage.
//!
//! It is a stage rather than steps of the `nfs-utils` recipe (see `rpcbind`'s recipe): its SBOM
//! component (nfs-utils 2.8.4) travels into the extension as a package of its own, and its
//! patches apply to nfs-utils only. The programs are installed into the sysroot at their path on
//! the node (`usr/local/lib/containers/rpc-statd/sbin/{rpc.statd,sm-notify}`), and `nfs-utils`
//! copies that tree into its rootfs.
//!
//! Libraries: configure requires libtirpc (linked), libevent and `<uuid/uuid.h>`/libblkid
//! (util-linux-libs), whatever is built; the rpcsvc-proto stage gives the build machine's
//! `rpcgen`. Upstream's stage also provides libxml2 and sqlite: nfs-utils' configure needs
//! libxml2 only for junction support (mountd and exportfs, not built here, so `--enable-junction=no`)
//! and only warns without sqlite when cross compiling; statd links neither.
//!
//! Our own patches (`patches/`), where upstream patches statd too, each saying why:
//! - `0001`: make `/var/lib/nfs/statd` and its `sm/`, `sm.bak/` when missing (an empty `/var`);
//! - `0002`: sm-notify asks getaddrinfo(3) for port "0", not "" (musl refuses an empty service);
//! - `0003`: statd in the foreground logs to stderr (the service's log) without `-d`'s debug.
//!
//! Also ours: `--disable-caps` (no libcap stage; statd then keeps no capability set of its own).

use talos_ext_build::prelude::*;

/// The service's container root (`nfs-utils` runs `rpc-statd.yaml` with this as `/`).
pub const CONTAINER: &str = "/usr/local/lib/containers/rpc-statd";

/// Builds rpc.statd and sm-notify for one arch into the sysroot, under the container root.
pub fn recipe(s: &mut Stage) -> Result<()> {
    for lib in ["libtirpc", "libevent", "util-linux-libs"] {
        s.use_library(lib)?;
    }
    let sysroot = s.use_library("rpcsvc-proto")?;
    let rpcgen = rpcgen_wrapper(s, &sysroot.join("usr/bin/rpcgen"))?;
    let src = s.source("nfs-utils")?;
    let built = s
        .autotools("nfs-utils", &src)
        .prefix(CONTAINER)
        .configure_args([
            // Upstream's flags.
            &format!("--sbindir={CONTAINER}/sbin"),
            "--disable-nfsv4",
            "--disable-nfsv41",
            "--disable-nfsdcld",
            "--disable-gss",
            "--disable-svcgss",
            "--disable-kprefix",
            "--disable-nfsdctl",
            "--without-tcp-wrappers",
            &format!("--with-rpcgen={}", rpcgen.display()),
            "--with-statedir=/var/lib/nfs",
            "--with-statdpath=/var/lib/nfs/statd",
            // Ours (see above).
            "--enable-junction=no",
            "--disable-caps",
        ])
        // nfs-utils names its own headers from the build tree (`-I$(top_builddir)/support/include`),
        // where an out-of-tree build has none.
        .cflags([format!("-I{}", src.join("support/include").display())])
        .make_subdirs(["support/nsm", "support/misc", "support/nfs", "utils/statd"])
        .no_install()
        .run()?;
    for (built_as, name) in [("statd", "rpc.statd"), ("sm-notify", "sm-notify")] {
        let dest = sysroot.join(CONTAINER.trim_start_matches('/')).join("sbin").join(name);
        std::fs::create_dir_all(dest.parent().unwrap()).with_context(|| format!("creating {}", dest.display()))?;
        let from = built.output(&format!("utils/statd/{built_as}"));
        std::fs::copy(&from, &dest).with_context(|| format!("copying {} to {}", from.display(), dest.display()))?;
    }
    Ok(())
}

/// rpcgen names the header its C files include after its input's path (`#include
/// "<dir>/sm_inter.h"`), and in an out-of-tree build make hands it the `.x` file from the source
/// tree, while the header is generated in the build tree. The wrapper `configure` gets as
/// `--with-rpcgen` copies the input into the current (build) directory and runs rpcgen on its
/// bare name, as an in-tree build would.
fn rpcgen_wrapper(s: &Stage, rpcgen: &std::path::Path) -> Result<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = s.work_dir().join("rpcgen-in-build-dir");
    let script = format!(
        "#!/bin/sh\n\
         # Runs rpcgen on a copy of its last argument (the .x file) in the current directory.\n\
         n=$#\n\
         i=0\n\
         for a in \"$@\"; do\n\
         \ti=$((i + 1))\n\
         \tif [ \"$i\" -eq \"$n\" ]; then cp -f \"$a\" . && a=$(basename \"$a\"); fi\n\
         \tset -- \"$@\" \"$a\"\n\
         done\n\
         shift \"$n\"\n\
         exec {} \"$@\"\n",
        rpcgen.display()
    );
    std::fs::write(&path, script).with_context(|| format!("writing {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} executable", path.display()))?;
    Ok(path)
}

fn main() {
    talos_ext_build::library_script(recipe)
}
