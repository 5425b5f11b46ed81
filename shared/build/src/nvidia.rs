//! NVIDIA's GPU kernel modules, the one recipe of the `nvidia-open-gpu-kernel-modules-*`
//! extensions (the open modules) and of the `nonfree-kmod-nvidia-*` extensions (the proprietary
//! ones); the LTS and production branches differ only by their pins, so the steps live here.
//!
//! The recipes pin these sources (the names below), as siderolabs/pkgs' module packages do:
//! - [`DRIVER_SOURCE`], NVIDIA's redistributable driver archive for the arch (`linux-x86_64`,
//!   `linux-sbsa`). It holds two trees of the same five modules ([`DRIVER_MODULES`]), each the
//!   kernel interface layers around prebuilt OS-agnostic cores (`nvidia/nv-kernel.o_binary`,
//!   `nvidia-modeset/nv-modeset-kernel.o_binary`): [`OPEN`] (`kernel-open/`, MIT/GPL) and
//!   [`PROPRIETARY`] (`kernel/`, NVIDIA's licence). kbuild runs as the tree's own `Makefile`
//!   runs it (`NV_KERNEL_SOURCES`, `NV_KERNEL_OUTPUT`, `NV_KERNEL_MODULES`, its pahole wrapper);
//!   the open modules go where that Makefile's `INSTALL_MOD_DIR` default puts them,
//!   `kernel/drivers/video/`, the proprietary ones into `extras/` as siderolabs/pkgs installs them;
//! - [`GDRCOPY_SOURCE`] (open only), gdrcopy's `src/gdrdrv` (`gdrdrv.ko`), built against the
//!   `nvidia` module's sources just built; into `extras/`;
//! - [`NVIDIA_FS_SOURCE`], GPUDirect Storage's `src` (`nvidia-fs.ko`), configured for the
//!   kernel release and linked against the NVIDIA modules' `Module.symvers`; into `extras/`.
//!
//! Every source is resolved before the first build, so a missing pin fails in seconds, naming
//! it, rather than after NVIDIA's long build. Both extensions also ship
//! [`MODPROBE_CONF_PATH`] ([`MODPROBE_CONF`]).
//!
//! ```no_run
//! # use talos_ext_build::prelude::*;
//! fn recipe(s: &mut Stage) -> Result<()> {
//!     talos_ext_build::nvidia::open_gpu_kernel_modules(s)
//! }
//! ```

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::kernel::{KbuildModules, KbuildReport};
use crate::stage::Stage;

/// The pinned per-arch driver archive (its `kernel-open/` is built).
pub const DRIVER_SOURCE: &str = "nvidia-driver";
/// The pinned gdrcopy release (`src/gdrdrv`).
pub const GDRCOPY_SOURCE: &str = "gdrcopy";
/// The pinned gds-nvidia-fs release (`src`).
pub const NVIDIA_FS_SOURCE: &str = "gds-nvidia-fs";

/// The modules each tree of the driver archive builds (its Makefile's `NV_KERNEL_MODULES`,
/// without the vGPU host module, which the driver archive does not carry).
pub const DRIVER_MODULES: [&str; 5] = ["nvidia", "nvidia-uvm", "nvidia-modeset", "nvidia-drm", "nvidia-peermem"];
/// Where gdrdrv and nvidia-fs go (siderolabs/pkgs' `INSTALL_MOD_DIR=extras`), and the
/// proprietary modules too.
pub const EXTRAS_INSTALL_DIR: &str = "extras";

/// One of the driver archive's module trees and where a recipe installs its modules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverModules {
    /// The tree's directory in the archive.
    pub subdir: &'static str,
    /// Where its modules go under `usr/lib/modules/<release>/`.
    pub install_dir: &'static str,
}

/// The open modules (`kernel-open/`), installed where NVIDIA's `INSTALL_MOD_DIR` default puts
/// them.
pub const OPEN: DriverModules = DriverModules { subdir: "kernel-open", install_dir: "kernel/drivers/video" };
/// The proprietary modules (`kernel/`), installed into `extras/` as siderolabs/pkgs does.
pub const PROPRIETARY: DriverModules = DriverModules { subdir: "kernel", install_dir: EXTRAS_INSTALL_DIR };

/// The modprobe configuration both extensions ship.
pub const MODPROBE_CONF_PATH: &str = "usr/local/lib/modprobe.d/nvidia.conf";
/// Its text: the GPU modules are not loaded by udev's device aliases, only when the machine
/// configuration names them, as the upstream extension does (same module names as the
/// proprietary driver's extension, and a load in the order and with the parameters the user
/// chose).
pub const MODPROBE_CONF: &str = "\
# Shipped by the NVIDIA GPU kernel module extensions (open and proprietary modules).
#
# Talos loads these modules when the machine configuration lists them (machine.kernel.modules),
# in that order and with the parameters given there. The lines below only stop udev from
# loading them on its own when an NVIDIA device appears: a blacklist applies to alias lookups,
# never to a module loaded by its name.
blacklist nvidia
blacklist nvidia_uvm
blacklist nvidia_modeset
blacklist nvidia_drm
";

/// The whole recipe of the open modules: every source resolved first, then `kernel-open/`,
/// gdrdrv, nvidia-fs and the modprobe configuration.
pub fn open_gpu_kernel_modules(s: &Stage) -> Result<()> {
    for name in [DRIVER_SOURCE, GDRCOPY_SOURCE, NVIDIA_FS_SOURCE] {
        s.source(name)?;
    }
    let nvidia = driver_modules(s, OPEN)?;
    gdrdrv(s, &nvidia)?;
    nvidia_fs(s, &nvidia)?;
    install_modprobe_conf(s)
}

/// The whole recipe of the proprietary modules: every source resolved first, then `kernel/`,
/// nvidia-fs and the modprobe configuration (siderolabs/pkgs builds no gdrdrv here).
pub fn proprietary_kernel_modules(s: &Stage) -> Result<()> {
    for name in [DRIVER_SOURCE, NVIDIA_FS_SOURCE] {
        s.source(name)?;
    }
    let nvidia = driver_modules(s, PROPRIETARY)?;
    nvidia_fs(s, &nvidia)?;
    install_modprobe_conf(s)
}

/// `which` tree of [`DRIVER_SOURCE`]: the five modules of [`DRIVER_MODULES`], built, stripped,
/// signed and installed into its `install_dir`.
pub fn driver_modules(s: &Stage, which: DriverModules) -> Result<KbuildReport> {
    driver_modules_build(s, which)?.run()
}

/// The [`driver_modules`] build, not yet run: for a caller that adds fix-ups
/// ([`KbuildModules::replace`]), e.g. a test building an older release against a newer kernel.
pub fn driver_modules_build(s: &Stage, which: DriverModules) -> Result<KbuildModules<'_>> {
    let pahole = pahole_wrapper(s)?;
    let expect: Vec<String> = DRIVER_MODULES.iter().map(|m| format!("{m}.ko")).collect();
    Ok(s.kbuild_modules("nvidia")
        .pinned_source(DRIVER_SOURCE)
        .subdir(which.subdir)
        .make_arg("NV_KERNEL_SOURCES={kernel_source}")
        .make_arg("NV_KERNEL_OUTPUT={kernel_build}")
        .make_arg(&format!("NV_KERNEL_MODULES={}", DRIVER_MODULES.join(" ")))
        .make_arg("NV_SPECTRE_V2=0")
        .make_arg(&format!("PAHOLE={}", pahole.display()))
        .expect_modules(expect)
        .install_dir(which.install_dir))
}

/// gdrcopy's `gdrdrv.ko`, built against the `nvidia` module's sources of `nvidia` (the
/// [`OPEN`] build), with the settings siderolabs/pkgs passes.
pub fn gdrdrv(s: &Stage, nvidia: &KbuildReport) -> Result<KbuildReport> {
    let nvidia_src = nvidia.module_dir.join("nvidia");
    s.kbuild_modules("gdrdrv")
        .pinned_source(GDRCOPY_SOURCE)
        .subdir("src/gdrdrv")
        .make_arg(&format!("NVIDIA_SRC_DIR={}", nvidia_src.display()))
        .make_arg("NVIDIA_IS_OPENSOURCE=y")
        .make_arg("HAVE_VM_FLAGS_SET=y")
        .make_arg("HAVE_PROC_OPS=y")
        .make_arg("KDIR={kernel_build}")
        .expect_modules(["gdrdrv.ko"])
        .install_dir(EXTRAS_INSTALL_DIR)
        .run()
}

/// GPUDirect Storage's `nvidia-fs.ko`: its `src/configure <release>`, then kbuild with the
/// NVIDIA modules' `Module.symvers` and the features siderolabs/pkgs enables.
pub fn nvidia_fs(s: &Stage, nvidia: &KbuildReport) -> Result<KbuildReport> {
    let src = s.source(NVIDIA_FS_SOURCE)?.join("src");
    let version = release_version(&s.pinned(NVIDIA_FS_SOURCE)?.url)?;
    let symvers = nvidia.module_dir.join("Module.symvers");
    if !symvers.is_file() {
        bail!("nvidia-fs: the NVIDIA modules' build left no {}", symvers.display());
    }
    s.kbuild_modules("nvidia-fs")
        .source_dir(&src)
        .configure([nvidia.release.as_str()])
        .make_arg(&format!("KBUILD_EXTRA_SYMBOLS={}", symvers.display()))
        // In KCPPFLAGS (kbuild passes them to every C compile too): KCFLAGS carries the build's
        // -ffile-prefix-map.
        .make_arg(&format!(
            "KCPPFLAGS=-Wno-strict-prototypes -DCONFIG_NVFS_STATS=y -DGDS_VERSION={version} -DNVFS_ENABLE_KERN_RDMA_SUPPORT -DNVFS_BATCH_SUPPORT=y"
        ))
        .expect_modules(["nvidia-fs.ko"])
        .install_dir(EXTRAS_INSTALL_DIR)
        .run()
}

/// Installs [`MODPROBE_CONF`] as [`MODPROBE_CONF_PATH`].
pub fn install_modprobe_conf(s: &Stage) -> Result<()> {
    s.install_bytes(MODPROBE_CONF_PATH, MODPROBE_CONF.as_bytes(), 0o644)
}

/// The release of a GitHub tag archive URL (`.../tags/v2.29.4.tar.gz` -> `2.29.4`).
fn release_version(url: &str) -> Result<String> {
    let file = url.rsplit('/').next().unwrap_or_default();
    let version = file.strip_suffix(".tar.gz").unwrap_or(file).trim_start_matches('v');
    if version.is_empty() || !version.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) {
        bail!("cannot read a release version (`2.29.4`) from the source URL {url}");
    }
    Ok(version.to_string())
}

/// A `pahole` for kbuild's module BTF step that does what the driver's `Makefile` (both trees)
/// passes on kernels without `scripts/pahole-flags.sh` (6.7 and later): C++ is added to the
/// languages left out of BTF (the prebuilt cores carry C++ debug information), and pahole's
/// exit status is ignored (nvidia-modeset's DWARF has tags older pahole releases reject).
fn pahole_wrapper(s: &Stage) -> Result<std::path::PathBuf> {
    let path = s.work_dir().join("nvidia-pahole");
    let script = "#!/bin/sh\n\
        # pahole for NVIDIA's modules (see talos_ext_build::nvidia).\n\
        n=$#\n\
        while [ \"$n\" -gt 0 ]; do\n\
        \targ=$1; shift; n=$((n - 1))\n\
        \tcase $arg in --lang_exclude=*) arg=\"$arg,c++,c++11\" ;; esac\n\
        \tset -- \"$@\" \"$arg\"\n\
        done\n\
        pahole \"$@\"\n\
        exit 0\n";
    write_executable(&path, script)?;
    Ok(path)
}

fn write_executable(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} executable", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_release_of_a_tag_archive() {
        let url = "https://github.com/NVIDIA/gds-nvidia-fs/archive/refs/tags/v2.29.4.tar.gz";
        assert_eq!(release_version(url).unwrap(), "2.29.4");
        let err = release_version("https://example.org/archive/main.tar.gz").unwrap_err();
        assert!(err.to_string().contains("main.tar.gz"), "{err}");
    }

    #[test]
    fn the_modprobe_configuration_blacklists_every_gpu_module_by_its_loaded_name() {
        for module in ["nvidia", "nvidia-uvm", "nvidia-modeset", "nvidia-drm"] {
            let line = format!("\nblacklist {}\n", module.replace('-', "_"));
            assert!(MODPROBE_CONF.contains(&line), "{module}");
        }
        assert!(!MODPROBE_CONF.contains("peermem"), "nvidia-peermem loads with its dependencies");
    }
}
