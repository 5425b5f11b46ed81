//! Integration tests of the validator on real trees: Talos rules, strict rules, tar streams and
//! kernel modules.

mod modules;
mod strict;
mod support;
mod talos;
mod tar_trees;
