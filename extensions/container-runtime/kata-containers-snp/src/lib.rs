//! `kata-containers-snp`: AMD SEV-SNP confidential pods for Kata Containers on Talos, through
//! containerd's `kata-qemu-snp` handler (and `kata-qemu-coco-dev`, the same guest without a TEE,
//! for hosts without SEV-SNP). amd64 only.
//!
//! The recipe is in `build.rs`: pieces of Kata's prebuilt `kata-static` release tarball (the one
//! the `kata-containers` extension installs the shim's VMMs from; that extension must be on the
//! node too), the two handlers' configurations derived from the release's own defaults, and our
//! own CRI part. Nothing is compiled.
//!
//! Offline, `cargo test -p kata-containers-snp` stages from a GENERATED STAND-IN of the release
//! tarball (`talos_ext_build::testing::kata`, shared with the `kata-containers` tests): nothing
//! of Kata's real bytes is installed there. `cargo xtask build kata-containers-snp` on a
//! networked machine fetches the real pin.
