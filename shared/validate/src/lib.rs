//! talos-ext-validate (in progress).
