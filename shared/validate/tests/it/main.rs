//! Integration tests of the validator on real trees: Talos rules, strict rules and tar streams.

mod strict;
mod support;
mod talos;
mod tar_trees;
