//! Recipe for `glibc`: the GNU C library, for the glibc-linked payloads other extensions carry
//! (upstream layers this stage into nvidia-container-toolkit and nvidia-fabricmanager). Built as
//! upstream's `misc/glibc/pkg.yaml` does (siderolabs/extensions 085bc2b7b241): configured in a
//! separate build directory with prefix `/usr/local/glibc` and libraries in
//! `/usr/local/glibc/usr/lib`, installed into a merged-usr tree (`bin`, `lib`, `lib64`, `sbin`
//! linked into `usr/`), with `etc/ld.so.conf` naming the library directory, the loader linked at
//! `/usr/lib/<loader>` and `ldconfig` at `/usr/bin/ldconfig`; headers, `share/` and `var/` are
//! not shipped.
//!
//! This is the one recipe whose ELF files are glibc-linked: they need exactly the loader this
//! tree ships ([`loader_path`]), which its tests check with
//! `Staged::check_own_glibc_program` instead of the musl check every other recipe passes.
//!
//! Differences from upstream, and why:
//! - the compiler: upstream uses Wolfi's gcc-14; we use Debian 12's own gcc 12.2 for amd64 and
//!   its cross compiler `aarch64-linux-gnu-gcc` 12.2 for arm64, with Debian's binutils 2.40.
//!   glibc 2.43's INSTALL asks for GCC 12.1 or newer and binutils 2.39 or newer, so these are
//!   the machine's compilers that qualify (the musl toolchains of the other recipes cannot build
//!   a C library). The kernel headers are Debian's linux-libc-dev (amd64) and the cross
//!   toolchain's own copy (arm64), the compilers' default include paths;
//! - arm64 is cross-compiled, so glibc's `make install` cannot run the new `ldconfig` to write
//!   `etc/ld.so.cache` as a native build does: the recipe runs it under qemu-user for arm64 (and
//!   again natively for amd64, which is the same command), so both arches ship the cache;
//! - stack protection: upstream passes `--enable-stack-protection=strong`, which glibc's
//!   configure does not know (it warns "unrecognized options" and builds without a stack
//!   protector); the option is `--enable-stack-protector=strong`, which we pass, so the libraries
//!   are built with `-fstack-protector-strong` as upstream intends (the default-tier test checks
//!   that configure recognizes every option and selects it);
//! - `CFLAGS` are `-O2 -g0` plus prefix maps (no build paths in the libraries); upstream's are
//!   its builder's defaults. No `-march` beyond the arch's baseline, as upstream.

use std::path::Path;

use talos_ext_build::prelude::*;
use talos_ext_build::step::Command;

/// Where glibc lives on the node (`--prefix`).
pub const PREFIX: &str = "/usr/local/glibc";
/// The library directory (`--libdir`, `--libexecdir`), where every library and the loader are.
pub const LIB_DIR: &str = "/usr/local/glibc/usr/lib";
/// glibc's `slibdir` and `rtlddir` for this prefix (`<prefix>/lib`, a link to `usr/lib` in the
/// merged-usr layout): the directory programs name their loader in.
pub const SLIB_DIR: &str = "/usr/local/glibc/lib";

/// The loader's file name for `arch` (glibc's `ld.so` ABI name).
pub fn loader(arch: Arch) -> &'static str {
    match arch {
        Arch::Amd64 => "ld-linux-x86-64.so.2",
        Arch::Arm64 => "ld-linux-aarch64.so.1",
    }
}

/// The loader's path on the node as every dynamically linked program of this tree names it
/// (its `PT_INTERP`; through the `lib` link the file is [`LIB_DIR`]`/<loader>`).
pub fn loader_path(arch: Arch) -> String {
    format!("{SLIB_DIR}/{}", loader(arch))
}

/// The gcc driver that builds glibc for `arch` (Debian's; see the module docs).
pub fn compiler(arch: Arch) -> String {
    format!("/usr/bin/{}-linux-gnu-gcc", arch.gnu_machine())
}

/// `configure`'s arguments for `arch`: upstream's (with the stack protector option spelt as
/// glibc knows it, see the module docs), plus the host and build triples.
pub fn configure_args(arch: Arch) -> Vec<String> {
    vec![
        format!("--host={}-linux-gnu", arch.gnu_machine()),
        "--build=x86_64-linux-gnu".into(),
        format!("--prefix={PREFIX}"),
        format!("--libdir={LIB_DIR}"),
        format!("--libexecdir={LIB_DIR}"),
        "--enable-stack-protector=strong".into(),
        "--disable-werror".into(),
    ]
}

/// The merged-usr layout upstream creates under the prefix before installing into it:
/// directories, then `(link, target)` symlinks, relative to the prefix.
pub const LAYOUT_DIRS: &[&str] = &["usr/bin", "usr/lib", "usr/lib32", "usr/sbin"];
pub const LAYOUT_LINKS: &[(&str, &str)] =
    &[("bin", "usr/bin/"), ("lib", "usr/lib/"), ("lib64", "usr/lib/"), ("sbin", "usr/sbin/"), ("usr/lib64", "lib/")];

/// What is removed from the prefix after the install (upstream's cleanup).
pub const REMOVED: &[&str] = &["include", "share", "var"];

/// Creates the merged-usr layout under `prefix_dir` (an empty directory).
pub fn lay_out(prefix_dir: &Path) -> Result<()> {
    for dir in LAYOUT_DIRS {
        let path = prefix_dir.join(dir);
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
    }
    for (link, target) in LAYOUT_LINKS {
        let path = prefix_dir.join(link);
        std::os::unix::fs::symlink(target, &path).with_context(|| format!("linking {}", path.display()))?;
    }
    Ok(())
}

/// The environment overrides of every glibc step: Debian's gcc for the arch instead of the musl
/// driver, no musl sysroot or uapi include flags, no `-static`, `CFLAGS` without `-march`.
fn gnu_env(cmd: Command, arch: Arch, cflags: &str) -> Command {
    let cc = compiler(arch);
    cmd.env("CC", &cc)
        .env("CPP", format!("{cc} -E"))
        .env("CFLAGS", cflags)
        .env_remove("CPPFLAGS")
        .env_remove("LDFLAGS")
        .env("CXX", cxx(arch))
}

/// The C++ compiler glibc's configure gets: only its test-support programs are C++, none is
/// installed. For amd64 the machine's g++; for arm64 none (`false`: configure finds it cannot
/// link and builds those programs without C++), because configure would otherwise take the
/// machine's x86_64 g++ for the aarch64 objects.
fn cxx(arch: Arch) -> &'static str {
    match arch {
        Arch::Amd64 => "g++",
        Arch::Arm64 => "false",
    }
}

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let arch = s.arch();
    let src = s.source("glibc")?;
    let work = s.work_dir().to_path_buf();
    let cflags = format!("-O2 -g0 -ffile-prefix-map={}=/build", work.display());
    let cc = compiler(arch);
    if !Path::new(&cc).is_file() {
        bail!("{cc} is missing: glibc is built with Debian's gcc for {arch}\nhint: run ci/setup.sh");
    }
    let built = s
        .autotools("glibc", &src)
        .configure_command(src.join("configure"), configure_args(arch))
        .linkage(Linkage::Dynamic)
        .env("CC", &cc)
        .env("CPP", format!("{cc} -E"))
        .env("CFLAGS", &cflags)
        .env_remove("CPPFLAGS")
        .env_remove("LDFLAGS")
        .env("CXX", cxx(arch))
        .dest(Dest::None)
        .run()?;

    // Upstream's merged-usr tree, then `make install` into it (not the driver's install step,
    // which installs into an emptied directory).
    let root = work.join("glibc-root");
    if root.exists() {
        std::fs::remove_dir_all(&root).with_context(|| format!("removing {}", root.display()))?;
    }
    let prefix_dir = root.join(PREFIX.trim_start_matches('/'));
    lay_out(&prefix_dir)?;
    let install = s.step("glibc-install", "make", &built.build_dir)?;
    gnu_env(install, arch, &cflags).arg(format!("DESTDIR={}", root.display())).arg("install").run()?;
    for dir in REMOVED {
        let path = prefix_dir.join(dir);
        if path.exists() {
            std::fs::remove_dir_all(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    // The loader's cache of the library directory, for both arches (see the module docs).
    let ldconfig = built.output("elf/ldconfig");
    let run_ldconfig = match arch {
        Arch::Amd64 => Command::new(&ldconfig),
        Arch::Arm64 => Command::new("qemu-aarch64-static").arg(&ldconfig),
    };
    run_ldconfig
        .name("glibc-ldconfig")
        .env("LC_ALL", "C")
        .arg("-r")
        .arg(&root)
        .args([SLIB_DIR, LIB_DIR])
        .run()
        .context("writing etc/ld.so.cache with the new ldconfig (arm64: under qemu-aarch64-static, see ci/setup.sh)")?;

    // Everything `make install` wrote is under the prefix (its `etc`, `var` included).
    let outside: Vec<_> = std::fs::read_dir(&root)
        .with_context(|| format!("reading {}", root.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .filter(|n| n != "usr")
        .collect();
    if !outside.is_empty() {
        bail!("glibc's install wrote outside {PREFIX}: {outside:?}");
    }
    s.install_tree(&prefix_dir, &PREFIX[1..])?;
    s.install(&s.input("files/ld.so.conf")?, &format!("{}/etc/ld.so.conf", &PREFIX[1..]), 0o644)?;
    let rootfs = s.rootfs();
    for (link, target) in [
        (format!("usr/lib/{}", loader(arch)), format!("{LIB_DIR}/{}", loader(arch))),
        ("usr/bin/ldconfig".into(), format!("{PREFIX}/usr/sbin/ldconfig")),
    ] {
        let path = rootfs.join(&link);
        let parent = path.parent().expect("a path in the rootfs");
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        std::os::unix::fs::symlink(&target, &path).with_context(|| format!("linking {}", path.display()))?;
    }
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
