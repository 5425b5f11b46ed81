//! The default recipe of a `mixed` modules-and-firmware extension, for this crate's metadata
//! (`talos_ext_build::modules_and_firmware_recipe_tests`): staging without the pinned
//! linux-firmware release fails naming it, and each arch is staged with the Debian toolchain's
//! signed modules and the firmware of the Debian packages named below (trixie's, the release
//! nearest the pin that Debian ships), compared with the packages' files and links.

talos_ext_build::modules_and_firmware_recipe_tests!("firmware-intel-graphics=20250410-2");
