//! `qemu-guest-agent`: QEMU's guest agent for Talos, run as the `qemu-guest-agent` extension
//! service.
//!
//! The recipe is in `build.rs`: QEMU's `configure` with upstream's flags and only the `qemu-ga`
//! target, linked statically against musl and the internal `glib` stage (with `pcre2`, `libffi`
//! and `zlib`), installed into the service's container root. `files/qemu-guest-agent.yaml` is
//! the service spec. `cargo test -p qemu-guest-agent -- --include-ignored` builds Debian's QEMU
//! 10.2.2 and GLib 2.88.0 through source overrides (the pins, QEMU 11.1.0 and GLib 2.89.3, are
//! not reachable here) for both arches.
