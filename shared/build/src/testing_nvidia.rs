//! The shared tests of the NVIDIA GPU kernel module extensions ([`crate::nvidia`]): the open modules'
//! `nvidia-open-gpu-kernel-modules-lts` and `-production`, and the proprietary modules'
//! `nonfree-kmod-nvidia-lts` and `-production` (four recipes of one module,
//! `talos_ext_build::nvidia`, two trees under two branches' pins).
//!
//! NVIDIA's driver archives are not reachable offline. The real builds take Debian's packages of
//! the 550.163.01 release instead (a nearby release, listed in `extensions/test-overrides.toml`):
//! `nvidia-open-kernel-source` for `kernel-open/` ([`OPEN`]) and `nvidia-kernel-source` (non-free)
//! for `kernel/` ([`PROPRIETARY`]), each NVIDIA's tree as Debian ships it, with the OS-agnostic
//! cores (`nv-kernel.o_binary`, `nv-modeset-kernel.o_binary`) for the arch, laid out as the driver
//! archive lays out that tree. Debian has no gdrcopy source at all, and gds-nvidia-fs only as
//! `nvidia-fs-dkms` 2.19.7 in non-free (binary, amd64 only, not the GitHub release's layout): the
//! real builds leave gdrdrv.ko and nvidia-fs.ko out and say so; the smoke tests check that the
//! whole recipe needs those pinned sources. Each crate's `tests/staged.rs` is one
//! [`nvidia_kernel_module_tests!`](crate::nvidia_kernel_module_tests) line.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use talos_ext_model::{Arch, Pin};

use super::{Pins, Staged, TestOptions, assert_no_work_done, extract_debs, meta, mode, stage_with};
use crate::kernel::{KernelOverrides, with_overrides};
use crate::step::Command;
use crate::validate::{Options, validate_dir};
use crate::{SourceOverride, Stage, nvidia, sbom};

/// The kernel toolchain of the real builds (the Talos kernel needs network).
pub const TOOLCHAIN: &str = "debian-6.12";
/// The version of Debian's packages of NVIDIA's module trees.
pub const DEBIAN_VERSION: &str = "550.163.01-2";
/// The NVIDIA release the real build compiles (what the modules' `version` says).
pub const TESTED_DRIVER: &str = "550.163.01";

fn root() -> PathBuf {
    Pin::find_workspace_root(Path::new(env!("CARGO_MANIFEST_DIR"))).expect("workspace root")
}

/// What differs between the real builds of the two module trees.
pub struct Tree {
    pub modules: nvidia::DriverModules,
    /// Debian's binary package carrying the tree, and the tarball in it (whose
    /// `modules/<name>/` directory is the tree).
    pub debian_package: &'static str,
    pub tarball: &'static str,
    /// The `MODULE_LICENSE` of each of [`nvidia::DRIVER_MODULES`].
    pub licenses: [&'static str; 5],
    /// The whole recipe's pins beyond the driver archive, which the real build leaves out.
    pub left_out: &'static [(&'static str, &'static str)],
    /// Fix-ups of the older release for Debian's newer kernel: file (in the tree), text, new text.
    pub fixups: &'static [(&'static str, &'static str, &'static str)],
}

/// 6.12.117 backported the fourth argument of `pci_resize_resource` (`exclude_bars`), which
/// 550.163.01's open modules predate (the build fails with "too few arguments" without it); 0
/// excludes no BAR, the call's old meaning. The proprietary tree of that release does not call it.
const PCI_RESIZE_FIXUP: (&str, &str, &str) = (
    "nvidia/nv-pci.c",
    "pci_resize_resource(pci_dev, NV_GPU_BAR1, requested_size)",
    "pci_resize_resource(pci_dev, NV_GPU_BAR1, requested_size, 0)",
);

/// The open modules (`kernel-open/`).
pub const OPEN: Tree = Tree {
    modules: nvidia::OPEN,
    debian_package: "nvidia-open-kernel-source",
    tarball: "usr/src/nvidia-open-kernel.tar.xz",
    licenses: ["Dual MIT/GPL", "Dual MIT/GPL", "Dual MIT/GPL", "Dual MIT/GPL", "Dual BSD/GPL"],
    left_out: &[(nvidia::GDRCOPY_SOURCE, "gdrdrv.ko"), (nvidia::NVIDIA_FS_SOURCE, "nvidia-fs.ko")],
    fixups: &[PCI_RESIZE_FIXUP],
};

/// The proprietary modules (`kernel/`).
pub const PROPRIETARY: Tree = Tree {
    modules: nvidia::PROPRIETARY,
    debian_package: "nvidia-kernel-source",
    tarball: "usr/src/nvidia-kernel.tar.xz",
    licenses: ["NVIDIA", "Dual MIT/GPL", "NVIDIA", "MIT", "Linux-OpenIB"],
    left_out: &[(nvidia::NVIDIA_FS_SOURCE, "nvidia-fs.ko")],
    fixups: &[],
};

impl Tree {
    /// Debian's package of the tree for `arch` (`nvidia-open-kernel-source:arm64=...`).
    pub fn debian_spec(&self, arch: Arch) -> String {
        format!("{}:{arch}={DEBIAN_VERSION}", self.debian_package)
    }

    /// A directory shaped like the unpacked driver archive (the tree's directory at its top)
    /// for `arch`, from Debian's package of that arch, made once in the workspace cache. `fetch`
    /// fetches [`Tree::debian_spec`]'s package with [`super::debian_deb`] (called in the test
    /// macro's body, where the tidy test looks for the real-build helpers).
    pub fn stand_in(&self, arch: Arch, fetch: impl FnOnce() -> Result<PathBuf>) -> PathBuf {
        let package = self.debian_package;
        let core = format!("{}/nvidia/nv-kernel.o_binary", self.modules.subdir);
        let started = Instant::now();
        let made = super::test_fixture(&format!("{package}-{DEBIAN_VERSION}/{arch}"), |tree| {
            let deb = fetch().with_context(|| self.debian_spec(arch))?;
            let debs = tempfile::tempdir_in(tree.parent().unwrap_or(tree))?;
            extract_debs(&[deb], debs.path())?;
            let out = tree.join(self.modules.subdir);
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            // The package's tarball holds `modules/<name>/`: that directory is the tree.
            Command::new("tar")
                .args(["-xJf"])
                .arg(debs.path().join(self.tarball))
                .args(["--strip-components=2", "-C"])
                .arg(&out)
                .read()?;
            anyhow::ensure!(tree.join(&core).is_file(), "{package} has no nvidia/nv-kernel.o_binary");
            eprintln!("{package} {DEBIAN_VERSION} ({arch}): fetched and unpacked in {:.1?}", started.elapsed());
            Ok(())
        });
        made.unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// The part of the recipe the real build can run here: NVIDIA's modules (with
    /// [`Tree::fixups`]) and the modprobe configuration, without the pins of [`Tree::left_out`]
    /// (no usable source offline, see the module docs).
    pub fn modules_only(&self, s: &mut Stage) -> Result<()> {
        let mut build = nvidia::driver_modules_build(s, self.modules)?;
        for (file, from, to) in self.fixups {
            build = build.replace(&format!("{}/{file}", self.modules.subdir), from, to);
        }
        build.run()?;
        nvidia::install_modprobe_conf(s)
    }

    /// What the real build leaves out, for messages: `gdrdrv.ko and nvidia-fs.ko`.
    fn left_out_modules(&self) -> String {
        self.left_out.iter().map(|(_, ko)| *ko).collect::<Vec<_>>().join(" and ")
    }
}

/// `modinfo -F <field> <file>` with kmod's modinfo.
pub fn modinfo(field: &str, ko: &Path) -> String {
    let out = Command::new("modinfo").args(["-F", field]).arg(ko).hint("apt-get install kmod").read();
    out.unwrap_or_else(|e| panic!("{e}")).trim().to_string()
}

/// Stages the NVIDIA modules of `manifest_dir`'s recipe (of `tree`) for `arch` from the stand-in
/// ([`Tree::stand_in`], whose package `fetch` fetches) in place of the driver archive, against
/// Debian's 6.12 kernel, and checks everything the staged tree must hold.
pub fn check_real_build(
    tree: &Tree,
    manifest_dir: &str,
    upstream_version: &str,
    arch: Arch,
    fetch: impl FnOnce() -> Result<PathBuf>,
) {
    let name = meta(manifest_dir).unwrap().name;
    let driver = SourceOverride {
        extension: name.clone(),
        source: Some(nvidia::DRIVER_SOURCE.into()),
        path: tree.stand_in(arch, fetch),
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = TestOptions::from_env().unwrap();
    opts.overrides = vec![driver];
    opts.work_dir = Some(tmp.path().join("work"));
    let debian = KernelOverrides { toolchain: Some(TOOLCHAIN.into()), ..Default::default() };
    let started = Instant::now();
    let recipe: crate::script::Recipe =
        if tree.modules == nvidia::OPEN { |s| OPEN.modules_only(s) } else { |s| PROPRIETARY.modules_only(s) };
    let s = with_overrides(debian, || stage_with(manifest_dir, recipe, arch, &opts))
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    eprintln!(
        "{name} {arch}: staged in {:.1?} (NVIDIA {TESTED_DRIVER} from Debian's {} {DEBIAN_VERSION}, not the pinned \
         {upstream_version}; {} left out)",
        started.elapsed(),
        tree.debian_package,
        tree.left_out_modules()
    );
    assert_eq!(s.overridden_sources, [nvidia::DRIVER_SOURCE], "only the driver archive is not the pin");
    let pin = Pin::load(&root()).unwrap();
    let manifest = std::fs::read_to_string(s.dir.join("manifest.yaml")).unwrap();
    assert!(
        manifest.contains(&format!("  name: {name}\n  version: {upstream_version}-{}\n", pin.talos.tag)),
        "{manifest}"
    );
    check_modules(tree, &s, arch);
    check_modprobe_conf(&s);
    let sbom = std::fs::read_to_string(s.rootfs(&sbom::spdx_path(&name))).unwrap();
    assert!(sbom.contains(&format!("\"name\": \"{name}\",")), "{sbom}");
    let report = validate_dir(
        &s.dir,
        &Options { strict: true, pkg_name: Some(name.clone()), talos_version: pin.talos.tag, kernel: None },
    )
    .unwrap();
    assert!(report.is_ok(), "{report}");
    print_size(&s, &name, arch);
}

fn check_modules(tree: &Tree, s: &Staged, arch: Arch) {
    let install_dir = tree.modules.install_dir;
    let modules: Vec<String> = nvidia::DRIVER_MODULES.iter().map(|m| format!("{install_dir}/{m}.ko")).collect();
    let rels: Vec<&str> = modules.iter().map(String::as_str).collect();
    // Signed with the toolchain key, stripped, vermagic, ELF machine, no build paths.
    let cache = TestOptions::from_env().unwrap().fetch.cache_dir;
    let (release, versions) = super::check_out_of_tree_modules(s, arch, TOOLCHAIN, &cache, &rels);
    // Only the tree's modules: what the build leaves out (gdrdrv.ko, nvidia-fs.ko, which would go
    // to extras/) is said rather than hidden.
    let dir = s.rootfs("usr/lib/modules").join(&release);
    let installed: Vec<String> = walk_files(&dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "ko"))
        .map(|p| p.strip_prefix(&dir).unwrap().display().to_string())
        .collect();
    let mut want = modules.clone();
    want.sort();
    assert_eq!(installed, want, "usr/lib/modules/{release}/");
    for (rel, license) in modules.iter().zip(tree.licenses) {
        assert_eq!(modinfo("license", &dir.join(rel)), license, "{rel}");
    }
    // nvidia.ko carries the driver release; the others depend on it as upstream's do.
    assert_eq!(versions[0], TESTED_DRIVER, "{}", modules[0]);
    let ko = |m: &str| dir.join(format!("{install_dir}/{m}.ko"));
    for (module, needs) in [("nvidia-uvm", "nvidia"), ("nvidia-modeset", "nvidia"), ("nvidia-drm", "nvidia-modeset")] {
        let depends = modinfo("depends", &ko(module));
        assert!(depends.split(',').any(|d| d == needs), "{module} depends on {needs}: {depends:?}");
    }
    eprintln!("{arch}: left out {}: no usable source offline", tree.left_out_modules());
}

/// The files below `dir`, sorted.
fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap().map(Result::unwrap) {
            if entry.file_type().unwrap().is_dir() {
                dirs.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files
}

fn check_modprobe_conf(s: &Staged) {
    let path = s.rootfs(nvidia::MODPROBE_CONF_PATH);
    assert_eq!(mode(&path), 0o644);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, nvidia::MODPROBE_CONF);
    let blacklisted: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("blacklist ")).collect();
    assert_eq!(blacklisted, ["nvidia", "nvidia_uvm", "nvidia_modeset", "nvidia_drm"]);
}

/// Prints the staged tree's size (what the README's table records).
fn print_size(s: &Staged, name: &str, arch: Arch) {
    let out = Command::new("du").args(["-sb"]).arg(s.dir.join("rootfs")).read().unwrap();
    eprintln!("{name} {arch}: rootfs {} bytes", out.split_whitespace().next().unwrap_or("?"));
}

/// Offline, with no mirror and an empty cache: staging the whole recipe fails before any work,
/// naming the arch's driver archive as pinned.
pub fn check_fails_naming_the_driver_archive(manifest_dir: &str, recipe: crate::script::Recipe) {
    for arch in Arch::ALL {
        let (cache, opts) = TestOptions::offline_empty().unwrap();
        let meta = meta(manifest_dir).unwrap();
        let pinned = meta.source(nvidia::DRIVER_SOURCE, arch).expect("a driver archive for every arch");
        let err = stage_with(manifest_dir, recipe, arch, &opts).expect_err("offline");
        let msg = format!("{err:#}");
        let names = format!("source `{}` of extension `{}`", nvidia::DRIVER_SOURCE, meta.name);
        assert!(msg.contains(&names), "{msg}");
        assert!(msg.contains(&pinned.url) && msg.contains(pinned.sha256.as_str()), "{msg}");
        assert_no_work_done(cache.path(), &["stand-in"]);
    }
}

/// With a stand-in driver tree but none of the other pinned sources, the whole recipe fails
/// before building anything, naming the first of [`Tree::left_out`]'s pins (gdrcopy for the open
/// modules, gds-nvidia-fs for the proprietary ones): it never ships the NVIDIA modules alone.
pub fn check_needs_the_other_pins_before_building(tree: &Tree, manifest_dir: &str, recipe: crate::script::Recipe) {
    let (cache, mut opts) = TestOptions::offline_empty().unwrap();
    let meta = meta(manifest_dir).unwrap();
    let stand_in = cache.path().join("stand-in");
    std::fs::create_dir_all(stand_in.join(tree.modules.subdir)).unwrap();
    opts.overrides = vec![SourceOverride {
        extension: meta.name.clone(),
        source: Some(nvidia::DRIVER_SOURCE.into()),
        path: stand_in,
    }];
    let (source, _) = tree.left_out[0];
    let pinned = meta.source(source, Arch::Amd64).unwrap_or_else(|| panic!("{source} is pinned"));
    let err = stage_with(manifest_dir, recipe, Arch::Amd64, &opts).expect_err("no other pins offline");
    let msg = format!("{err:#}");
    assert!(msg.contains(&format!("source `{source}` of extension `{}`", meta.name)), "{msg}");
    assert!(msg.contains(&pinned.url) && msg.contains(pinned.sha256.as_str()), "{msg}");
    assert_no_work_done(cache.path(), &["stand-in"]);
}

/// The metadata says what siderolabs/pkgs' module package pins: one driver archive per arch
/// (`linux-x86_64`, `linux-sbsa`) of `version`, and for both arches the pins of
/// [`Tree::left_out`] and no others.
pub fn check_metadata(tree: &Tree, manifest_dir: &str, version: &str) {
    let meta = meta(manifest_dir).unwrap();
    for (arch, dir) in [(Arch::Amd64, "linux-x86_64"), (Arch::Arm64, "linux-sbsa")] {
        let driver = meta.source(nvidia::DRIVER_SOURCE, arch).expect("driver archive");
        assert!(
            driver.url.ends_with(&format!("/{dir}/nvidia_driver-{dir}-{version}-archive.tar.xz")),
            "{}",
            driver.url
        );
        let mut names: Vec<&str> = meta.sources_for(arch).map(|s| s.name.as_str()).collect();
        names.sort();
        let mut want: Vec<&str> = tree.left_out.iter().map(|(source, _)| *source).collect();
        want.push(nvidia::DRIVER_SOURCE);
        want.sort();
        assert_eq!(names, want, "{arch}");
    }
    let tag = Pins::load().unwrap().pin.talos.tag;
    assert_eq!(meta.version_string(&tag), format!("{version}-{tag}"));
}

/// The tests of an NVIDIA GPU kernel module crate, `tree` ([`OPEN`] or [`PROPRIETARY`]) pinned at
/// driver `version`: its whole `tests/staged.rs` is
/// `talos_ext_build::nvidia_kernel_module_tests!(OPEN, build::recipe, "580.178.04");` (with its
/// `build.rs` included as `mod build`). The metadata ([`check_metadata`]), the offline
/// fail-fast naming the driver archive and then the next pin, and (tier full) the real build per
/// arch from Debian's 550.163.01 package of the tree ([`check_real_build`]).
#[macro_export]
macro_rules! nvidia_kernel_module_tests {
    ($tree:ident, $recipe:path, $version:literal) => {
        #[test]
        fn metadata_pins_a_driver_archive_per_arch_and_the_other_sources_upstream_builds() {
            let tree = &$crate::testing::nvidia::$tree;
            $crate::testing::nvidia::check_metadata(tree, env!("CARGO_MANIFEST_DIR"), $version);
        }

        #[test]
        fn offline_the_recipe_fails_before_any_work_naming_the_driver_archive() {
            $crate::testing::nvidia::check_fails_naming_the_driver_archive(env!("CARGO_MANIFEST_DIR"), $recipe);
        }

        #[test]
        fn offline_with_a_stand_in_driver_the_recipe_fails_naming_the_next_pin_before_building() {
            let tree = &$crate::testing::nvidia::$tree;
            $crate::testing::nvidia::check_needs_the_other_pins_before_building(
                tree,
                env!("CARGO_MANIFEST_DIR"),
                $recipe,
            );
        }

        #[test]
        #[ignore = "tier full: NVIDIA's modules of the 550.163.01 driver (Debian's package of the tree) for amd64 against Debian 6.12, without the pins Debian has no source for (about 10 min on 2 loaded cores)"]
        fn tier_full_amd64_nvidia_modules_from_debian_550_163_01() {
            let (tree, arch) = (&$crate::testing::nvidia::$tree, $crate::Arch::Amd64);
            let fetch = || $crate::testing::debian_deb(&tree.debian_spec(arch));
            $crate::testing::nvidia::check_real_build(tree, env!("CARGO_MANIFEST_DIR"), $version, arch, fetch);
        }

        #[test]
        #[ignore = "tier full: NVIDIA's modules of the 550.163.01 driver (Debian's package of the tree) for arm64 (cross) against Debian 6.12, without the pins Debian has no source for (about 10 min on 2 loaded cores)"]
        fn tier_full_arm64_nvidia_modules_from_debian_550_163_01() {
            let (tree, arch) = (&$crate::testing::nvidia::$tree, $crate::Arch::Arm64);
            let fetch = || $crate::testing::debian_deb(&tree.debian_spec(arch));
            $crate::testing::nvidia::check_real_build(tree, env!("CARGO_MANIFEST_DIR"), $version, arch, fetch);
        }
    };
}
