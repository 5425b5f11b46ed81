//! Recipe for `gvisor-debug`: two files in `/etc/cri/conf.d`, no programs. The CRI part
//! `files/11-gvisor-debug.part` declares the `runsc` runtime handler (as the gvisor extension's
//! `10-gvisor.part` does) with `options.ConfigPath` naming `files/runsc.toml`, which turns on
//! the shim's debug log and runsc's `debug`/`debug-log` flags, one log directory per container
//! under `/var/log/runsc/`.
//!
//! As upstream, the runsc configuration is installed at `/etc/cri/conf.d/runsc.toml`, the path
//! the gvisor extension ships its own (flag-less) `runsc.toml` at: listed after gvisor, this
//! extension's file is the one the node sees (the overlap is in `extensions/conflicts-allow.toml`).
//!
//! Difference from upstream, and why: upstream's part also raises containerd's own log level
//! (a top-level `[debug]` table); the strict validator's `cri-part` rule accepts only containerd
//! plugin keys in a part, so this one sets gVisor's logging only.

use talos_ext_build::prelude::*;

/// The files installed into `/etc/cri/conf.d`: the part, then the runsc configuration it names.
pub const CRI_FILES: &[&str] = &["11-gvisor-debug.part", "runsc.toml"];

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    for file in CRI_FILES {
        s.install_cri_part(file)?;
    }
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
