//! The engine's commands that tests also run on a workspace of their own (the binary,
//! `main.rs`, runs them for `cargo xtask`): `lint` (the catalog's metadata rules) and `new`
//! (recipe scaffolds).

pub mod lint;
pub mod new;
