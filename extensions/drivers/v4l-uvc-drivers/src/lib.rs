//! `v4l-uvc-drivers`: the signed in-tree modules of USB webcams (UVC) and the V4L2 and media
//! core they need, from the pinned kernel, and systemd's udev rules for stable V4L device names
//! (see `build.rs`). `dvb-cx23885` layers this extension's rootfs into its own.
