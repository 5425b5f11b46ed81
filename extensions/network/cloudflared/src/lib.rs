//! `cloudflared`: Cloudflare's tunnel client as a Talos extension service, from Cloudflare's
//! pinned release binaries (see `build.rs`).
