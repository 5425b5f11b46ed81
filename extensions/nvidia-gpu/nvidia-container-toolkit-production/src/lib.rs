//! `nvidia-container-toolkit-production`: NVIDIA's container toolkit (built from source against glibc) and the
//! NVIDIA driver userspace of the production branch (595.91.07), see `build.rs`. The programs need
//! the `glibc` extension's loader on the node.
