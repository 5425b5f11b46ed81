//! The default `firmware` recipe for this crate's metadata (`talos_ext_build::firmware_recipe_tests`):
//! its version is the pinned linux-firmware release's, staging without that release fails naming
//! it, and each arch is staged from the real firmware of the Debian packages named below
//! (trixie's, the release nearest the pin that Debian ships), compared with the packages' files
//! and links.

talos_ext_build::firmware_recipe_tests!("firmware-bnx2=20250410-2", "firmware-bnx2x=20250410-2");
