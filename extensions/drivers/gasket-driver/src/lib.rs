//! `gasket-driver`: the Google Coral gasket/apex PCIe driver as a Talos extension.
//!
//! The recipe is in `build.rs`. The source is pinned to the upstream commit archive siderolabs/pkgs
//! builds; without network (and without it in the cache or a mirror) the build fails at once,
//! naming that source. Modules signed with this workspace's key load on stock Talos only with
//! `module.sig_enforce=0` (stock Talos loads only modules signed with its own build's key).
