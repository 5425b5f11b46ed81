//! Recipe for `hyperv-guest-agent`: the Hyper-V key-value exchange (KVP) and volume shadow copy
//! (VSS) daemons of the Linux kernel's `tools/hv`, each a single C file upstream compiles with a
//! bare `cc -static`: here static musl for the arch, with the Linux uapi headers. Each runs as
//! its own extension service (`hyperv-kvp`, `hyperv-vss`) in the foreground (`-n`), starting
//! once the node has the VMBus device it talks through.

use talos_ext_build::prelude::*;

/// The daemons: (program, its C file in `tools/hv`, service name).
pub const DAEMONS: &[(&str, &str, &str)] =
    &[("hv_kvp_daemon", "hv_kvp_daemon.c", "hyperv-kvp"), ("hv_vss_daemon", "hv_vss_daemon.c", "hyperv-vss")];

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let tools = s.source("linux")?.join("tools/hv");
    for (program, file, service) in DAEMONS {
        let built = s.compile_source_program(program, &tools, &[file])?;
        s.install(&built, &format!("usr/local/lib/containers/{service}/usr/local/sbin/{program}"), 0o755)?;
        s.install(
            &s.input(&format!("files/{service}.yaml"))?,
            &format!("usr/local/etc/containers/{service}.yaml"),
            0o644,
        )?;
    }
    // The mount point of the KVP pools.
    s.mkdir("usr/local/lib/containers/hyperv-kvp/var/lib/hyperv")?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
