//! Recipe for `ctr`: containerd's command-line client, from the upstream module
//! `github.com/containerd/containerd/v2` at the release Talos ships, built with the pinned Go
//! toolchain as containerd's Makefile builds it (static, `version.Version` and `version.Package`
//! stamped; the revision stamp is left empty: the module proxy does not say which commit the tag
//! is). It talks to the node's containerd through its socket (`ctr --address
//! /system/run/containerd/containerd.sock`, or `/run/containerd/containerd.sock` for the CRI).

use talos_ext_build::prelude::*;

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    for (name, program) in s.go_build()? {
        s.install(&program, &format!("usr/local/bin/{name}"), 0o755)?;
    }
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
