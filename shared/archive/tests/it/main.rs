//! Integration tests for `talos-ext-archive`: one test binary (uv's `tests/it` layout), with a
//! module per area. Every archive is generated in the test; nothing touches the network.

mod formats;
mod hostile;
mod layers;
mod patches;
mod support;
mod trees;
