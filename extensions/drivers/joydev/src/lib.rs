//! `joydev`: the legacy joystick interface (`/dev/input/js*`) module as a Talos extension.
//!
//! The default recipe (`build.rs`) selects `joydev.ko` from the kernel toolchain's signed
//! module tree; the list is in `Cargo.toml`.
