//! `intel-ucode`: Intel CPU microcode for Talos, from Intel's microcode release 20260812.
//!
//! The recipe is in `build.rs`: the files of the release's `intel-ucode/` directory go to
//! `/usr/lib/firmware/intel-ucode/` (the imager turns them into the early-boot microcode
//! archive), the release's license to `/usr/lib/firmware/LICENSE.intel-ucode`. The tests stage a
//! generated tarball with the release's layout through a source override.
