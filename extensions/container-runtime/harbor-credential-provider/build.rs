//! Recipe for `harbor-credential-provider`: the kubelet image credential provider of
//! container-registry/harbor-workload-identity-federation, built as upstream's extension builds
//! it (facts from siderolabs/extensions 8ee3fc5533a1, container-runtime/harbor-credential-provider):
//! `go build ./cmd/credential-provider-harbor` in the pinned release tarball's top module (its
//! own go.mod and go.sum, the dependencies from the Go module proxy; `[go] source`), statically
//! (`CGO_ENABLED=0`), `-trimpath`, with upstream's version stamp `-X main.version`, installed
//! under upstream's name `harbor-credential-provider` where Talos' kubelet looks for credential
//! provider plugins.
//!
//! The kubelet's `CredentialProviderConfig` that enables it is machine configuration
//! (`machine.kubelet.credentialProviderConfig`), not part of the image;
//! `files/credential-provider-config.yaml` is one to start from, checked by the tests.

use talos_ext_build::prelude::*;

/// Where the kubelet looks for credential provider plugins on Talos.
pub const PLUGIN_DIR: &str = "usr/local/lib/kubelet/credentialproviders";

/// The name upstream installs the program under (its package is `credential-provider-harbor`).
pub const PLUGIN: &str = "harbor-credential-provider";

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let programs = s.go_build()?;
    let [(name, program)] = programs.as_slice() else {
        bail!("expected the one program of `[go] packages`, go build gave {}", programs.len());
    };
    if name != "credential-provider-harbor" {
        bail!("go build gave `{name}`, not upstream's `credential-provider-harbor`");
    }
    s.install(program, &format!("{PLUGIN_DIR}/{PLUGIN}"), 0o755)?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
