//! Determinism: the same staged content gives the same bytes regardless of where it is staged,
//! in which order it was created, its mtimes, and the compression thread count.

use std::fs;
use std::path::Path;

use talos_ext_image::{ArchImage, Compression, PackOptions, write_layer, write_layout};
use talos_ext_model::Arch;

use crate::support::{gzip_opts, meta, stage, tree};

fn build(root: &Path, reverse: bool, mtime_offset: u64, threads: usize) -> talos_ext_image::LayoutSummary {
    let amd = root.join("staged-amd64");
    let arm = root.join("staged-arm64");
    stage(&amd, &tree("amd64"), reverse, mtime_offset);
    stage(&arm, &tree("arm64"), reverse, mtime_offset + 1);
    let images = [ArchImage { arch: Arch::Arm64, dir: &arm }, ArchImage { arch: Arch::Amd64, dir: &amd }];
    write_layout(&root.join("out"), &images, &meta("1.0.0"), &gzip_opts(threads)).unwrap()
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().strip_prefix(dir).unwrap().display().to_string(), fs::read(e.path()).unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn same_tree_gives_identical_layouts() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::Builder::new().prefix("other-place").tempdir().unwrap();
    let first = build(a.path(), false, 0, 1);
    let second = build(b.path(), true, 98_765, 4);
    assert_eq!(first, second);
    assert_eq!(first.images.iter().map(|i| i.arch).collect::<Vec<_>>(), [Arch::Amd64, Arch::Arm64]);
    assert_ne!(first.images[0].layer.digest, first.images[1].layer.digest);
    let (fa, fb) = (files(&a.path().join("out")), files(&b.path().join("out")));
    assert_eq!(fa.len(), 2 + 2 * 3, "oci-layout, index.json and 3 blobs per arch");
    assert!(fa == fb, "layout files differ");
    let total: u64 = fa.iter().map(|(_, bytes)| bytes.len() as u64).sum();
    assert_eq!(first.total_bytes, total);
}

#[test]
fn thread_count_does_not_change_the_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let staged = tmp.path().join("staged");
    stage(&staged, &tree("amd64"), false, 0);
    for compression in [Compression::GZIP, Compression::ZSTD, Compression::Gzip { level: 1 }] {
        let mut seen = Vec::new();
        for threads in [1, 4, 0] {
            let blobs = tmp.path().join(format!("blobs-{threads}"));
            fs::create_dir_all(&blobs).unwrap();
            let opts = PackOptions { threads: std::num::NonZeroUsize::new(threads), compression };
            let info = write_layer(&staged, &blobs, crate::support::EPOCH, &opts).unwrap();
            let bytes = fs::read(blobs.join(info.digest.as_str())).unwrap();
            assert_eq!(bytes.len() as u64, info.size);
            seen.push((info, bytes));
            fs::remove_dir_all(&blobs).unwrap();
        }
        assert!(seen.windows(2).all(|w| w[0] == w[1]), "{compression:?}: output depends on thread count");
    }
}
