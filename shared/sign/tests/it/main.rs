//! Integration tests of talos-ext-sign: signature images round-trip and reject every kind of
//! tampering with its own error; keys load in every supported format; and the real `cosign` 2.5
//! (fetched from Debian trixie by `talos_ext_sign::testing::fetch_cosign`) reads our keys and
//! accepts our signatures, while we accept its.

mod cosign;
mod keys;
mod support;
mod verify;
