//! `kata-containers`: Kata Containers for Talos, pods in lightweight VMs through containerd's
//! `kata` (Cloud Hypervisor) and `kata-qemu` (QEMU) runtime handlers.
//!
//! The recipe is in `build.rs`. Two kinds of upstream bytes go in, as in upstream's extension:
//! Kata's prebuilt `kata-static` release tarball for the arch (the VMMs, virtiofsd, guest kernel
//! and image, QEMU's data, the default QEMU configuration), and `containerd-shim-kata-v2`, built
//! here from the release's source tarball with the workspace's pinned Go (from the tree's
//! vendor directory, static, `-trimpath`). The configuration of the `kata` handler and both CRI
//! parts are our own files under `files/`.
//!
//! The shim is the crate's `[go]` build (kind `go-build`): `Stage::go_build` in the source
//! tree's `src/runtime` module with `-mod=vendor`, after upstream's Makefile generated
//! `pkg/katautils/config-settings.go` there.
//!
//! Offline, `cargo test -p kata-containers` stages both arches from GENERATED STAND-INS of both
//! tarballs (see `tests/stand_ins.rs`): nothing of Kata's real bytes is built or installed
//! there. `cargo xtask build kata-containers` on a networked machine fetches the real pins.
