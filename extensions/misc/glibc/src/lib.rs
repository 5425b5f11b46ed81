//! `glibc`: the GNU C library runtime under `/usr/local/glibc` (loader, libraries, `ldconfig`),
//! with the loader linked at `/usr/lib/<loader>` and `ldconfig` at `/usr/bin/ldconfig` (see
//! `build.rs`). Extensions whose payloads are glibc-linked layer this extension's rootfs.
