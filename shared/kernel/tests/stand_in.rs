//! The Talos toolchain prepared for real, offline, from a stand-in kernel source: Debian's
//! repacked Linux 6.18.15 (`linux_6.18.15.orig.tar.xz`, trixie-backports) instead of the pinned
//! 6.18.45 tarball (kernel.org is not reachable here), with the **pinned** Talos configs (served
//! by a directory mirror) and the pinned compiler (Debian's clang-22 22.1.8, `LLVM=-22`):
//! unpack, `olddefconfig`, the config check, `modules_prepare`, for amd64 and arm64.
//!
//! Tier full: about 4 minutes per arch on a loaded 2-core machine (1.45 GiB of cache each); the
//! prepared trees are cached in `.cache/talos-ext/kernel/` by their inputs, so reruns check
//! them without preparing again. It needs the Talos configs in a directory mirror:
//! `TALOS_EXT_TEST_MIRROR`, or the team folder's `../shared/mirror` beside the checkout.
//!
//! The same source and configs also check the catalog's in-tree module lists (tier full: 11 s
//! cold, the kbuild files unpacked once into `.cache/talos-ext/test-fixtures/`).

use std::path::{Path, PathBuf};

use talos_ext_fetch::Mirror;
use talos_ext_kernel::{KernelContext, PrepareOptions, prepare_build_tree};
use talos_ext_model::Arch;

/// Debian's repacked upstream tarball of Linux 6.18.15 (trixie-backports), by source version.
const LINUX: (&str, &str) = ("linux", "6.18.15-1~bpo13+1");
const TOOLCHAIN: &str = "talos-v1.14.0-beta.1";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_path_buf()
}

/// [`LINUX`]'s orig tarball, from the workspace's Debian cache or Debian's archive.
fn linux_orig(root: &Path) -> PathBuf {
    let debian = talos_ext_debian::workspace_cache(root);
    let repo = talos_ext_debian::Repo::sources(&debian, &["trixie-backports"], &["main"]);
    repo.fetch_upstream_tarball(LINUX.0, LINUX.1, &debian.join("pool"))
        .unwrap_or_else(|e| panic!("Debian's linux {}: {e}", LINUX.1))
}

fn config_mirror(root: &Path) -> PathBuf {
    let dir =
        std::env::var_os("TALOS_EXT_TEST_MIRROR").map(PathBuf::from).unwrap_or_else(|| root.join("../shared/mirror"));
    assert!(
        dir.join("sha256").is_dir(),
        "the pinned Talos kernel configs are needed in a directory mirror: {} has no sha256/ (set TALOS_EXT_TEST_MIRROR)",
        dir.display()
    );
    dir
}

#[test]
#[ignore = "tier full: prepares two real kernel trees from Debian's Linux 6.18.15 source with the pinned Talos configs (about 8 minutes, 2.9 GiB)"]
fn tier_full_prepares_the_talos_toolchain_from_a_stand_in_source() {
    let root = workspace_root();
    let orig = linux_orig(&root);
    eprintln!("stand-in kernel source: {}", orig.display());

    let mut ctx = KernelContext::from_env(&root).unwrap();
    ctx.fetch.mirrors.insert(0, Mirror::Dir(config_mirror(&root)));
    ctx.fetch.offline = true;
    let tc = ctx.toolchain(TOOLCHAIN).unwrap();
    for arch in Arch::ALL {
        let started = std::time::Instant::now();
        let options = PrepareOptions { stand_in_source: Some(orig.clone()), ..Default::default() };
        let tree = prepare_build_tree(&ctx, &tc, arch, options).unwrap_or_else(|e| panic!("{arch}: {e}"));
        eprintln!("{arch}: {} in {:.1?}", tree.dir.display(), started.elapsed());
        // The stand-in's own release, never the pinned 6.18.45-talos.
        assert_eq!(tree.release, "6.18.15-talos", "{arch}");
        assert!(tree.stand_in.as_deref().is_some_and(|s| s.contains("linux_6.18.15.orig.tar.xz")), "{arch}");
        assert!(tree.make_vars().contains(&"LLVM=-22".to_string()), "{arch}: {:?}", tree.make_vars());
        let config = std::fs::read_to_string(tree.dir.join(".config")).unwrap();
        for line in ["CONFIG_LOCALVERSION=\"-talos\"", "CONFIG_MODVERSIONS=y", "CONFIG_MODULE_SIG=y"] {
            assert!(config.lines().any(|l| l == line), "{arch}: {line} not in the prepared .config");
        }
        assert!(
            config.lines().any(|l| l.starts_with("CONFIG_CC_VERSION_TEXT=") && l.contains("clang version 22.1.8")),
            "{arch}: not configured with clang 22.1.8"
        );
        // What the config check allowed is reported: GPU_BUDDY is new in 6.18.45.
        let allowed = tree.notes.iter().find(|n| n.contains("the config check allowed")).expect("a config note");
        assert!(allowed.contains("CONFIG_GPU_BUDDY") && allowed.contains("CONFIG_CC_VERSION_TEXT"), "{allowed}");
        assert!(tree.vermagic_flags().unwrap().is_some(), "{arch}");
        // modules_prepare gives no Module.symvers (module builds say how to recover one).
        assert!(!tree.dir.join("Module.symvers").exists(), "{arch}");
    }
}

/// Every in-tree module the catalog's recipes list (`modules` of their metadata) is built as a
/// loadable module by the pinned Talos configuration of its arch: its object is in a kbuild
/// module list (`obj-$(CONFIG_X)`) of Debian's Linux 6.18.15 source (the stand-in: the pinned
/// 6.18.45 tarball is not reachable; only its `Makefile`s and `Kbuild`s are unpacked) and `X` is
/// `m` in the pinned config (exact, from the mirror). This covers the modules Debian's 6.12
/// kernel, which the in-tree recipes' own tests install from, does not build as modules.
#[test]
#[ignore = "tier full: needs the pinned Talos configs from a directory mirror and Debian's 150 MB Linux 6.18.15 source"]
fn tier_full_every_catalog_in_tree_module_is_a_module_of_the_pinned_talos_config() {
    use sha2::{Digest, Sha256};
    use talos_ext_kernel::config;
    use talos_ext_kernel::kbuild::{Built, built, module_builders};
    use talos_ext_model::toolchain::ToolchainSpec;

    let root = workspace_root();
    let orig = linux_orig(&root);
    let fixture = talos_ext_model::handoff::default_cache_dir(&root).join("test-fixtures/linux-6.18.15-kbuild");
    let started = std::time::Instant::now();
    let src = talos_ext_fs::make_once(&fixture, |dir| -> Result<(), Box<dyn std::error::Error>> {
        talos_ext_process::Command::new("tar")
            .arg("-xJf")
            .arg(&orig)
            .args(["--wildcards", "--strip-components=1", "-C"])
            .arg(dir)
            .args(["*/Makefile", "*/Kbuild"])
            .run()?;
        Ok(())
    });
    let src = src.unwrap_or_else(|e| panic!("unpacking the kbuild files of {}: {e}", orig.display()));
    eprintln!("kbuild files of {}: {} ({:.1?})", orig.display(), src.display(), started.elapsed());

    let ctx = KernelContext::from_env(&root).unwrap();
    let ToolchainSpec::Talos(talos) = ctx.toolchain(TOOLCHAIN).unwrap().spec else {
        panic!("{TOOLCHAIN} is a Talos toolchain")
    };
    let mirror = config_mirror(&root);
    let mut recipes = Vec::new();
    for category in talos_ext_fs::sorted_entries(&root.join("extensions")).unwrap() {
        let Ok(crates) = talos_ext_fs::sorted_entries(&category.path()) else { continue };
        for krate in crates {
            if let Ok(text) = std::fs::read_to_string(krate.path().join("Cargo.toml"))
                && let Some(meta) = talos_ext_model::ExtensionMeta::from_cargo_toml(&text).unwrap()
            {
                recipes.push(meta);
            }
        }
    }
    recipes.sort_by(|a, b| a.name.cmp(&b.name));
    let (mut checked, mut problems) = (0, Vec::new());
    for arch in Arch::ALL {
        let pin = &talos.kernel.config[&arch];
        let bytes = std::fs::read(mirror.join("sha256").join(pin.sha256.as_str())).unwrap();
        assert_eq!(hex::encode(Sha256::digest(&bytes)), pin.sha256.as_str(), "{arch} config in {}", mirror.display());
        let options = config::parse(&String::from_utf8(bytes).unwrap());
        // The check tells the kinds apart on these real files: Talos builds ext4 in and no nouveau.
        let ext4 = module_builders(&src, "kernel/fs/ext4/ext4.ko").unwrap();
        assert_eq!(built(&ext4, &options), Built::BuiltIn("EXT4_FS".into()), "{arch}");
        let nouveau = module_builders(&src, "kernel/drivers/gpu/drm/nouveau/nouveau.ko").unwrap();
        assert_eq!(built(&nouveau, &options), Built::NotBuilt(vec!["DRM_NOUVEAU".into()]), "{arch}");
        for meta in &recipes {
            for module in meta.modules_for(arch) {
                checked += 1;
                let builders = module_builders(&src, module).unwrap();
                match built(&builders, &options) {
                    Built::Module => {}
                    other => {
                        problems.push(format!("{} {arch}: {module}: {other:?} (listed by {builders:?})", meta.name))
                    }
                }
            }
        }
    }
    eprintln!("{checked} in-tree modules of {} recipes checked against the pinned Talos configs", recipes.len());
    assert!(checked > 100, "only {checked} modules found in the catalog");
    assert!(
        problems.is_empty(),
        "in-tree modules the pinned Talos configuration does not build as modules:\n  {}",
        problems.join("\n  ")
    );
}
