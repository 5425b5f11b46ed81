//! `ecr-credential-provider`: the kubelet image credential provider for AWS ECR, for Talos.
//!
//! The recipe is in `build.rs`: the program built from the Go module `k8s.io/cloud-provider-aws`
//! (exact pin v1.36.1; `go/` is the wrapper module, which repeats no `replace` since v1.36.1 has
//! none) with the pinned Go toolchain. `files/credential-provider-config.yaml` is the kubelet
//! configuration that enables it (machine configuration, not shipped in the image).
