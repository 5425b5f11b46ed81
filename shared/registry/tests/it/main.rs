//! Integration tests of the registry client against Debian's real `docker-registry` on loopback
//! (see `talos_ext_registry::testing`), checked with skopeo where an independent reader helps.

mod auth;
mod faults;
mod pull;
mod push;
mod support;
