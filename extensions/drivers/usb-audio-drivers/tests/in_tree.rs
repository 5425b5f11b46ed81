//! The default `kmod-in-tree` recipe, staged for this crate's metadata: with the Debian
//! toolchain every listed module is installed signed, with the pinned Talos toolchain staging
//! fails at once naming the kernel image it needs (see `talos_ext_build::in_tree_recipe_tests`).

talos_ext_build::in_tree_recipe_tests!();
