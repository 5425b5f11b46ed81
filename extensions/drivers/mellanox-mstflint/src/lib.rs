//! `mellanox-mstflint`: the `mstflint_access` kernel module of NVIDIA/Mellanox's mstflint, built
//! out of tree against the pinned kernel (see `build.rs`).
