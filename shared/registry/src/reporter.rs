//! Progress reporting: the same [`Reporter`] trait as source downloads (`talos-ext-fetch`), so
//! `xtask` draws every transfer with one implementation and the library never prints.
//!
//! For registry transfers, a retried transfer is a new `start`; blobs that are skipped (already
//! present) or mounted are not transfers and only show in the push summary.

pub use talos_ext_fetch::{NoReporter, Reporter};
