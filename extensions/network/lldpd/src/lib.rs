//! `lldpd`: the LLDP daemon for Talos, run as the `lldpd` extension service.
//!
//! The recipe is in `build.rs`: lldpd built with autotools and linked statically against musl
//! and the internal `libevent` stage, installed into the service's container root. `patches/`
//! adds a `<sys/queue.h>` for musl; `files/lldpd.yaml` is the service spec, `files/passwd` and
//! `files/group` the accounts its privilege separation looks up. `cargo test -p lldpd` builds
//! Debian's lldpd 1.0.18 through a source override (the pin, 1.0.22, is not reachable here) for
//! both arches.
