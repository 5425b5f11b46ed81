//! talos-ext-build (in progress).
