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
    let debian = talos_ext_debian::workspace_cache(&root);
    let repo = talos_ext_debian::Repo::sources(&debian, &["trixie-backports"], &["main"]);
    let orig = repo
        .fetch_upstream_tarball(LINUX.0, LINUX.1, &debian.join("pool"))
        .unwrap_or_else(|e| panic!("Debian's linux {}: {e}", LINUX.1));
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
