//! `mdadm`: upstream's deprecated placeholder extension (an empty `/usr/local/sbin`), kept so that
//! installer configurations that name it still resolve. The recipe is `build.rs`.
