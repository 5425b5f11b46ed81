//! Recipe for `kata-containers`: Kata Containers' VM-isolated runtime for containerd, as
//! upstream's extension ships it (facts from siderolabs/extensions 85e5dca2f146,
//! container-runtime/kata-containers/pkg.yaml; our own code and configuration text).
//!
//! - **The prebuilt payload** (`kata-static`, Kata's release tarball for the arch, unpacked by
//!   [`Stage::source`]: its `./opt/kata/` tree, `opt/` stripped): the VMMs `cloud-hypervisor` and
//!   `qemu-system-<arch>` (stripped, as upstream does) in `/usr/local/bin`, `virtiofsd` in
//!   `/usr/local/libexec`, each checked to be a static ELF program for the arch and recorded in
//!   the SBOM as a binary component; the guest kernel `vmlinux.container` and guest image
//!   `kata-containers.img` (links in the tarball, installed as the files they name) in
//!   `/usr/local/share/kata-containers`; QEMU's data directory `share/kata-qemu/qemu` without
//!   the EDK2 images, the firmware descriptors and the ROMs of machines Kata never starts; on
//!   arm64 `AAVMF_CODE.fd`, the UEFI code QEMU boots arm64 guests with.
//! - **QEMU's firmware path**: Kata builds QEMU non-relocatable, so it looks for its data in
//!   `/opt/kata/share/kata-qemu/qemu`, after `<its own dir>/qemu-bundle/<that path>`: the link
//!   `usr/local/bin/qemu-bundle/opt/kata/share/kata-qemu/qemu` points back at the installed data.
//! - **Configuration**: `files/configuration.toml` (the `kata` handler: Cloud Hypervisor) and
//!   `configuration-qemu.toml`, made from the release's own default QEMU configuration with
//!   `/opt/kata` replaced by `/usr/local` and `firmware_volume` emptied (the AAVMF variables
//!   file is not shipped; Kata ignores it for ordinary guests), both in
//!   `/usr/local/share/kata-containers`; the CRI parts `10-kata-containers.part` and
//!   `11-kata-qemu.part` declare the `kata` and `kata-qemu` handlers naming them.
//! - **The shim** `containerd-shim-kata-v2`, built from the release's source tarball
//!   (`kata-containers`, the `[go]` table's source tree) rather than taken from the payload: see
//!   [`build_shim`].

use std::path::{Path, PathBuf};

use talos_ext_build::prelude::*;

/// The CRI parts, each naming one configuration file.
pub const CRI_PARTS: &[&str] = &["10-kata-containers.part", "11-kata-qemu.part"];

/// Where the configuration files, guest kernel and image go.
pub use talos_ext_build::kata::{SHARE, qemu_program};

/// Files of QEMU's data directory that upstream leaves out: UEFI images for other machines, the
/// firmware descriptors naming them, and ROMs of machines Kata's q35/virt guests never use.
pub fn qemu_data_dropped(name: &str) -> bool {
    let glob_prefix = ["edk2-", "hppa-firmware", "s390-", "vof"];
    let exact = ["slof.bin", "qemu_vga.ndrv", "pnv-pnor.bin", "qemu-nsis.bmp"];
    name == "firmware"
        || exact.contains(&name)
        || glob_prefix.iter().any(|p| name.starts_with(p))
        || name.ends_with("_bootrom.bin")
}

/// Kata's default QEMU configuration made to fit this extension: every `/opt/kata` path moved
/// to `/usr/local`, and `firmware_volume` emptied (`talos_ext_build::kata::derive_configuration`,
/// which fails on a release file without a `firmware_volume` line or an `/opt/kata` path).
pub fn qemu_configuration(release: &str) -> Result<String> {
    talos_ext_build::kata::derive_configuration(release, &[("firmware_volume", "\"\"")])
}

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    install_payload(s)?;
    build_shim(s)?;
    s.install(&s.input("files/configuration.toml")?, &format!("{SHARE}/configuration.toml"), 0o644)?;
    for part in CRI_PARTS {
        s.install_cri_part(part)?;
    }
    Ok(())
}

/// The release tarball's files (see the module docs).
fn install_payload(s: &Stage) -> Result<()> {
    let source = s.pinned(talos_ext_build::kata::STATIC_SOURCE)?.clone();
    let kata = talos_ext_build::kata::release_tree(s)?;
    let program = |rel: &str, dest: &str| -> Result<()> {
        let what = format!("`{dest}` (kata-static: opt/kata/{rel})");
        s.install_vendor_program(&what, &source, &kata.join(rel), dest, 0o755, None)
    };
    program("bin/cloud-hypervisor", "usr/local/bin/cloud-hypervisor")?;
    program("libexec/virtiofsd", "usr/local/libexec/virtiofsd")?;

    let qemu = qemu_program(s.arch());
    let stripped = strip_copy(s, &kata.join("bin").join(qemu))?;
    let what = format!("`usr/local/bin/{qemu}` (kata-static: opt/kata/bin/{qemu}, stripped)");
    s.install_vendor_program(&what, &source, &stripped, &format!("usr/local/bin/{qemu}"), 0o755, None)?;

    for name in ["kata-containers.img", "vmlinux.container"] {
        // Links in the release tree (to the versioned file); installed as the file they name.
        s.install(&kata.join("share/kata-containers").join(name), &format!("{SHARE}/{name}"), 0o644)?;
    }

    let data = kata.join("share/kata-qemu/qemu");
    let mut names: Vec<String> = std::fs::read_dir(&data)
        .with_context(|| format!("reading {}", data.display()))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("reading {}", data.display()))?;
    names.sort();
    s.mkdir("usr/local/share/kata-qemu/qemu")?;
    for name in names.iter().filter(|n| !qemu_data_dropped(n)) {
        let path = data.join(name);
        let dest = format!("usr/local/share/kata-qemu/qemu/{name}");
        if path.is_dir() {
            s.install_tree(&path, &dest)?;
        } else {
            s.install(&path, &dest, 0o644)?;
        }
    }
    s.symlink("../../../../../../share/kata-qemu/qemu", "usr/local/bin/qemu-bundle/opt/kata/share/kata-qemu/qemu")?;

    if s.arch() == Arch::Arm64 {
        s.install(&kata.join("share/aavmf/AAVMF_CODE.fd"), "usr/local/share/aavmf/AAVMF_CODE.fd", 0o644)?;
    }

    let defaults = kata.join(talos_ext_build::kata::DEFAULTS).join("configuration-qemu.toml");
    let text = std::fs::read_to_string(&defaults).with_context(|| format!("reading {}", defaults.display()))?;
    let config = qemu_configuration(&text).with_context(|| format!("{}", defaults.display()))?;
    s.install_bytes(&format!("{SHARE}/configuration-qemu.toml"), config.as_bytes(), 0o644)?;
    Ok(())
}

/// A stripped copy of the program `src` in the work directory, made with the arch's `strip`.
fn strip_copy(s: &Stage, src: &Path) -> Result<PathBuf> {
    let dir = s.work_dir().join("stripped");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = src.file_name().context("a program path has a file name")?;
    let out = dir.join(name);
    let strip = s.toolchain()?.strip;
    s.step("strip", &strip, &dir)?
        .arg("--strip-all")
        .arg("-o")
        .arg(&out)
        .arg(src)
        .run()
        .with_context(|| format!("stripping {}", src.display()))?;
    Ok(out)
}

/// The file upstream's `make` generates from its `.in` template before any Go build.
pub const GENERATED: &str = "pkg/katautils/config-settings.go";

/// `containerd-shim-kata-v2`, built from the release's source tarball (source `kata-containers`)
/// as upstream's `make -C src/runtime SKIP_GO_VERSION_CHECK=y containerd-shim-v2` does, with the
/// workspace's pinned Go and hermetic settings instead of the machine's `go`:
///
/// 1. upstream's Makefile generates [`GENERATED`] in the unpacked tree (the runtime's version,
///    commit and default paths for `PREFIX=/usr/local`, as upstream's extension builds it) for
///    the arch: only that target runs;
/// 2. [`Stage::go_build`] builds the `[go]` table's package in the same tree's `src/runtime`
///    module from its `vendor/` directory (`vendor = true`: `-mod=vendor`, `GOPROXY=off`,
///    nothing downloaded; the source's sha256 pin covers every vendored byte), static
///    (`CGO_ENABLED=0`), `-trimpath`, `-ldflags "-s -w -buildid="`: upstream's own ldflags are
///    empty (its `KATA_LDFLAGS` is `-w -s` only with `STRIP=yes`), and its `-buildmode=pie` is
///    left out, because a PIE needs a dynamic loader and this extension's programs are static;
/// 3. the result is checked to be a static ELF program for the arch and installed 0755 in
///    `/usr/local/bin`, where containerd finds the shim of `runtime_type = "io.containerd.kata.v2"`.
fn build_shim(s: &Stage) -> Result<()> {
    let go = s.meta().go.clone().context("kata-containers declares its shim build in [go]")?;
    let name = go.source.clone().context("the shim builds in a pinned source tree (go.source)")?;
    let runtime = s.source(&name)?.join(&go.dir);
    let goarch = talos_ext_build::model::GoToolchain::goarch(s.arch());
    s.step(&format!("kata-generate-{}", s.arch()), "make", &runtime)?
        .args(["SKIP_GO_VERSION_CHECK=y", &format!("ARCH={goarch}"), "PREFIX=/usr/local", GENERATED])
        .run()
        .with_context(|| format!("generating {}/{GENERATED} with upstream's Makefile", go.dir))?;
    if !runtime.join(GENERATED).is_file() {
        bail!("upstream's Makefile did not write {}/{GENERATED}", go.dir);
    }
    for (program, path) in s.go_build()? {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        talos_ext_build::prebuilt::check_payload_elf(&format!("{program} (built)"), &bytes, s.arch(), None)?;
        s.install_bytes(&format!("usr/local/bin/{program}"), &bytes, 0o755)?;
    }
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
