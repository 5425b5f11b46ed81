//! Recipe for `zfs`: OpenZFS at the release siderolabs/pkgs and the upstream extension pin, in
//! three parts, as upstream ships them in one extension:
//!
//! - the kernel modules `spl.ko` and `zfs.ko`: OpenZFS' own `configure --with-config=kernel`
//!   against the extension's kernel toolchain (the prepared tree: `--with-linux` its source,
//!   `--with-linux-obj` its build directory, the tree's ARCH/CROSS_COMPILE/LLVM), then kbuild in
//!   `module/`; stripped, signed and installed under `usr/lib/modules/<release>/extras/` (the
//!   directory zfs-pkg installs them into);
//! - the userland (`zpool`, `zfs`, `zdb`, `zed`, `zinject`, `zstream`, `mount.zfs`, the udev
//!   helpers `zvol_id`/`vdev_id`, ...) with zfs-tools' configure flags (prefix `/usr/local`,
//!   udev helpers in `/usr/local/sbin`, rules in `/usr/lib/udev/rules.d`, no systemd), linked
//!   statically against musl and the internal libtirpc, zlib, util-linux-libs (libblkid,
//!   libuuid) and libcrypto stages; what Talos cannot use is left out (headers, static
//!   libraries, man pages, the test suite, init scripts, dracut and initramfs hooks, Python
//!   tools: there is no Python on a node);
//! - the `zfs-service` extension service: its spec (`files/zfs-service.yaml`) and a small
//!   static C program (`native/zfs-service.c`) that runs `zpool import -a` at start and
//!   `zpool export -a` when stopped (upstream's is Go).

use std::path::Path;

use talos_ext_build::prelude::*;

/// Where Talos runs the `zfs-service` service from (its container root).
const CONTAINER: &str = "usr/local/lib/containers/zfs-service";

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    modules(s)?;
    userland(s)?;
    service(s)
}

/// `spl.ko` and `zfs.ko`, configured and built against the kernel toolchain's tree.
fn modules(s: &Stage) -> Result<()> {
    s.kbuild_modules("zfs")
        .pinned_source("zfs")
        .configure([
            "--with-config=kernel",
            // The arch the modules are for: configure's SIMD checks (HAVE_SSE2, HAVE_AVX2, ...)
            // follow `--host`; without it an arm64 build enables the build machine's x86 code
            // and modpost finds `fletcher_4_sse2_ops` and the like undefined.
            "--host={host}",
            // configure's own compiler check links a program, and there is no target libc here
            // (kbuild compiles the modules with the tree's compiler): the build machine's gcc.
            "CC=gcc",
            "--with-linux={kernel_source}",
            "--with-linux-obj={kernel_build}",
            "KERNEL_ARCH={kernel_arch}",
            "KERNEL_CROSS_COMPILE={cross_compile}",
            "KERNEL_LLVM={llvm}",
        ])
        .subdir("module")
        // What module/Makefile's `modules-Linux` passes to kbuild.
        .make_arg("CONFIG_ZFS=m")
        .expect_modules(["spl.ko", "zfs.ko"])
        .run()?;
    Ok(())
}

/// The x86_64 assembly routines of OpenZFS' ICP (libicp, linked into libzpool) that OpenSSL's
/// libcrypto defines under the same names with other arguments (both come from OpenSSL's
/// `ghash-x86_64.pl` and `aesni-gcm-x86_64.pl`, ICP's changed). A static link of both (zdb,
/// ztest, zhack) fails on the duplicates; renamed in the userland build, on every arch (the names
/// only occur in x86_64 code). The kernel modules do not link libcrypto and keep the names.
const ICP_RENAMED: [&str; 5] =
    ["aesni_gcm_encrypt", "aesni_gcm_decrypt", "gcm_gmult_clmul", "gcm_gmult_avx", "gcm_ghash_avx"];

/// The programs, their helper scripts and configuration, and the udev rules.
fn userland(s: &Stage) -> Result<()> {
    for lib in ["libtirpc", "zlib", "util-linux-libs", "libcrypto"] {
        s.use_library(lib)?;
    }
    let src = s.source("zfs")?;
    let built = s
        .autotools("zfs-tools", &src)
        .configure_args([
            // zfs-tools' own flags.
            "--with-config=user",
            "--with-udevdir=/usr/local/sbin",
            "--with-udevruledir=/usr/lib/udev/rules.d",
            "--disable-code-coverage",
            "--disable-systemd",
            // Everything else a Talos node has no use for, or that would install outside the
            // paths Talos allows (mount.zfs goes to /sbin by default).
            "--with-mounthelperdir=/usr/local/sbin",
            "--with-dracutdir=/usr/local/lib/dracut",
            "--disable-sysvinit",
            "--disable-pam",
            "--disable-pyzfs",
            "--with-python=no",
            "--disable-nls",
        ])
        // CFLAGS reach the assembly too (automake's CCASFLAGS defaults to them).
        .cflags(ICP_RENAMED.iter().map(|name| format!("-D{name}=zfs_icp_{name}")))
        .dest(Dest::Scratch)
        .run()?;
    let mut shipped = 0;
    for dir in ["sbin", "bin", "libexec/zfs", "etc/zfs"] {
        let from = built.installed(dir)?;
        if from.is_dir() {
            shipped += s.install_tree(&from, &format!("usr/local/{dir}"))?.len();
        }
    }
    for program in ["zpool", "zfs", "zdb", "zed", "mount.zfs", "zvol_id"] {
        if !s.rootfs().join("usr/local/sbin").join(program).is_file() {
            bail!("zfs-tools did not install sbin/{program} ({shipped} files shipped)");
        }
    }
    install_udev_rules(s, &built.installed_at("/usr/lib/udev/rules.d")?)
}

/// The udev rules upstream installs (`60-zvol.rules`, `69-vdev.rules`, `90-zfs.rules`).
fn install_udev_rules(s: &Stage, dir: &Path) -> Result<()> {
    let rules = s.install_tree(dir, "usr/lib/udev/rules.d")?;
    if rules.is_empty() {
        bail!("zfs-tools installed no udev rules into {}", dir.display());
    }
    Ok(())
}

/// The `zfs-service` extension service: spec, program, container root.
fn service(s: &Stage) -> Result<()> {
    let program = s.compile_program("zfs-service", &["native/zfs-service.c"])?;
    s.mkdir(CONTAINER)?;
    s.install(&program, &format!("{CONTAINER}/zfs-service"), 0o755)?;
    s.install(&s.input("files/zfs-service.yaml")?, "usr/local/etc/containers/zfs-service.yaml", 0o644)?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
