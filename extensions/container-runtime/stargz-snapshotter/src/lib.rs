//! `stargz-snapshotter`: containerd's stargz snapshotter for lazy pulls of eStargz images, as a
//! containerd proxy snapshotter service, built in the pinned release tarball's `cmd` Go module
//! (see `build.rs`).
