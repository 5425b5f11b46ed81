//! `usb-modem-drivers`: USB cellular modem and USB network adapter modules (usbnet, CDC
//! ECM/NCM/MBIM, QMI, RNDIS, the USB serial option driver, ...) as a Talos extension.
//!
//! The default recipe (`build.rs`) selects the modules `Cargo.toml` lists per arch (as upstream's
//! extension does; arm64 has no `smsc` PHY module) from the kernel toolchain's signed module tree.
