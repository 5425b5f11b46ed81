//! `v4l-uvc-drivers`: the signed in-tree modules of USB webcams (UVC) and the V4L2 and media
//! core they need, from the pinned kernel.
//!
//! A `kmod-in-tree` recipe: the module list is in `Cargo.toml`, installed by the default recipe.
//! Not yet here: upstream also ships systemd's `60-persistent-v4l.rules` (systemd v261.2), which
//! gives cameras stable `/dev/v4l/by-id` names; that needs a pinned single-file source.
