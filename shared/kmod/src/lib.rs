//! talos-ext-kmod (in progress).
