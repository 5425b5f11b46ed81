//! Stages `mei` through its real recipe: with the Debian 6.12 toolchain (offline, from the
//! Debian linux-image package) every listed module must be installed as a plain, still signed
//! `.ko` under its own path, with the index files; with the pinned Talos toolchain (the default)
//! staging must fail at once, naming the kernel image it needs.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use std::time::{Duration, Instant};

use talos_ext_build::kernel::kmod::{ModuleSignature, elf_machine, modinfo};
use talos_ext_build::kernel::{KernelOverrides, with_overrides};
use talos_ext_build::model::ExtensionMeta;
use talos_ext_build::testing::stage;

fn meta() -> ExtensionMeta {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    ExtensionMeta::from_cargo_toml(&text).unwrap().unwrap()
}

#[test]
fn debian_toolchain_installs_the_listed_signed_modules() {
    let meta = meta();
    let debian = KernelOverrides { toolchain: Some("debian-6.12".into()), ..Default::default() };
    for arch in meta.arches.clone() {
        let started = Instant::now();
        let s = with_overrides(debian.clone(), || stage(env!("CARGO_MANIFEST_DIR"), build::recipe, arch))
            .unwrap_or_else(|e| panic!("{arch}: {e:#}"));
        eprintln!("mei {arch}: staged in {:.1?}", started.elapsed());
        let modules = s.rootfs("usr/lib/modules");
        let releases: Vec<String> = std::fs::read_dir(&modules)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(releases.len(), 1, "{releases:?}");
        let release = &releases[0];
        assert!(release.starts_with("6.12.") && release.ends_with(&format!("-{arch}")), "{release}");
        for rel in meta.modules_for(arch) {
            let path = modules.join(release).join(rel);
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(&bytes[..4], b"\x7fELF", "{} must be a plain .ko", path.display());
            assert_eq!(elf_machine(&bytes).unwrap().talos_arch(), Some(arch.as_str()));
            let sig = ModuleSignature::parse(&bytes).unwrap().expect("keeps the kernel build's signature");
            assert!(sig.signer_name().is_some_and(|s| !s.is_empty()));
            let info = modinfo(&bytes).unwrap();
            assert_eq!(info.kernel_release(), Some(release.as_str()));
        }
        for index in ["modules.order", "modules.builtin", "modules.builtin.modinfo"] {
            assert!(modules.join(release).join(index).is_file(), "{index}");
        }
        let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
        assert!(manifest.contains("name: mei\n  version: v1."), "{manifest}");
    }
}

#[test]
fn talos_toolchain_fails_fast_naming_the_kernel_image() {
    let arch = meta().arches[0];
    let started = Instant::now();
    let talos = KernelOverrides { toolchain: Some("talos-v1.14.0-beta.1".into()), ..Default::default() };
    let err = with_overrides(talos, || stage(env!("CARGO_MANIFEST_DIR"), build::recipe, arch)).expect_err("offline");
    let msg = format!("{err:#}");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert!(msg.contains("ghcr.io/siderolabs/kernel:v1.15.0-alpha.0-7-gb914c26"), "{msg}");
    assert!(msg.contains("not available offline") && msg.contains("usr/lib/modules/6.18.45-talos"), "{msg}");
}
