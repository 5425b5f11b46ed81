//! Recipe for `ecr-credential-provider`: the command of the upstream module
//! `k8s.io/cloud-provider-aws` built with the pinned Go toolchain (`go/go.mod` is the wrapper
//! module; the `[go]` table pins the package, upstream's version stamps and the module graph
//! hash), statically (`CGO_ENABLED=0`), installed where Talos' kubelet looks for credential
//! provider plugins. The kubelet's `CredentialProviderConfig` that enables it is machine
//! configuration (`machine.kubelet.credentialProviderConfig`); `files/credential-provider-config.yaml`
//! is the one to use, checked by the tests.

use talos_ext_build::prelude::*;

/// Where the kubelet looks for credential provider plugins on Talos.
pub const PLUGIN_DIR: &str = "usr/local/lib/kubelet/credentialproviders";

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    for (name, program) in s.go_build()? {
        s.install(&program, &format!("{PLUGIN_DIR}/{name}"), 0o755)?;
    }
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
