//! `revpi-firmware`: the MAC address of a Revolution Pi's on-board Ethernet on Talos.
//!
//! The recipe is in `build.rs`; the program is our own Go code in `go/main.go` (the crate's own
//! Go module, standard library only), run by udev through `files/50-revpi.rules`. It reads the
//! base MAC address the HAT EEPROM publishes in the device tree (`hat/custom_5`), adds the
//! interface's offset, and sets the address with the `SIOCSIFHWADDR` ioctl. The EEPROM path is a
//! flag (`-eeprom`), so the tests run it on a generated file and a TAP interface in a private
//! network namespace (arm64 under qemu).
