//! `nvidia-container-toolkit-lts`: NVIDIA's container toolkit (built from source against glibc) and the
//! NVIDIA driver userspace of the LTS branch (580.178.04), see `build.rs`. The programs need
//! the `glibc` extension's loader on the node.
