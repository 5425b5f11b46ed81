//! Reading back: `Layout` finds each platform, verifies every blob, streams the decompressed tar
//! (gzip and zstd) with the expected headers, and notices missing or corrupted blobs.

use std::fs;
use std::io::Read;

use talos_ext_image::spec::{INDEX_FILE, MEDIA_TYPE_INDEX, MEDIA_TYPE_LAYER_ZSTD, MEDIA_TYPE_MANIFEST};
use talos_ext_image::{ArchImage, Compression, ImageError, Layout, PackOptions, write_layout};
use talos_ext_model::Arch;

use crate::support::{EPOCH, gzip_opts, meta, stage, tree};

fn entries(layout: &Layout, arch: Arch) -> Vec<(String, tar::EntryType, u32, u64, u64, u64)> {
    let mut archive = tar::Archive::new(layout.layer_reader(arch).unwrap());
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let h = e.header().clone();
            let name = String::from_utf8(e.path_bytes().into_owned()).unwrap();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            assert_eq!(data.len() as u64, h.size().unwrap());
            assert!(h.username().unwrap().unwrap_or("").is_empty() && h.groupname().unwrap().unwrap_or("").is_empty());
            assert!(e.pax_extensions().unwrap().is_none(), "{name}: unexpected PAX records");
            (
                name,
                h.entry_type(),
                h.mode().unwrap(),
                h.uid().unwrap() + h.gid().unwrap(),
                h.mtime().unwrap(),
                data.len() as u64,
            )
        })
        .collect()
}

#[test]
fn reads_back_both_compressions() {
    let tmp = tempfile::tempdir().unwrap();
    let amd = tmp.path().join("amd");
    let arm = tmp.path().join("arm");
    stage(&amd, &tree("amd64"), false, 0);
    stage(&arm, &tree("arm64"), true, 5);
    let images = [ArchImage { arch: Arch::Amd64, dir: &amd }, ArchImage { arch: Arch::Arm64, dir: &arm }];
    for compression in [Compression::GZIP, Compression::ZSTD] {
        let out = tmp.path().join("oci");
        let opts = PackOptions { compression, threads: None };
        let summary = write_layout(&out, &images, &meta("1.0.0"), &opts).unwrap();
        let layout = Layout::open(&out).unwrap();
        layout.verify().unwrap();
        assert_eq!(layout.platforms(), [Arch::Amd64, Arch::Arm64]);
        assert_eq!(layout.index_digest(), &summary.index_digest);
        for (arch, image) in [Arch::Amd64, Arch::Arm64].into_iter().zip(&summary.images) {
            let manifest = layout.manifest(arch).unwrap();
            assert_eq!(manifest.layers[0].media_type, compression.media_type());
            assert_eq!(manifest.layers[0].size, image.layer.size);
            let list = entries(&layout, arch);
            let names: Vec<&str> = list.iter().map(|e| e.0.trim_end_matches('/')).collect();
            let mut sorted = names.clone();
            sorted.sort();
            assert_eq!(names, sorted);
            assert_eq!(names[..3], ["manifest.yaml", "rootfs", "rootfs/usr"]);
            assert!(list.iter().all(|e| e.3 == 0 && e.4 == EPOCH), "uid/gid 0 and mtime = epoch");
            let hardlink = list.iter().find(|e| e.0.ends_with("big-hardlink.bin")).unwrap();
            assert_eq!(hardlink.1, tar::EntryType::Regular);
            assert_eq!(hardlink.5, 2 * 1024 * 1024 + 4321);
            let total: u64 = list.iter().map(|e| 512 + e.5.div_ceil(512) * 512).sum();
            assert!(total <= image.layer.uncompressed_size);
        }
        if compression == Compression::ZSTD {
            assert_eq!(layout.manifest(Arch::Arm64).unwrap().layers[0].media_type, MEDIA_TYPE_LAYER_ZSTD);
        }
    }
}

#[test]
fn verify_notices_missing_and_corrupt_blobs() {
    let tmp = tempfile::tempdir().unwrap();
    let staged = tmp.path().join("staged");
    stage(&staged, &tree("amd64"), false, 0);
    let out = tmp.path().join("oci");
    let summary =
        write_layout(&out, &[ArchImage { arch: Arch::Amd64, dir: &staged }], &meta("1"), &gzip_opts(2)).unwrap();
    let layer = out.join("blobs/sha256").join(summary.images[0].layer.digest.as_str());
    let mut bytes = fs::read(&layer).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&layer, &bytes).unwrap();
    let err = Layout::open(&out).unwrap().verify().unwrap_err();
    assert!(matches!(err, ImageError::BlobMismatch { .. }), "{err:?}");
    fs::remove_file(&layer).unwrap();
    let err = Layout::open(&out).unwrap().verify().unwrap_err();
    assert!(matches!(err, ImageError::MissingBlob { .. }), "{err:?}");
    assert!(err.to_string().contains(summary.images[0].layer.digest.as_str()));
    let config = out.join("blobs/sha256").join(summary.images[0].config_digest.as_str());
    fs::write(&config, "{}").unwrap();
    assert!(matches!(Layout::open(&out).unwrap().manifest(Arch::Arm64), Err(ImageError::NoSuchPlatform { .. })));
}

#[test]
fn descriptors_talos_would_skip_are_not_platforms() {
    let tmp = tempfile::tempdir().unwrap();
    let staged = tmp.path().join("staged");
    stage(&staged, &tree("amd64"), false, 0);
    let out = tmp.path().join("oci");
    write_layout(&out, &[ArchImage { arch: Arch::Amd64, dir: &staged }], &meta("1"), &gzip_opts(2)).unwrap();
    let path = out.join(INDEX_FILE);
    let mut index: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    let mut nested = index["manifests"][0].clone();
    nested["mediaType"] = MEDIA_TYPE_INDEX.into();
    nested["platform"]["architecture"] = "arm64".into();
    index["manifests"].as_array_mut().unwrap().insert(0, nested);
    fs::write(&path, serde_json::to_vec(&index).unwrap()).unwrap();
    let layout = Layout::open(&out).unwrap();
    assert_eq!(layout.platforms(), [Arch::Amd64]);
    assert_eq!(layout.descriptor(Arch::Amd64).unwrap().media_type, MEDIA_TYPE_MANIFEST);
    let err = layout.verify().unwrap_err();
    assert!(err.to_string().contains("nested index"), "{err}");
}
