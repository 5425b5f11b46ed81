//! talos-ext-fetch (in progress).
