//! Reading an OCI image layout back: parse `index.json`, find the image for a platform the way
//! Talos does (a descriptor listed directly in the index with `platform` `linux/<arch>`), verify
//! every blob against its descriptor, and stream a layer's decompressed tar.
//!
//! Compression is detected from magic bytes (gzip, zstd, or none), as go-containerregistry does,
//! not from the media type. Only single-layer images can be streamed as one tar: flattening
//! several layers (whiteouts and all) is deliberately not done here. Nested indexes are not
//! followed, because Talos does not follow them either.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use talos_ext_model::{Arch, Digest, Sha256};

use crate::error::ImageError;
use crate::hash::{Summer, sha256_of};
use crate::spec::{
    BLOBS_DIR, Descriptor, INDEX_FILE, ImageIndex, ImageManifest, MEDIA_TYPE_INDEX, OCI_LAYOUT_FILE,
    OCI_LAYOUT_VERSION, OciLayout,
};

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
/// Manifests, configs and indexes larger than this are refused rather than read into memory.
const MAX_JSON_BLOB: u64 = 4 << 20;

/// An opened OCI image layout directory.
#[derive(Debug, Clone)]
pub struct Layout {
    dir: PathBuf,
    index: ImageIndex,
    index_digest: Sha256,
}

impl Layout {
    /// Opens the layout at `dir`: checks `oci-layout` and parses `index.json`.
    pub fn open(dir: &Path) -> Result<Layout, ImageError> {
        let marker_path = dir.join(OCI_LAYOUT_FILE);
        let marker: OciLayout = parse_json(&marker_path, "oci-layout", &read_file(&marker_path)?)?;
        if marker.image_layout_version != OCI_LAYOUT_VERSION {
            return Err(ImageError::Unsupported {
                path: marker_path,
                message: format!("unsupported imageLayoutVersion `{}`", marker.image_layout_version),
            });
        }
        let index_path = dir.join(INDEX_FILE);
        let bytes = read_file(&index_path)?;
        let index: ImageIndex = parse_json(&index_path, "image index", &bytes)?;
        Ok(Layout { dir: dir.to_path_buf(), index, index_digest: sha256_of(&bytes) })
    }

    /// The layout directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The parsed `index.json`.
    pub fn index(&self) -> &ImageIndex {
        &self.index
    }

    /// sha256 of the `index.json` bytes.
    pub fn index_digest(&self) -> &Sha256 {
        &self.index_digest
    }

    /// The arches that have an image descriptor (with `platform` `linux/<arch>`) directly in the
    /// index, in index order.
    pub fn platforms(&self) -> Vec<Arch> {
        self.index.manifests.iter().filter_map(platform_of).collect()
    }

    /// The descriptor Talos would pick for `arch`: the first one listed directly with that platform.
    pub fn descriptor(&self, arch: Arch) -> Result<&Descriptor, ImageError> {
        self.index
            .manifests
            .iter()
            .find(|d| platform_of(d) == Some(arch))
            .ok_or_else(|| ImageError::NoSuchPlatform { arch, path: self.dir.clone() })
    }

    /// The image manifest for `arch`, read from its blob (digest and size checked).
    pub fn manifest(&self, arch: Arch) -> Result<ImageManifest, ImageError> {
        self.read_manifest(self.descriptor(arch)?)
    }

    /// Checks every blob the index references (each manifest, its config and its layers): it must
    /// exist and match the descriptor's sha256 and size. Also refuses nested indexes.
    pub fn verify(&self) -> Result<(), ImageError> {
        for desc in &self.index.manifests {
            let manifest = self.read_manifest(desc)?;
            self.read_json_blob(&manifest.config)?;
            for layer in &manifest.layers {
                let path = self.blob_path(layer)?;
                let file = File::open(&path).map_err(|e| missing_or_io(layer, &path, e))?;
                check_blob(layer, hash_stream(file, &path)?)?;
            }
        }
        Ok(())
    }

    /// The decompressed tar of `arch`'s single layer. The blob is not verified while streaming; call
    /// [`Layout::verify`] for that.
    pub fn layer_reader(&self, arch: Arch) -> Result<Box<dyn Read + Send>, ImageError> {
        let manifest = self.manifest(arch)?;
        let [layer] = manifest.layers.as_slice() else {
            return Err(ImageError::Unsupported {
                path: self.dir.clone(),
                message: format!("the {arch} image has {} layers; exactly one is supported", manifest.layers.len()),
            });
        };
        let path = self.blob_path(layer)?;
        let file = File::open(&path).map_err(|e| missing_or_io(layer, &path, e))?;
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let head = reader.fill_buf().map_err(ImageError::io("read", &path))?;
        Ok(if head.starts_with(GZIP_MAGIC) {
            Box::new(flate2::bufread::MultiGzDecoder::new(reader))
        } else if head.starts_with(ZSTD_MAGIC) {
            Box::new(zstd::stream::read::Decoder::with_buffer(reader).map_err(ImageError::io("read", &path))?)
        } else {
            Box::new(reader)
        })
    }

    /// Where a descriptor's blob lives.
    pub fn blob_path(&self, desc: &Descriptor) -> Result<PathBuf, ImageError> {
        match Digest::parse(&desc.digest) {
            Ok(digest) => Ok(self.dir.join(BLOBS_DIR).join(digest.hex().as_str())),
            Err(e) => Err(ImageError::Unsupported { path: self.dir.clone(), message: e.to_string() }),
        }
    }

    fn read_manifest(&self, desc: &Descriptor) -> Result<ImageManifest, ImageError> {
        if desc.media_type == MEDIA_TYPE_INDEX {
            return Err(ImageError::Unsupported {
                path: self.dir.join(INDEX_FILE),
                message: format!("nested index {} is not supported (Talos does not follow it)", desc.digest),
            });
        }
        let (path, bytes) = self.read_json_blob(desc)?;
        parse_json(&path, "image manifest", &bytes)
    }

    fn read_json_blob(&self, desc: &Descriptor) -> Result<(PathBuf, Vec<u8>), ImageError> {
        let path = self.blob_path(desc)?;
        let file = File::open(&path).map_err(|e| missing_or_io(desc, &path, e))?;
        let mut bytes = Vec::new();
        file.take(MAX_JSON_BLOB + 1).read_to_end(&mut bytes).map_err(ImageError::io("read", &path))?;
        check_blob(desc, (sha256_of(&bytes), bytes.len() as u64))?;
        Ok((path, bytes))
    }
}

fn platform_of(desc: &Descriptor) -> Option<Arch> {
    let platform = desc.platform.as_ref()?;
    if platform.os != "linux" || desc.media_type == MEDIA_TYPE_INDEX {
        return None;
    }
    platform.architecture.parse().ok()
}

fn check_blob(desc: &Descriptor, (digest, size): (Sha256, u64)) -> Result<(), ImageError> {
    if Digest::parse(&desc.digest).is_ok_and(|d| *d.hex() == digest) && desc.size == size {
        Ok(())
    } else {
        Err(ImageError::BlobMismatch {
            digest: desc.digest.clone(),
            expected_size: desc.size,
            actual_size: size,
            actual_digest: digest.to_string(),
        })
    }
}

fn missing_or_io(desc: &Descriptor, path: &Path, e: io::Error) -> ImageError {
    if e.kind() == io::ErrorKind::NotFound {
        ImageError::MissingBlob { digest: desc.digest.clone(), path: path.to_path_buf() }
    } else {
        ImageError::Io { action: "open", path: path.to_path_buf(), cause: e }
    }
}

fn hash_stream(mut file: File, path: &Path) -> Result<(Sha256, u64), ImageError> {
    let mut summer = Summer::default();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(ImageError::io("read", path))?;
        if n == 0 {
            return Ok(summer.finish());
        }
        summer.update(&buf[..n]);
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, ImageError> {
    fs::read(path).map_err(ImageError::io("read", path))
}

fn parse_json<T: serde::de::DeserializeOwned>(path: &Path, what: &'static str, bytes: &[u8]) -> Result<T, ImageError> {
    serde_json::from_slice(bytes).map_err(|e| ImageError::Json {
        path: path.to_path_buf(),
        what,
        message: e.to_string(),
    })
}
