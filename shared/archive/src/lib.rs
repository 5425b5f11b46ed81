//! talos-ext-archive (in progress).
