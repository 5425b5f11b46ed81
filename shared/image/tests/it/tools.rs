//! Real tools read what we write: `gzip -t`, `gzip -dc | tar -tv`, `zstd -dc`, `sha256sum`, and
//! `skopeo copy`/`inspect` on single- and multi-arch layouts.

use std::fs;
use std::path::Path;

use serde_json::Value;
use talos_ext_image::spec::{ANNOTATION_REF_NAME, MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST};
use talos_ext_image::{ArchImage, Compression, LayoutSummary, PackOptions, write_layout};
use talos_ext_model::Arch;

use crate::support::{expected_listing, gzip_opts, meta, normalise_listing, sh, stage, tree};

fn blob(out: &Path, hex: &str) -> String {
    out.join("blobs/sha256").join(hex).display().to_string()
}

fn single(tmp: &Path, compression: Compression) -> (std::path::PathBuf, LayoutSummary) {
    let staged = tmp.join("staged");
    stage(&staged, &tree("amd64"), false, 0);
    let out = tmp.join("oci");
    let opts = PackOptions { compression, threads: None };
    let summary = write_layout(&out, &[ArchImage { arch: Arch::Amd64, dir: &staged }], &meta("1.2.3"), &opts).unwrap();
    (out, summary)
}

#[test]
fn gzip_layer_is_read_by_gzip_and_tar() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, summary) = single(tmp.path(), Compression::GZIP);
    let layer = &summary.images[0].layer;
    let path = blob(&out, layer.digest.as_str());
    sh(&format!("gzip -t '{path}'"));
    assert!(sh(&format!("file -b '{path}'")).starts_with("gzip compressed data"));
    let listing = sh(&format!("gzip -dc '{path}' | tar -tv --numeric-owner --full-time"));
    assert_eq!(normalise_listing(&listing), expected_listing(&tree("amd64")));
    let diff_id = sh(&format!("gzip -dc '{path}' | sha256sum"));
    assert_eq!(&diff_id[..64], layer.diff_id.as_str());
    let size = sh(&format!("gzip -dc '{path}' | wc -c"));
    assert_eq!(size.trim().parse::<u64>().unwrap(), layer.uncompressed_size);

    // Extracted by GNU tar, the hardlink is an independent full copy.
    let x = tmp.path().join("x");
    fs::create_dir(&x).unwrap();
    sh(&format!("tar -xzf '{path}' -C '{}'", x.display()));
    let fw = x.join("rootfs/usr/lib/firmware");
    assert_eq!(fs::read(fw.join("big.bin")).unwrap(), fs::read(fw.join("big-hardlink.bin")).unwrap());
    assert_eq!(fs::read(x.join("manifest.yaml")).unwrap(), fs::read(tmp.path().join("staged/manifest.yaml")).unwrap());
}

#[test]
fn every_blob_is_named_by_its_sha256() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, summary) = single(tmp.path(), Compression::GZIP);
    let sums = sh(&format!("cd '{}' && sha256sum blobs/sha256/*", out.display()));
    for line in sums.lines() {
        let (sum, name) = line.split_once("  ").unwrap();
        assert_eq!(name.trim_start_matches("blobs/sha256/"), sum);
    }
    assert_eq!(sums.lines().count(), 3);
    let index = sh(&format!("sha256sum '{}/index.json'", out.display()));
    assert_eq!(&index[..64], summary.index_digest.as_str());
}

#[test]
fn zstd_layer_is_read_by_zstd() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, summary) = single(tmp.path(), Compression::ZSTD);
    let layer = &summary.images[0].layer;
    let path = blob(&out, layer.digest.as_str());
    sh(&format!("zstd -tq '{path}'"));
    let listing = sh(&format!("zstd -dcq '{path}' | tar -tv --numeric-owner --full-time"));
    assert_eq!(normalise_listing(&listing), expected_listing(&tree("amd64")));
    let diff_id = sh(&format!("zstd -dcq '{path}' | sha256sum"));
    assert_eq!(&diff_id[..64], layer.diff_id.as_str());
}

#[test]
fn skopeo_copies_a_single_arch_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, summary) = single(tmp.path(), Compression::GZIP);
    let index: Value = serde_json::from_slice(&fs::read(out.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["annotations"][ANNOTATION_REF_NAME], "1.2.3");
    let manifest_digest = summary.images[0].manifest_digest.as_str();
    for (i, src) in [format!("oci:{}:1.2.3", out.display()), format!("oci:{}", out.display())].iter().enumerate() {
        let dest = tmp.path().join(format!("copy{i}"));
        sh(&format!("skopeo --insecure-policy copy --quiet '{src}' 'oci:{}:x'", dest.display()));
        let raw = sh(&format!("skopeo inspect --raw 'oci:{}:x' | sha256sum", dest.display()));
        assert_eq!(&raw[..64], manifest_digest, "{src}");
        let inspect: Value = serde_json::from_str(&sh(&format!("skopeo inspect 'oci:{}:x'", dest.display()))).unwrap();
        assert_eq!(inspect["Architecture"], "amd64");
        assert_eq!(inspect["Os"], "linux");
        assert_eq!(inspect["Layers"][0], format!("sha256:{}", summary.images[0].layer.digest));
    }
}

#[test]
fn multi_arch_index_lists_one_manifest_per_platform() {
    let tmp = tempfile::tempdir().unwrap();
    let amd = tmp.path().join("amd");
    let arm = tmp.path().join("arm");
    stage(&amd, &tree("amd64"), false, 0);
    stage(&arm, &tree("arm64"), false, 0);
    let out = tmp.path().join("oci");
    let images = [ArchImage { arch: Arch::Arm64, dir: &arm }, ArchImage { arch: Arch::Amd64, dir: &amd }];
    let summary = write_layout(&out, &images, &meta("1.2.3"), &gzip_opts(2)).unwrap();
    let bytes = fs::read(out.join("index.json")).unwrap();
    let index: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(index["mediaType"], MEDIA_TYPE_INDEX);
    assert_eq!(index["schemaVersion"], 2);
    assert_eq!(index["annotations"]["org.opencontainers.image.version"], "1.2.3");
    assert_eq!(index["annotations"]["org.opencontainers.image.created"], "2023-11-14T22:13:20Z");
    assert_eq!(index["annotations"]["org.example.extra"], "yes");
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 2);
    for (desc, (arch, image)) in manifests.iter().zip(["amd64", "arm64"].iter().zip(&summary.images)) {
        assert_eq!(desc["mediaType"], MEDIA_TYPE_MANIFEST);
        assert_eq!(desc["platform"], serde_json::json!({"architecture": arch, "os": "linux"}));
        assert_eq!(desc["digest"], format!("sha256:{}", image.manifest_digest));
        assert!(desc.get("annotations").is_none(), "no ref.name on multi-arch descriptors");
        // skopeo 1.9 cannot choose among platforms in one layout ("more than one image in oci"), so
        // each image is inspected through a one-descriptor view sharing the same blobs.
        let view = tmp.path().join(format!("view-{arch}"));
        fs::create_dir(&view).unwrap();
        fs::copy(out.join("oci-layout"), view.join("oci-layout")).unwrap();
        std::os::unix::fs::symlink(out.join("blobs"), view.join("blobs")).unwrap();
        let mut one = desc.clone();
        one["annotations"] = serde_json::json!({ ANNOTATION_REF_NAME: "x" });
        let view_index = serde_json::json!({"schemaVersion": 2, "manifests": [one]});
        fs::write(view.join("index.json"), view_index.to_string()).unwrap();
        let raw = sh(&format!("skopeo inspect --raw 'oci:{}:x' | sha256sum", view.display()));
        assert_eq!(&raw[..64], image.manifest_digest.as_str());
        let inspect: Value = serde_json::from_str(&sh(&format!("skopeo inspect 'oci:{}:x'", view.display()))).unwrap();
        assert_eq!(inspect["Architecture"], *arch);
    }
}
