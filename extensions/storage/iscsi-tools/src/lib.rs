//! `iscsi-tools`: the open-iscsi initiator for Talos, with `iscsid` run as an extension service.
//!
//! The recipe is in `build.rs`: open-iscsi built with meson and linked statically against musl
//! and three internal library stages (`libkmod`, `util-linux-libs` for libmount/libblkid,
//! `libcrypto` for CHAP digests). `patches/` makes libopeniscsiusr static; `files/iscsid.yaml` is
//! the service spec and `native/iscsid-wrapper.c` its entrypoint, which creates the node's
//! initiator name before starting `iscsid -f`. `cargo test -p iscsi-tools` builds Debian's
//! open-iscsi 2.1.13 through a source override for both arches.
