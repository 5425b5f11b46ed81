//! `nvidia-fabricmanager-production`: NVIDIA's fabric manager and NVLSM for NVSwitch systems (production driver branch,
//! 595.91.07), run by a wrapper as the `nvidia-fabricmanager` service in a container root that
//! carries glibc and (amd64) zlib-ng's `libz.so.1`, see `build.rs`.
