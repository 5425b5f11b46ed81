//! `zfs`: the OpenZFS extension. The recipe is in `build.rs` (kernel modules, userland, udev
//! rules and the `zfs-service` pool import service); `tests/` stage it for both arches.
