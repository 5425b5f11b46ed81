//! Integration tests of talos-ext-sbom: generated documents validate against the SPDX 2.3 JSON
//! schema (`tests/data/spdx-schema-2.3.json`), carry the fields Talos reads, are byte-for-byte
//! deterministic, and the lint flags every incomplete recipe.

mod document;
mod lint;
mod support;
