//! `nvidia-gdrdrv-device`: the `/dev/gdrdrv` node of NVIDIA's GPUDirect RDMA copy driver
//! (gdrcopy) on Talos.
//!
//! The recipe is in `build.rs`; the program is our own Go code in `go/main.go` (the crate's own
//! Go module, standard library only). It waits until `gdrdrv` is listed among the character
//! devices of `/proc/devices`, then creates the node with that major number, minor 0 and mode
//! 0666. Its paths are flags (`-devices`, `-node`) and `-timeout` bounds the wait, so the tests
//! run it against a generated listing in a temporary directory (arm64 under qemu).
