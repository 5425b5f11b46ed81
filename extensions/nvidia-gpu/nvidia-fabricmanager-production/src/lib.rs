//! `nvidia-fabricmanager-production`: NVIDIA's fabric manager and NVLSM for NVSwitch systems (production driver branch,
//! 595.91.07), run by a wrapper as the `nvidia-fabricmanager` service in a container root that
//! carries glibc, see `build.rs`. Upstream also copies zlib-ng (amd64) into that root; this
//! recipe does not build it (Debian's source archive has no zlib-ng to build it from here).
