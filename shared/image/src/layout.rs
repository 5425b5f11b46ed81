//! Writing a whole OCI image layout: per arch a layer, an image config and an image manifest, then
//! `oci-layout` and an `index.json` that lists one manifest descriptor per platform *directly*
//! (what Talos' imager and Image Factory read; nested indexes are never written).
//!
//! The layout is assembled in a temporary directory next to `out_dir` and renamed into place at
//! the end, replacing any previous layout, so a failure never leaves a half-written layout. This
//! module does not push, sign or tag anything in a registry.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use talos_ext_model::{Arch, Digest, Sha256};

use crate::error::ImageError;
use crate::hash::sha256_of;
use crate::layer::{LayerInfo, PackOptions, write_layer, write_tree_layer};
use crate::spec::{
    ANNOTATION_CREATED, ANNOTATION_DESCRIPTION, ANNOTATION_REF_NAME, ANNOTATION_REVISION, ANNOTATION_SOURCE,
    ANNOTATION_TITLE, ANNOTATION_VERSION, BLOBS_DIR, Descriptor, INDEX_FILE, ImageConfig, ImageIndex, ImageManifest,
    MEDIA_TYPE_CONFIG, MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST, OCI_LAYOUT_FILE, OCI_LAYOUT_VERSION, OciLayout, Platform,
    RootFs, rfc3339_utc,
};

/// One arch's staged extension directory (`manifest.yaml` + `rootfs/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchImage<'a> {
    pub arch: Arch,
    pub dir: &'a Path,
}

/// What goes into the image besides the files: the standard annotations, the timestamp, extras.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageMeta {
    /// `org.opencontainers.image.title`: the extension name.
    pub title: String,
    /// `org.opencontainers.image.version`: the image tag; also the single-arch `ref.name`.
    pub version: String,
    /// `org.opencontainers.image.source`: the repository URL.
    pub source: String,
    /// `org.opencontainers.image.revision`: the source revision (commit).
    pub revision: String,
    /// `org.opencontainers.image.description`.
    pub description: String,
    /// `SOURCE_DATE_EPOCH`: every tar mtime, the config's `created` and the `created` annotation.
    pub source_date_epoch: u64,
    /// More annotations for the manifests and the index. They may not redefine the keys above or
    /// `org.opencontainers.image.ref.name`.
    pub annotations: BTreeMap<String, String>,
}

/// What `write_layout` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutSummary {
    /// sha256 of the exact `index.json` bytes (pushable as the multi-arch index).
    pub index_digest: Sha256,
    /// Size of `index.json`.
    pub index_size: u64,
    /// One entry per arch, in `Arch::ALL` order.
    pub images: Vec<ImageSummary>,
    /// Bytes of all files in the layout (blobs, `index.json`, `oci-layout`).
    pub total_bytes: u64,
}

/// One arch's image in a written layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    pub arch: Arch,
    pub manifest_digest: Sha256,
    pub manifest_size: u64,
    pub config_digest: Sha256,
    pub config_size: u64,
    pub layer: LayerInfo,
}

/// Writes an OCI image layout for `images` (one per arch) to `out_dir`, replacing what was there.
pub fn write_layout(
    out_dir: &Path,
    images: &[ArchImage<'_>],
    meta: &ImageMeta,
    opts: &PackOptions,
) -> Result<LayoutSummary, ImageError> {
    write_layout_with(out_dir, images, meta, opts, write_layer)
}

/// Writes an OCI image layout whose one layer holds the whole directory `tree` (any files, see
/// [`crate::write_tree_layer`]), with one image per arch of `arches` sharing that layer, to
/// `out_dir`, replacing what was there. For small data images such as the extensions index image
/// (`/image-digests` + `/descriptions.yaml`); the index, manifests and configs are shaped exactly
/// as [`write_layout`]'s.
pub fn write_tree_layout(
    out_dir: &Path,
    tree: &Path,
    arches: &[Arch],
    meta: &ImageMeta,
    opts: &PackOptions,
) -> Result<LayoutSummary, ImageError> {
    let images: Vec<ArchImage<'_>> = arches.iter().map(|&arch| ArchImage { arch, dir: tree }).collect();
    write_layout_with(out_dir, &images, meta, opts, write_tree_layer)
}

/// A function writing one image's layer blob: (directory, blobs dir, epoch, options).
type LayerWriter = fn(&Path, &Path, u64, &PackOptions) -> Result<LayerInfo, ImageError>;

fn write_layout_with(
    out_dir: &Path,
    images: &[ArchImage<'_>],
    meta: &ImageMeta,
    opts: &PackOptions,
    layer_writer: LayerWriter,
) -> Result<LayoutSummary, ImageError> {
    let mut images = images.to_vec();
    images.sort_by_key(|i| i.arch);
    if images.is_empty() {
        return Err(ImageError::InvalidImages("no image given".into()));
    }
    if let Some(w) = images.windows(2).find(|w| w[0].arch == w[1].arch) {
        return Err(ImageError::InvalidImages(format!("two images for {}", w[0].arch)));
    }
    let annotations = annotations(meta)?;

    let (parent, name) = split_out_dir(out_dir)?;
    fs::create_dir_all(parent).map_err(ImageError::io("create directory", parent))?;
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}.tmp-"))
        .tempdir_in(parent)
        .map_err(ImageError::io("create a temporary directory in", parent))?;
    let summary = write_into(staging.path(), &images, meta, &annotations, opts, layer_writer)?;
    let root = staging.path();
    fs::set_permissions(root, fs::Permissions::from_mode(0o755)).map_err(ImageError::io("chmod", root))?;
    replace_dir(staging, out_dir, parent, name)?;
    Ok(summary)
}

fn annotations(meta: &ImageMeta) -> Result<BTreeMap<String, String>, ImageError> {
    let mut out = BTreeMap::from([
        (ANNOTATION_TITLE.to_string(), meta.title.clone()),
        (ANNOTATION_VERSION.to_string(), meta.version.clone()),
        (ANNOTATION_SOURCE.to_string(), meta.source.clone()),
        (ANNOTATION_REVISION.to_string(), meta.revision.clone()),
        (ANNOTATION_CREATED.to_string(), rfc3339_utc(meta.source_date_epoch)),
        (ANNOTATION_DESCRIPTION.to_string(), meta.description.clone()),
    ]);
    for (key, value) in &meta.annotations {
        if out.contains_key(key) || key == ANNOTATION_REF_NAME {
            return Err(ImageError::ReservedAnnotation { key: key.clone() });
        }
        out.insert(key.clone(), value.clone());
    }
    Ok(out)
}

fn split_out_dir(out_dir: &Path) -> Result<(&Path, &str), ImageError> {
    let name = out_dir.file_name().and_then(|n| n.to_str());
    let parent = out_dir.parent().map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p });
    match (parent, name) {
        (Some(parent), Some(name)) => Ok((parent, name)),
        _ => Err(ImageError::Unsupported {
            path: out_dir.to_path_buf(),
            message: "output directory needs a parent and a UTF-8 name".into(),
        }),
    }
}

fn write_into(
    root: &Path,
    images: &[ArchImage<'_>],
    meta: &ImageMeta,
    annotations: &BTreeMap<String, String>,
    opts: &PackOptions,
    layer_writer: LayerWriter,
) -> Result<LayoutSummary, ImageError> {
    let blobs = root.join(BLOBS_DIR);
    fs::create_dir_all(&blobs).map_err(ImageError::io("create directory", &blobs))?;
    let layout = OciLayout { image_layout_version: OCI_LAYOUT_VERSION.into() };
    write_file(&root.join(OCI_LAYOUT_FILE), &to_json(&layout)?)?;

    let mut summaries = Vec::new();
    let mut descriptors = Vec::new();
    for image in images {
        let layer = layer_writer(image.dir, &blobs, meta.source_date_epoch, opts)?;
        let config = ImageConfig {
            created: rfc3339_utc(meta.source_date_epoch),
            architecture: image.arch.as_str().into(),
            os: "linux".into(),
            config: BTreeMap::new(),
            rootfs: RootFs { kind: "layers".into(), diff_ids: vec![Digest::from(layer.diff_id.clone()).to_string()] },
        };
        let (config_digest, config_desc) = write_blob(&blobs, MEDIA_TYPE_CONFIG, &to_json(&config)?)?;
        let manifest = ImageManifest {
            schema_version: 2,
            media_type: Some(MEDIA_TYPE_MANIFEST.into()),
            config: config_desc.clone(),
            layers: vec![Descriptor {
                media_type: layer.media_type.into(),
                digest: Digest::from(layer.digest.clone()).to_string(),
                size: layer.size,
                platform: None,
                annotations: BTreeMap::new(),
            }],
            annotations: annotations.clone(),
        };
        let (manifest_digest, mut manifest_desc) = write_blob(&blobs, MEDIA_TYPE_MANIFEST, &to_json(&manifest)?)?;
        manifest_desc.platform = Some(Platform { architecture: image.arch.as_str().into(), os: "linux".into() });
        if images.len() == 1 {
            manifest_desc.annotations.insert(ANNOTATION_REF_NAME.into(), meta.version.clone());
        }
        summaries.push(ImageSummary {
            arch: image.arch,
            manifest_digest,
            manifest_size: manifest_desc.size,
            config_digest,
            config_size: config_desc.size,
            layer,
        });
        descriptors.push(manifest_desc);
    }

    let index = ImageIndex {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_INDEX.into()),
        manifests: descriptors,
        annotations: annotations.clone(),
    };
    let index_bytes = to_json(&index)?;
    write_file(&root.join(INDEX_FILE), &index_bytes)?;
    let total_bytes = dir_bytes(root)?;
    Ok(LayoutSummary {
        index_digest: sha256_of(&index_bytes),
        index_size: index_bytes.len() as u64,
        images: summaries,
        total_bytes,
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ImageError> {
    serde_json::to_vec(value).map_err(|e| ImageError::Serialize(e.to_string()))
}

fn write_blob(blobs: &Path, media_type: &str, bytes: &[u8]) -> Result<(Sha256, Descriptor), ImageError> {
    let digest = sha256_of(bytes);
    write_file(&blobs.join(digest.as_str()), bytes)?;
    let desc = Descriptor {
        media_type: media_type.into(),
        digest: Digest::from(digest.clone()).to_string(),
        size: bytes.len() as u64,
        platform: None,
        annotations: BTreeMap::new(),
    };
    Ok((digest, desc))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ImageError> {
    fs::write(path, bytes).map_err(ImageError::io("write", path))
}

fn dir_bytes(root: &Path) -> Result<u64, ImageError> {
    let mut total = 0;
    for item in walkdir::WalkDir::new(root) {
        let item = item.map_err(|e| ImageError::Io { action: "walk", path: root.to_path_buf(), cause: e.into() })?;
        if item.file_type().is_file() {
            total += item
                .metadata()
                .map_err(|e| ImageError::Io { action: "stat", path: item.path().to_path_buf(), cause: e.into() })?
                .len();
        }
    }
    Ok(total)
}

/// Moves the finished `staging` directory to `out_dir`: an existing `out_dir` is first renamed
/// into a second temporary directory, then deleted once the new layout is in place.
fn replace_dir(staging: tempfile::TempDir, out_dir: &Path, parent: &Path, name: &str) -> Result<(), ImageError> {
    let old = if fs::symlink_metadata(out_dir).is_ok() {
        let trash = tempfile::Builder::new()
            .prefix(&format!(".{name}.old-"))
            .tempdir_in(parent)
            .map_err(ImageError::io("create a temporary directory in", parent))?;
        let moved: PathBuf = trash.path().join(name);
        fs::rename(out_dir, &moved).map_err(ImageError::io("move away the previous layout", out_dir))?;
        Some((trash, moved))
    } else {
        None
    };
    if let Err(e) = fs::rename(staging.path(), out_dir) {
        if let Some((_, moved)) = &old {
            // Best effort: put the previous layout back.
            let _ = fs::rename(moved, out_dir);
        }
        return Err(ImageError::Io { action: "move the new layout to", path: out_dir.to_path_buf(), cause: e });
    }
    // The staging directory is now `out_dir`: do not let its guard delete it.
    let _ = staging.keep();
    if let Some((trash, _)) = old {
        trash.close().map_err(ImageError::io("delete the previous layout in", parent))?;
    }
    Ok(())
}
