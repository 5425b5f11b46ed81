//! Integration tests for talos-ext-kmod, one binary (uv style): signing against the kernel's own
//! `sign-file`, `modinfo` and `openssl cms -verify`; key loading and generation; signature and
//! `.modinfo` parsing; Module.symvers recovered from real kernels.

mod inspect;
mod keys;
mod signing;
mod support;
mod symvers;
