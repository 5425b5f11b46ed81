//! Recipe for `gvisor`: gVisor's `runsc` and its containerd shim, from the Go module gVisor
//! publishes on its `go` branch (`gvisor.dev/gvisor`), built with the pinned Go toolchain as
//! upstream builds them (`CGO_ENABLED=0`, runsc's version stamped). The shim is installed as
//! `containerd-shim-runsc-v1`, the name containerd derives from `runtime_type =
//! "io.containerd.runsc.v1"`; two CRI parts declare the `runsc` and `runsc-kvm` runtime handlers,
//! each with the runsc configuration file (`ConfigPath`) beside them.

use talos_ext_build::prelude::*;

/// Where each built program is installed.
pub const PROGRAMS: &[(&str, &str)] =
    &[("runsc", "usr/local/bin/runsc"), ("shim", "usr/local/bin/containerd-shim-runsc-v1")];

/// The CRI parts and the runsc configurations they name, all in `/etc/cri/conf.d`.
pub const CRI_FILES: &[&str] = &["10-gvisor.part", "10-gvisor-kvm.part", "runsc.toml", "runsc-kvm.toml"];

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    for (name, program) in s.go_build()? {
        let (_, dest) = PROGRAMS.iter().find(|(n, _)| *n == name).context("a program the recipe does not place")?;
        s.install(&program, dest, 0o755)?;
    }
    for file in CRI_FILES {
        s.install_cri_part(file)?;
    }
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
