//! Module.symvers recovery, proven exactly on real kernels: a small kernel (Debian's repacked
//! Linux 6.18.15 source, `tinyconfig` plus MODULES, MODVERSIONS and a few dozen modules from
//! `tests/data/symvers.config`) is built for amd64 (bzImage with zstd, modules `.ko.xz`) and arm64
//! (`Image.gz`, modules `.ko.zst`) with Debian's gcc and cross gcc; `recover` reads only what a
//! kernel package publishes (`boot/vmlinuz`, `boot/System.map`, `lib/modules/<release>/`) and
//! must equal the `Module.symvers` the build wrote: every symbol, CRC, owner, GPL flag and
//! namespace.
//!
//! The installed kernel and its Module.symvers are kept in `<cache>/test-kernels/` (keyed by the
//! source, the config and the compiler), so a rerun recovers and compares without rebuilding.
//! A first run takes a few minutes per arch on 2 cores.

use std::path::{Path, PathBuf};

use talos_ext_kmod::symvers::{Symvers, VMLINUX, recover};
use talos_ext_process::{Command, Jobs, Log};

use crate::support::workspace_root;

/// Debian's repacked upstream tarball of Linux 6.18.15 (trixie-backports), by its source version.
const LINUX: (&str, &str) = ("linux", "6.18.15-1~bpo13+1");
const LINUX_SHA256: &str = "fdf4c4d487c95b17a41cb38003faef86669e532a44fe702eb31a3390b6a60cca";
const FRAGMENT: &str = include_str!("../data/symvers.config");

struct KernelArch {
    arch: &'static str,
    /// `ARCH=` and `CROSS_COMPILE=`.
    make: &'static [&'static str],
    image_target: &'static str,
    image_path: &'static str,
    /// Appended to the config: the image and module compression.
    extra: &'static str,
}

const AMD64: KernelArch = KernelArch {
    arch: "amd64",
    make: &["ARCH=x86_64"],
    image_target: "bzImage",
    image_path: "arch/x86/boot/bzImage",
    extra: "CONFIG_64BIT=y\nCONFIG_KERNEL_ZSTD=y\nCONFIG_MODULE_COMPRESS=y\nCONFIG_MODULE_COMPRESS_XZ=y\n",
};

const ARM64: KernelArch = KernelArch {
    arch: "arm64",
    make: &["ARCH=arm64", "CROSS_COMPILE=aarch64-linux-gnu-"],
    image_target: "Image.gz",
    image_path: "arch/arm64/boot/Image.gz",
    extra: "CONFIG_MODULE_COMPRESS=y\nCONFIG_MODULE_COMPRESS_ZSTD=y\n",
};

fn cache() -> PathBuf {
    workspace_root().join(".cache/talos-ext/test-kernels")
}

/// Unpacks the kernel source into a temporary directory under the cache (1.7 GB, removed when
/// the returned value drops).
fn unpack_source() -> tempfile::TempDir {
    let debian = talos_ext_debian::workspace_cache(&workspace_root());
    let repo = talos_ext_debian::Repo::sources(&debian, &["trixie-backports"], &["main"]);
    let orig = repo
        .fetch_upstream_tarball(LINUX.0, LINUX.1, &debian.join("pool"))
        .unwrap_or_else(|e| panic!("Debian's linux {}: {e}", LINUX.1));
    eprintln!("kernel source: {} (sha256 {LINUX_SHA256})", orig.display());
    std::fs::create_dir_all(cache()).unwrap();
    let dir = tempfile::Builder::new().prefix("src-").tempdir_in(cache()).unwrap();
    let started = std::time::Instant::now();
    talos_ext_archive::unpack(
        &orig,
        &dir.path().join("linux"),
        &talos_ext_archive::UnpackOptions { strip_components: 1 },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("unpacked in {:.1?}", started.elapsed());
    dir
}

/// The installed test kernel of `k` (`boot/` + `lib/modules/`) and the Module.symvers its build
/// wrote, built unless cached.
fn built_kernel(k: &KernelArch, source: &mut Option<tempfile::TempDir>) -> (PathBuf, PathBuf) {
    let gcc = Command::new(if k.arch == "arm64" { "aarch64-linux-gnu-gcc" } else { "gcc" })
        .arg("--version")
        .read()
        .unwrap_or_else(|e| panic!("{e}"));
    let key = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (LINUX_SHA256, FRAGMENT, k.extra, k.image_target, gcc.lines().next()).hash(&mut h);
        format!("{}-{:016x}", k.arch, h.finish())
    };
    let done = cache().join(&key);
    let (tree, symvers) = (done.join("tree"), done.join("Module.symvers"));
    if symvers.is_file() {
        eprintln!("{}: the test kernel of an earlier run ({})", k.arch, done.display());
        return (tree, symvers);
    }
    let src = source.get_or_insert_with(unpack_source).path().join("linux");
    let work = tempfile::Builder::new().prefix(&format!("{key}.")).tempdir_in(cache()).unwrap();
    let out = work.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let make = |args: &[&str]| {
        let jobs = Jobs::from_env();
        let mut cmd = Command::new("make")
            .name(&format!("kernel-{}", k.arch))
            .args(jobs.make_args())
            .arg(format!("O={}", out.display()))
            .args(k.make)
            .args(args)
            .dir(&src)
            .log(Log::Dir(work.path().join("logs")));
        jobs.apply(cmd.env_mut());
        cmd.run().unwrap_or_else(|e| panic!("{e}"));
    };
    let started = std::time::Instant::now();
    make(&["tinyconfig"]);
    let config = out.join(".config");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(FRAGMENT);
    text.push_str(k.extra);
    std::fs::write(&config, text).unwrap();
    make(&["olddefconfig"]);
    let config = std::fs::read_to_string(&config).unwrap();
    for want in ["CONFIG_MODULES=y", "CONFIG_MODVERSIONS=y", "CONFIG_FAT_FS=m", "CONFIG_CRYPTO=m"] {
        assert!(config.lines().any(|l| l == want), "{}: olddefconfig dropped {want}", k.arch);
    }
    make(&[k.image_target, "modules"]);
    let staging = work.path().join("tree");
    make(&[&format!("INSTALL_MOD_PATH={}", staging.display()), "modules_install"]);
    std::fs::create_dir_all(staging.join("boot")).unwrap();
    std::fs::copy(out.join(k.image_path), staging.join("boot/vmlinuz")).unwrap();
    std::fs::copy(out.join("System.map"), staging.join("boot/System.map")).unwrap();
    // modules_install links build/ to the output tree, which is about to go.
    for link in std::fs::read_dir(staging.join("lib/modules")).unwrap() {
        let _ = std::fs::remove_file(link.unwrap().path().join("build"));
    }
    eprintln!("{}: built the test kernel in {:.1?}", k.arch, started.elapsed());
    let tmp = work.path().join("done");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::rename(&staging, tmp.join("tree")).unwrap();
    std::fs::copy(out.join("Module.symvers"), tmp.join("Module.symvers")).unwrap();
    let _ = std::fs::remove_dir_all(&done);
    std::fs::rename(&tmp, &done).unwrap();
    (tree, symvers)
}

fn check(k: &KernelArch, source: &mut Option<tempfile::TempDir>) {
    let (tree, written) = built_kernel(k, source);
    let want = Symvers::parse(&std::fs::read_to_string(&written).unwrap(), &written).unwrap();
    let got = recover(&tree).unwrap_or_else(|e| panic!("{}: {e}", k.arch));
    eprintln!(
        "{}: {} exports recovered from {} ({}), {} modules",
        k.arch,
        got.symvers.exports.len(),
        got.kernel.display(),
        got.kernel_format,
        got.modules
    );
    let diffs = want.differences(&got.symvers);
    assert!(diffs.is_empty(), "{}: {} differences:\n{}", k.arch, diffs.len(), diffs.join("\n"));

    // Not vacuous: the kernel's and modules' exports, both licenses, namespaces of both.
    let e = &want.exports;
    assert!(e.len() > 1000, "{} exports", e.len());
    for (what, found) in [
        ("a vmlinux export", e.values().any(|x| x.owner == VMLINUX)),
        ("a module export", e.values().any(|x| x.owner != VMLINUX)),
        ("a GPL-only export", e.values().any(|x| x.gpl)),
        ("a namespaced vmlinux export", e.values().any(|x| x.owner == VMLINUX && !x.namespace.is_empty())),
        ("a namespaced module export", e.values().any(|x| x.owner != VMLINUX && !x.namespace.is_empty())),
    ] {
        assert!(found, "{}: the test kernel has no {what}", k.arch);
    }
    let compression = if k.arch == "amd64" { ".ko.xz" } else { ".ko.zst" };
    let compressed = walk(&got.modules_dir).iter().filter(|p| p.to_string_lossy().ends_with(compression)).count();
    assert_eq!(compressed, got.modules, "{}: every module is {compression}", k.arch);

    // A planted CRC change is found, naming the symbol.
    let mut planted = got.symvers.clone();
    let (name, export) = planted.exports.iter_mut().find(|(_, x)| x.owner != VMLINUX).unwrap();
    export.crc ^= 1;
    let name = name.clone();
    let diffs = want.differences(&planted);
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    assert!(diffs[0].starts_with(&format!("{name}: ")), "{diffs:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

/// Both arches in one test, one after the other: they share one unpacked source (and each build
/// uses every core anyway). Tier `full` (README, "Test tiers"): the first run builds two kernels,
/// 16 CPU minutes (27 min wall on a loaded 2-core machine); later runs reuse them.
#[test]
#[ignore = "tier full: builds two small real kernels (16 CPU minutes); run with `cargo xtask test --tier full`"]
fn tier_full_recovers_the_module_symvers_of_real_amd64_and_arm64_kernels() {
    let mut source = None;
    for k in [&AMD64, &ARM64] {
        check(k, &mut source);
    }
}

#[test]
fn a_stub_system_map_is_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("lib/modules/6.12.0-1-amd64")).unwrap();
    std::fs::create_dir_all(dir.path().join("boot")).unwrap();
    std::fs::write(dir.path().join("boot/vmlinuz-6.12.0-1-amd64"), b"not a kernel").unwrap();
    // What Debian's linux-image packages ship.
    std::fs::write(
        dir.path().join("boot/System.map-6.12.0-1-amd64"),
        "ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n",
    )
    .unwrap();
    let e = recover(dir.path()).unwrap_err().to_string();
    assert!(e.contains("System.map-6.12.0-1-amd64: has no `__start___ksymtab`") && e.contains("-dbg"), "{e}");
    let empty = tempfile::tempdir().unwrap();
    let e = recover(empty.path()).unwrap_err().to_string();
    assert!(e.contains("no lib/modules/<release>/ or usr/lib/modules/<release>/"), "{e}");
}
