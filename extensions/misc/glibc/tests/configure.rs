//! The cheap checks of the glibc recipe, without its heavy build: Debian's glibc 2.43 source
//! (`glibc_2.43.orig.tar.xz`, a snapshot of upstream's 2.43 branch, not the pinned release
//! tarball's bytes; see `extensions/test-overrides.toml`) is configured with the recipe's own
//! compiler and arguments for both arches, and the recipe's claims are checked against it: the
//! compilers meet glibc's stated minimums, every option is recognized, the stack protector and the
//! directories are upstream's. And the merged-usr layout resolves as upstream's does.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;

use std::path::Path;

use talos_ext_build::Arch;
use talos_ext_build::step::Command;
use talos_ext_build::testing::{DEBIAN_GLIBC, debian_orig};

/// `major.minor` of the first `<what> X.Y` in `text` (glibc's INSTALL: "GCC 12.1 or newer").
fn minimum(text: &str, what: &str) -> (u32, u32) {
    let at = text.find(&format!("* {what} ")).unwrap_or_else(|| panic!("INSTALL names no `{what}` minimum"));
    let version = text[at + what.len() + 3..].split_whitespace().next().unwrap();
    version_of(version)
}

fn version_of(text: &str) -> (u32, u32) {
    let mut parts =
        text.trim().split('.').map(|p| p.trim_matches(|c: char| !c.is_ascii_digit()).parse::<u32>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap_or(0))
}

fn config_make_value(config_make: &str, key: &str) -> String {
    config_make
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("config.make has no `{key}`"))
        .to_string()
}

#[test]
fn tier_kinds_configures_debian_glibc_2_43_for_both_arches() {
    let orig = debian_orig(DEBIAN_GLIBC).unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!("built from {} (Debian's {DEBIAN_GLIBC}, not the pinned release tarball)", orig.display());
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("glibc");
    std::fs::create_dir_all(&src).unwrap();
    Command::new("tar").arg("xf").arg(&orig).args(["--strip-components=1", "-C"]).arg(&src).run().unwrap();
    let version_h = std::fs::read_to_string(src.join("version.h")).unwrap();
    assert!(version_h.contains("#define VERSION \"2.43\""), "{version_h}");

    // The recipe builds with Debian's gcc and binutils: glibc's own minimums hold for both.
    let install = std::fs::read_to_string(src.join("INSTALL")).unwrap();
    let (gcc_min, binutils_min) = (minimum(&install, "GCC"), minimum(&install, "GNU 'binutils'"));
    assert_eq!(gcc_min, (12, 1), "glibc 2.43 asks for GCC 12.1; the recipe's docs say so");
    for arch in [Arch::Amd64, Arch::Arm64] {
        let cc = build::compiler(arch);
        let gcc = version_of(&Command::new(&cc).arg("-dumpfullversion").read().unwrap());
        assert!(gcc >= gcc_min, "{cc} is {gcc:?}, glibc needs {gcc_min:?}");
        let ld = format!("/usr/bin/{}-linux-gnu-ld", arch.gnu_machine());
        let ld_version = Command::new(&ld).arg("--version").read().unwrap();
        let ld_version = version_of(ld_version.lines().next().unwrap().rsplit(' ').next().unwrap());
        assert!(ld_version >= binutils_min, "{ld} is {ld_version:?}, glibc needs {binutils_min:?}");

        let dir = tmp.path().join(format!("build-{arch}"));
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new(src.join("configure"))
            .dir(&dir)
            .env("CC", &cc)
            .env("CFLAGS", "-O2 -g0")
            .args(build::configure_args(arch))
            .read()
            .unwrap_or_else(|e| panic!("configuring for {arch}: {e}"));
        assert!(!out.contains("unrecognized options"), "{arch}: configure ignored options:\n{out}");
        let config_make = std::fs::read_to_string(dir.join("config.make")).unwrap();
        let value = |key| config_make_value(&config_make, key);
        assert_eq!(value("config-machine"), arch.gnu_machine(), "{arch}");
        assert_eq!(value("prefix"), build::PREFIX);
        assert_eq!(value("libdir"), build::LIB_DIR);
        assert_eq!(value("libexecdir"), build::LIB_DIR);
        assert_eq!(value("build-shared"), "yes");
        assert_eq!(value("stack-protector"), "-fstack-protector-strong", "{arch}: the protector upstream asks for");
        // slibdir is left to glibc's default, `<exec_prefix>/lib`: the loader's directory in
        // every program's PT_INTERP, which the recipe's `loader_path` names.
        assert_eq!(value("slibdir"), "");
        assert!(build::loader_path(arch).starts_with(&format!("{}/lib/", build::PREFIX)));
    }
}

/// Upstream's merged-usr layout: `bin`, `lib`, `lib64`, `sbin` and `usr/lib64` all lead into
/// `usr/`, so a library installed under any of them lands in `usr/lib`.
#[test]
fn merged_usr_layout_leads_into_usr() {
    let tmp = tempfile::tempdir().unwrap();
    let prefix = tmp.path().join("usr/local/glibc");
    build::lay_out(&prefix).unwrap();
    std::fs::write(prefix.join("usr/lib/libc.so.6"), "libc").unwrap();
    for via in ["lib", "lib64", "usr/lib64"] {
        assert_eq!(std::fs::read_to_string(prefix.join(via).join("libc.so.6")).unwrap(), "libc", "{via}");
    }
    for (link, target) in build::LAYOUT_LINKS {
        assert_eq!(std::fs::read_link(prefix.join(link)).unwrap(), Path::new(target), "{link}");
    }
    for dir in build::LAYOUT_DIRS {
        assert!(prefix.join(dir).symlink_metadata().unwrap().is_dir(), "{dir}");
    }
    assert_eq!(
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("files/ld.so.conf")).unwrap(),
        format!("{}\n", build::LIB_DIR),
        "ld.so.conf names the library directory, one line"
    );
}

/// The stand-in that other recipes' tests layer instead of this recipe's five-minute build
/// (`testing::glibc_layer_stand_in`: this machine's glibc 2.36, not this recipe's output) has
/// this recipe's layout: the loader where the node's loader link and this tree's programs name
/// it, the library directory, `ld.so.conf`, `ldconfig` where the recipe links it; and its loader
/// and `ldconfig` run from the staged tree (arm64 under qemu).
#[test]
fn the_stand_in_layer_has_this_recipes_layout() {
    use talos_ext_build::testing::{
        GLIBC_STAND_IN_LIBRARIES, TestOptions, glibc_layer_stand_in, resolve_in_rootfs, stage_with,
    };
    let shipped = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("files/ld.so.conf")).unwrap();
    for arch in [Arch::Amd64, Arch::Arm64] {
        let node_loader = talos_ext_build::model::glibc_loader(arch);
        assert_eq!(
            node_loader,
            format!("/usr/lib/{}", build::loader(arch)),
            "the model's loader is this recipe's link"
        );
        let s = stage_with(env!("CARGO_MANIFEST_DIR"), glibc_layer_stand_in, arch, &TestOptions::from_env().unwrap())
            .unwrap_or_else(|e| panic!("{arch}: {e:#}"));
        let rootfs = s.dir.join("rootfs");
        let loader = resolve_in_rootfs(&rootfs, &build::loader_path(arch)).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(loader, resolve_in_rootfs(&rootfs, node_loader).unwrap(), "{arch}: both paths name one loader");
        assert_eq!(loader, rootfs.join(&build::LIB_DIR[1..]).join(build::loader(arch)));
        for lib in GLIBC_STAND_IN_LIBRARIES {
            assert!(rootfs.join(&build::LIB_DIR[1..]).join(lib).is_file(), "{arch}: {lib}");
        }
        let conf = std::fs::read_to_string(rootfs.join(&build::PREFIX[1..]).join("etc/ld.so.conf")).unwrap();
        assert_eq!(conf, shipped, "{arch}: ld.so.conf");
        assert_eq!(s.overridden_sources, ["glibc"], "{arch}: the stand-in marks its image");
        let out = match arch {
            Arch::Amd64 => Command::new(&loader),
            Arch::Arm64 => Command::new("qemu-aarch64-static").arg(&loader),
        }
        .arg("--version")
        .read()
        .unwrap_or_else(|e| panic!("{arch}: {e:#}"));
        assert!(out.contains("GLIBC 2.36"), "{arch}: the stand-in is this machine's glibc: {out}");
        let ldconfig = resolve_in_rootfs(&rootfs, "/usr/bin/ldconfig").unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(
            ldconfig,
            rootfs.join(&build::PREFIX[1..]).join("usr/sbin/ldconfig"),
            "{arch}: where the recipe links it"
        );
        let out = match arch {
            Arch::Amd64 => Command::new(&ldconfig),
            Arch::Arm64 => Command::new("qemu-aarch64-static").arg(&ldconfig),
        }
        .arg("--version")
        .read()
        .unwrap_or_else(|e| panic!("{arch}: {e:#}"));
        assert!(out.starts_with("ldconfig (Debian GLIBC"), "{arch}: Debian's ldconfig: {out}");
    }
}
