//! `mei`: the Intel Management Engine in-tree modules (amd64 only) as a Talos extension.
//!
//! The recipe (`build.rs`) selects the eight modules of the upstream extension from the kernel
//! toolchain's signed module tree; `depends=` they have outside the base kernel are warned about.
