//! Integration tests of the validator on real trees: Talos rules, strict rules (unknown YAML
//! keys among them), tar streams and kernel modules.

mod keys;
mod modules;
mod strict;
mod support;
mod talos;
mod tar_trees;
