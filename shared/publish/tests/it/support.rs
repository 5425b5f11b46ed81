//! Fixtures: the staged and packed example extension (once per test binary), layouts with other
//! versions or constraints, a client for a registry, and `skopeo`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use talos_ext_build::testing::{Staged, TEST_EPOCH, stage};
use talos_ext_image::{ArchImage, Compression, ImageMeta, PackOptions, write_layout};
use talos_ext_model::Arch;
use talos_ext_process::Command;
use talos_ext_publish::{ANNOTATION_OVERRIDDEN, IndexMeta, RegistryPrefix};
use talos_ext_registry::Client;
use talos_ext_registry::testing::TestRegistry;

#[path = "../../../../extensions/examples/hello-world-service/build.rs"]
#[allow(dead_code)]
mod hello;

pub const NAME: &str = "hello-world-service";
pub const VERSION: &str = "v1.0.0";
pub const TALOS: &str = "v1.14.0";

/// `extensions/examples/hello-world-service`.
pub fn hello_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../extensions/examples").join(NAME)
}

/// Both arches of the example, staged once per test binary (the trees live as long as it).
pub fn staged() -> &'static [Staged; 2] {
    static STAGED: OnceLock<[Staged; 2]> = OnceLock::new();
    STAGED.get_or_init(|| {
        let dir = hello_dir().display().to_string();
        Arch::ALL.map(|arch| stage(&dir, hello::recipe, arch).unwrap_or_else(|e| panic!("staging {arch}: {e:#}")))
    })
}

/// A packed layout of the example (as `xtask build` packs it) in `dir`, with extra annotations.
pub fn pack(dir: &Path, annotations: BTreeMap<String, String>) -> PathBuf {
    let images: Vec<ArchImage<'_>> =
        staged().iter().zip(Arch::ALL).map(|(s, arch)| ArchImage { arch, dir: &s.dir }).collect();
    let meta = ImageMeta {
        title: NAME.into(),
        version: VERSION.into(),
        source: "https://git.example.org/talos-ext/extensions".into(),
        revision: "0123456789abcdef".into(),
        description: "Example extension service".into(),
        source_date_epoch: TEST_EPOCH,
        annotations,
    };
    let out = dir.join(NAME);
    write_layout(&out, &images, &meta, &PackOptions { compression: Compression::GZIP, threads: None }).unwrap();
    out
}

/// The example's layout, packed once per test binary.
pub fn layout() -> &'static Path {
    static LAYOUT: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &LAYOUT
        .get_or_init(|| {
            let tmp = tempfile::tempdir().unwrap();
            let out = pack(tmp.path(), BTreeMap::new());
            (tmp, out)
        })
        .1
}

/// A layout of the example marked as built from overridden sources.
pub fn overridden_layout(dir: &Path) -> PathBuf {
    pack(dir, BTreeMap::from([(ANNOTATION_OVERRIDDEN.to_string(), "hello-world-service".to_string())]))
}

/// A one-arch extension layout named `name` whose manifest has `constraint`.
pub fn custom_layout(dir: &Path, name: &str, constraint: &str) -> PathBuf {
    let tree = dir.join(format!("{name}-tree"));
    std::fs::create_dir_all(tree.join("rootfs/usr/local/lib").join(name)).unwrap();
    std::fs::write(
        tree.join("manifest.yaml"),
        format!(
            "version: v1alpha1\nmetadata:\n  name: {name}\n  version: v2.0.0\n  author: tests\n  description: {name} for tests\n  compatibility:\n    talos:\n      version: '{constraint}'\n"
        ),
    )
    .unwrap();
    std::fs::write(tree.join("rootfs/usr/local/lib").join(name).join("README"), "hi\n").unwrap();
    let meta = talos_ext_registry::testing::image_meta(name, "v2.0.0", &format!("{name} for tests"));
    let out = dir.join(name);
    write_layout(
        &out,
        &[ArchImage { arch: Arch::Amd64, dir: &tree }],
        &meta,
        &PackOptions { compression: Compression::GZIP, threads: None },
    )
    .unwrap();
    out
}

pub fn prefix(host: &str) -> RegistryPrefix {
    format!("{host}/talos").parse().unwrap()
}

pub fn client(registry: &TestRegistry) -> Client {
    Client::new(registry.client_config())
}

pub fn index_meta(talos: &str) -> IndexMeta {
    IndexMeta {
        talos_tag: talos.into(),
        source: "https://git.example.org/talos-ext/extensions".into(),
        revision: "0123456789abcdef".into(),
        source_date_epoch: TEST_EPOCH,
    }
}

/// `skopeo <args>` (plain HTTP allowed; a scratch `HOME`, so no user configuration or credentials
/// count); panics with its stderr on failure.
pub fn skopeo(args: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new("skopeo").args(args).env("HOME", home.path()).hint("apt-get install skopeo").read();
    out.unwrap_or_else(|e| panic!("skopeo {args:?}: {e}"))
}
