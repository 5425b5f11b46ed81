//! `dvb-m88ds3103`: the M88DS3103 demodulator's firmware, layered on `dvb-cx23885` as upstream
//! does (see `build.rs`).
