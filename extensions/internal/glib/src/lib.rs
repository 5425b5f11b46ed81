//! `glib`: an internal library stage (never published). Its `build.rs` builds GLib's static
//! libraries (glib, gobject, gmodule, gthread, gio; headers and pkg-config files included),
//! linked against the `pcre2`, `libffi` and `zlib` stages, into a per-arch sysroot that the
//! QEMU guest agent merges with `Stage::use_library("glib")`. Its meson is the pinned newer
//! one `ci/setup.sh` installs (`MesonRelease::Pinned`).
