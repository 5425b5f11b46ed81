//! `nvme-cli`: the NVMe management tool as a Talos extension.
//!
//! The recipe is in `build.rs`; it links the internal library stages `libnvme` and `json-c`
//! (`extensions/internal/`) statically. `cargo xtask build nvme-cli --arch all` builds the image;
//! `cargo test -p nvme-cli` stages both arches from real upstream code and runs `nvme`.
