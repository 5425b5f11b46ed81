//! Deterministic OCI packaging of Talos system extensions.
//!
//! A staged extension directory (exactly `manifest.yaml` and `rootfs/`, already checked by the
//! validator) becomes one compressed tar layer per arch ([`write_layer`]), and the layers become an
//! OCI image layout ([`write_layout`]): per arch an image config and manifest, and an `index.json`
//! listing one manifest descriptor per platform directly, which is what Talos' imager reads.
//! [`Layout`] reads such a layout back, verifies its blobs and streams a layer's tar;
//! [`ImageTree`] is what a layer (or a staged directory) holds, path by path, with the two
//! comparisons the catalog tools make on it ([`diff_trees`], [`overlaps`]).
//!
//! The bytes depend only on the staged tree (paths, contents, permission bits, symlink targets)
//! and [`ImageMeta`]: not on file mtimes, owners, creation order, the time of the build or the
//! number of threads. gzip is compressed in parallel (see `pgzip`), zstd in its multithreaded mode.
//!
//! This crate does not validate extension contents, push to registries, or sign anything.
//!
//! ```
//! use std::collections::BTreeMap;
//! use talos_ext_image::{ArchImage, Compression, ImageMeta, Layout, PackOptions, write_layout};
//! use talos_ext_model::Arch;
//!
//! let tmp = tempfile::tempdir().unwrap();
//! let staged = tmp.path().join("staged");
//! std::fs::create_dir_all(staged.join("rootfs/usr/local/lib")).unwrap();
//! std::fs::write(staged.join("manifest.yaml"), "version: v1alpha1\n").unwrap();
//! std::fs::write(staged.join("rootfs/usr/local/lib/hello"), "hi\n").unwrap();
//!
//! let meta = ImageMeta {
//!     title: "hello".into(),
//!     version: "1.0.0".into(),
//!     source: "https://example.org/ext".into(),
//!     revision: "0123abc".into(),
//!     description: "An example".into(),
//!     source_date_epoch: 1_700_000_000,
//!     annotations: BTreeMap::new(),
//! };
//! let opts = PackOptions { compression: Compression::GZIP, threads: None };
//! let out = tmp.path().join("oci");
//! let summary = write_layout(&out, &[ArchImage { arch: Arch::Amd64, dir: &staged }], &meta, &opts).unwrap();
//!
//! let layout = Layout::open(&out).unwrap();
//! layout.verify().unwrap();
//! assert_eq!(layout.index_digest(), &summary.index_digest);
//! assert_eq!(layout.platforms(), [Arch::Amd64]);
//! let mut tar = tar::Archive::new(layout.layer_reader(Arch::Amd64).unwrap());
//! let names: Vec<String> =
//!     tar.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect();
//! assert_eq!(names, ["manifest.yaml", "rootfs/", "rootfs/usr/", "rootfs/usr/local/", "rootfs/usr/local/lib/", "rootfs/usr/local/lib/hello"]);
//! ```

mod error;
mod hash;
mod layer;
mod layout;
mod pgzip;
mod read;
pub mod spec;
mod tree;

pub use error::ImageError;
pub use layer::{Compression, LayerInfo, MANIFEST_FILE, PackOptions, ROOTFS_DIR, write_layer, write_tree_layer};
pub use layout::{ArchImage, ImageMeta, ImageSummary, LayoutSummary, write_layout, write_tree_layout};
pub use read::Layout;
pub use tree::{Changed, ImageTree, Keep, Overlap, TreeDiff, TreeEntry, TreeKind, diff_trees, overlaps};
