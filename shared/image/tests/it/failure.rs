//! Failures: refused inputs name the offending path, and a failed `write_layout` leaves neither a
//! partial layout nor temporary directories behind (and keeps a previous layout intact).

use std::fs;

use talos_ext_image::{ArchImage, ImageError, Layout, write_layout};
use talos_ext_model::Arch;

use crate::support::{gzip_opts, ls, meta, sh, stage, tree};

#[test]
fn special_file_is_refused_and_nothing_is_left_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let staged = tmp.path().join("staged");
    stage(&staged, &tree("amd64"), false, 0);
    let fifo = staged.join("rootfs/usr/local/bin/pipe");
    sh(&format!("mkfifo '{}'", fifo.display()));
    let out_parent = tmp.path().join("target");
    fs::create_dir(&out_parent).unwrap();
    let out = out_parent.join("oci");
    let err = write_layout(&out, &[ArchImage { arch: Arch::Amd64, dir: &staged }], &meta("1.0.0"), &gzip_opts(2))
        .unwrap_err();
    assert!(matches!(&err, ImageError::SpecialFile { path } if *path == fifo), "{err:?}");
    assert!(err.to_string().contains("rootfs/usr/local/bin/pipe"), "{err}");
    assert!(!out.exists());
    assert_eq!(ls(&out_parent), Vec::<std::path::PathBuf>::new());
}

#[test]
fn failure_keeps_the_previous_layout_and_success_replaces_it() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good");
    stage(&good, &tree("amd64"), false, 0);
    let out_parent = tmp.path().join("target");
    let out = out_parent.join("oci");
    let first =
        write_layout(&out, &[ArchImage { arch: Arch::Amd64, dir: &good }], &meta("1.0.0"), &gzip_opts(2)).unwrap();

    // The amd64 layer is fully written into the staging directory before arm64 fails.
    let bad = tmp.path().join("bad");
    stage(&bad, &tree("arm64"), false, 0);
    let fifo = bad.join("rootfs/usr/lib/fifo");
    sh(&format!("mkfifo '{}'", fifo.display()));
    let images = [ArchImage { arch: Arch::Amd64, dir: &good }, ArchImage { arch: Arch::Arm64, dir: &bad }];
    let err = write_layout(&out, &images, &meta("1.0.0"), &gzip_opts(2)).unwrap_err();
    assert!(err.to_string().contains("rootfs/usr/lib/fifo"), "{err}");
    assert_eq!(Layout::open(&out).unwrap().index_digest(), &first.index_digest);
    assert_eq!(ls(&out_parent), ["oci"].map(std::path::PathBuf::from));

    let second =
        write_layout(&out, &[ArchImage { arch: Arch::Amd64, dir: &good }], &meta("2.0.0"), &gzip_opts(2)).unwrap();
    assert_ne!(first.index_digest, second.index_digest);
    let layout = Layout::open(&out).unwrap();
    assert_eq!(layout.index_digest(), &second.index_digest);
    layout.verify().unwrap();
    assert_eq!(ls(&out_parent), ["oci"].map(std::path::PathBuf::from));
}

#[test]
fn staged_dir_must_hold_exactly_manifest_and_rootfs() {
    let tmp = tempfile::tempdir().unwrap();
    let staged = tmp.path().join("staged");
    stage(&staged, &tree("amd64"), false, 0);
    fs::write(staged.join("stray"), "").unwrap();
    let out = tmp.path().join("oci");
    let err =
        write_layout(&out, &[ArchImage { arch: Arch::Amd64, dir: &staged }], &meta("1"), &gzip_opts(1)).unwrap_err();
    assert!(matches!(err, ImageError::NotAnExtension { .. }), "{err:?}");
    assert!(err.to_string().contains("stray"), "{err}");
    assert!(!out.exists());
}

#[test]
fn bad_arguments_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let staged = tmp.path().join("staged");
    stage(&staged, &tree("amd64"), false, 0);
    let out = tmp.path().join("oci");
    let one = ArchImage { arch: Arch::Amd64, dir: &staged };
    let err = write_layout(&out, &[one, one], &meta("1"), &gzip_opts(1)).unwrap_err();
    assert_eq!(err.to_string(), "invalid image list: two images for amd64");
    let err = write_layout(&out, &[], &meta("1"), &gzip_opts(1)).unwrap_err();
    assert_eq!(err.to_string(), "invalid image list: no image given");
    let mut m = meta("1");
    m.annotations.insert("org.opencontainers.image.version".into(), "2".into());
    let err = write_layout(&out, &[one], &m, &gzip_opts(1)).unwrap_err();
    assert!(matches!(err, ImageError::ReservedAnnotation { ref key } if key == "org.opencontainers.image.version"));
    assert_eq!(ls(tmp.path()), ["staged"].map(std::path::PathBuf::from));
}
