//! Integration tests of publishing against Debian's real `docker-registry`: the example extension
//! `hello-world-service` staged for amd64 and arm64 through its real recipe, packed as
//! `xtask build` packs it, pushed with its index image, found, signed and verified (also by the
//! real cosign), through a faulty network and with basic auth.

mod faults;
mod find;
mod merge;
mod publish;
mod sign;
mod support;
