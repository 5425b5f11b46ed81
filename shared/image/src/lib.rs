//! talos-ext-image (in progress).
