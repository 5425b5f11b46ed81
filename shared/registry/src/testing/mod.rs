//! Test support for this crate's and other crates' tests (feature `testing`): a real registry, a
//! token server, a fault-injecting proxy, and small multi-arch layouts to push.
//!
//! - [`TestRegistry`] runs Debian's `docker-registry` on loopback ([`TestAuth`]: none, htpasswd,
//!   or token auth backed by [`TokenServer`]); dropped, it is killed and its storage removed.
//! - [`FaultProxy`] sits in front of it and drops connections, answers 500s or flips bytes
//!   according to a [`FaultPlan`], recording every request.
//! - [`sample_layout`] writes an amd64 + arm64 OCI layout with `talos_ext_image::write_layout`.
//!
//! ```no_run
//! use talos_ext_registry::testing::{TestRegistry, sample_layout};
//! use talos_ext_registry::{Client, NoReporter, PushOptions};
//!
//! let registry = TestRegistry::start().unwrap();
//! let tmp = tempfile::tempdir().unwrap();
//! let layout = sample_layout(&tmp.path().join("oci"), "hello", "seed-1", 64 << 10).unwrap();
//! let client = Client::new(registry.client_config());
//! let target = registry.reference("ext/hello:v1");
//! let summary = client.push_layout(&tmp.path().join("oci"), &target, &PushOptions::default(), &NoReporter).unwrap();
//! assert_eq!(summary.index_digest.hex(), &layout.index_digest);
//! ```
//!
//! Nothing here is meant for production code: it panics on impossible test setups and spawns
//! processes.

mod proxy;
mod registry;
mod token;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use talos_ext_image::{ArchImage, Compression, ImageError, ImageMeta, LayoutSummary, PackOptions, write_layout};
use talos_ext_model::Arch;

pub use proxy::{Action, FailRule, Fault, FaultPlan, FaultProxy, RequestMatch, RequestRecord};
pub use registry::{ENV_REGISTRY_BIN, TestAuth, TestRegistry, fast_retry, free_port};
pub use token::{TOKEN_ISSUER, TOKEN_SERVICE, TokenServer};

/// Writes an OCI layout for `title` with an amd64 and an arm64 image to `out`. Each staged tree
/// holds `manifest.yaml`, a small text file and `data_size` bytes of pseudo-random data derived
/// from `seed` and the arch, so different seeds give different blobs and the same seed the same
/// bytes.
pub fn sample_layout(out: &Path, title: &str, seed: &str, data_size: usize) -> Result<LayoutSummary, ImageError> {
    let staging =
        tempfile::tempdir().map_err(|e| ImageError::Io { action: "create", path: "temp dir".into(), cause: e })?;
    let mut dirs = Vec::new();
    for arch in Arch::ALL {
        let dir = staging.path().join(arch.as_str());
        let lib = dir.join("rootfs/usr/local/lib").join(title);
        fs::create_dir_all(&lib).map_err(|e| ImageError::Io { action: "create", path: lib.clone(), cause: e })?;
        let files = [
            (dir.join("manifest.yaml"), manifest_yaml(title, seed).into_bytes()),
            (lib.join("README"), format!("{title} for {arch}, seed {seed}\n").into_bytes()),
            (lib.join("data.bin"), pseudo_random(&format!("{seed}/{arch}"), data_size)),
        ];
        for (path, bytes) in files {
            fs::write(&path, bytes).map_err(|e| ImageError::Io { action: "write", path: path.clone(), cause: e })?;
        }
        dirs.push((arch, dir));
    }
    let images: Vec<ArchImage<'_>> = dirs.iter().map(|(arch, dir)| ArchImage { arch: *arch, dir }).collect();
    let meta = image_meta(title, "v1.0.0", &format!("test image {title} ({seed})"));
    write_layout(out, &images, &meta, &PackOptions { compression: Compression::GZIP, threads: None })
}

/// The image metadata of test layouts: fixed source, revision and time, no annotations.
pub fn image_meta(title: &str, version: &str, description: &str) -> ImageMeta {
    ImageMeta {
        title: title.into(),
        version: version.into(),
        source: "https://git.example.org/talos-ext/extensions".into(),
        revision: "0123456789abcdef".into(),
        description: description.into(),
        source_date_epoch: 1_700_000_000,
        annotations: BTreeMap::new(),
    }
}

fn manifest_yaml(title: &str, seed: &str) -> String {
    format!(
        "version: v1alpha1\nmetadata:\n  name: {title}\n  version: v1.0.0\n  author: tests\n  description: seed {seed}\n  compatibility:\n    talos:\n      version: \">= v1.0.0\"\n"
    )
}

/// Deterministic, incompressible bytes (xorshift64* seeded by FNV-1a of `seed`).
fn pseudo_random(seed: &str, len: usize) -> Vec<u8> {
    let mut state =
        seed.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}
