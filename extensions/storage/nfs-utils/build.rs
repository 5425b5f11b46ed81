//! Recipe for `nfs-utils`: what an NFSv3 client needs besides the kernel for file locking, as two
//! extension services: `rpcbind` (the RPC port mapper, rpcbind 1.2.8) and `rpc-statd` (NSM,
//! nfs-utils 2.8.4's rpc.statd, which runs sm-notify at start). Like upstream's extension, whose
//! stage only merges its `rpcbind` and `rpc-statd` stages, the recipe compiles nothing: the
//! internal stages `rpcbind` and `rpc-statd` build the static programs (their recipes say why they
//! are stages) into their sysroots at their paths on the node, and this recipe copies each
//! service's container root from there and adds what the services need around the programs:
//!
//! - the specs `rpcbind.yaml` and `rpc-statd.yaml` (ours), in `/usr/local/etc/containers`;
//! - in both container roots, libtirpc's `/etc/netconfig` (the transports libtirpc reads; from
//!   the libtirpc stage, as libtirpc installs it), and in rpcbind's our own `/etc/services`
//!   (rpcbind looks up the `sunrpc` port by name) and `/etc/passwd`/`/etc/group` (it drops to
//!   `nobody` after binding);
//! - the directories the specs bind-mount over: `/var/run` in both (rpcbind's socket, lock and
//!   warm-start files, which statd reaches through the socket) and `/var/lib/nfs` for statd's state.
//!
//! The SBOM lists rpcbind and rpc-statd with their pinned sources, and the library stages their
//! builds used (libtirpc linked into both; libevent, util-linux-libs and rpcsvc-proto are nfs-utils'
//! configure requirements and its rpcgen).

use talos_ext_build::prelude::*;

/// The services, their container roots and programs (paths inside the container).
const SERVICES: &[(&str, &[&str])] =
    &[("rpcbind", &["sbin/rpcbind", "sbin/rpcinfo"]), ("rpc-statd", &["sbin/rpc.statd", "sbin/sm-notify"])];

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let sysroot = s.use_library("libtirpc")?;
    s.use_library("rpcbind")?;
    s.use_library("rpc-statd")?;
    let netconfig = sysroot.join("usr/etc/netconfig");
    for (service, programs) in SERVICES {
        let container = format!("usr/local/lib/containers/{service}");
        for program in *programs {
            s.install(&sysroot.join(&container).join(program), &format!("{container}/{program}"), 0o755)?;
        }
        s.install(&netconfig, &format!("{container}/etc/netconfig"), 0o644)?;
        s.mkdir(&format!("{container}/var/run"))?;
        s.install(
            &s.input(&format!("files/{service}.yaml"))?,
            &format!("usr/local/etc/containers/{service}.yaml"),
            0o644,
        )?;
    }
    let rpcbind = "usr/local/lib/containers/rpcbind";
    for file in ["services", "passwd", "group"] {
        s.install(&s.input(&format!("files/rpcbind-{file}"))?, &format!("{rpcbind}/etc/{file}"), 0o644)?;
    }
    s.mkdir("usr/local/lib/containers/rpc-statd/var/lib/nfs")?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
