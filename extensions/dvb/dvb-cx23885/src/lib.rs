//! `dvb-cx23885`: modules and firmware for Conexant CX23885 PCIe TV tuner cards, layered on
//! `v4l-uvc-drivers` as upstream does (see `build.rs`).
