//! Shared helpers: a pushed-layout fixture, skopeo invocations, and reading a layout's parts.

use std::path::{Path, PathBuf};

use talos_ext_image::{Layout, LayoutSummary};
use talos_ext_model::Arch;
use talos_ext_process::Command;
use talos_ext_registry::testing::sample_layout;
use talos_ext_registry::{Digest, Reference};

/// A sample amd64 + arm64 layout in a temporary directory.
pub struct Fixture {
    pub dir: PathBuf,
    pub summary: LayoutSummary,
    _tmp: tempfile::TempDir,
}

impl Fixture {
    pub fn new(seed: &str) -> Fixture {
        Fixture::sized(seed, 200 << 10)
    }

    pub fn sized(seed: &str, data_size: usize) -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("oci");
        let summary = sample_layout(&dir, "hello", seed, data_size).unwrap();
        Fixture { dir, summary, _tmp: tmp }
    }

    pub fn layout(&self) -> Layout {
        Layout::open(&self.dir).unwrap()
    }

    pub fn index_bytes(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("index.json")).unwrap()
    }

    pub fn index_digest(&self) -> Digest {
        Digest::from(self.summary.index_digest.clone())
    }

    pub fn manifest_digest(&self, arch: Arch) -> Digest {
        let image = self.summary.images.iter().find(|i| i.arch == arch).unwrap();
        Digest::from(image.manifest_digest.clone())
    }

    /// Every blob of the layout (configs and layers), with its file.
    pub fn blobs(&self) -> Vec<(Digest, PathBuf)> {
        let layout = self.layout();
        let mut out = Vec::new();
        for arch in layout.platforms() {
            let manifest = layout.manifest(arch).unwrap();
            for desc in std::iter::once(&manifest.config).chain(&manifest.layers) {
                out.push((Digest::parse(&desc.digest).unwrap(), layout.blob_path(desc).unwrap()));
            }
        }
        out
    }
}

/// Runs skopeo (with a scratch `HOME`, so no user configuration or credentials count); panics
/// with its stderr on failure.
pub fn skopeo(args: &[&str]) -> Vec<u8> {
    let home = tempfile::tempdir().unwrap();
    let output = Command::new("skopeo").args(args).env("HOME", home.path()).hint("apt-get install skopeo").output();
    output.unwrap_or_else(|e| panic!("skopeo {args:?}: {e}")).stdout
}

pub fn docker_ref(reference: &Reference) -> String {
    format!("docker://{reference}")
}

pub fn sha256_file(path: &Path) -> Digest {
    Digest::of(&std::fs::read(path).unwrap())
}
