//! Stages the `glib` library for amd64 from Debian's GLib 2.88.0 release (a source override:
//! the pinned 2.89.3 is not reachable here; Debian's `glib2.0_2.88.0.orig.tar.xz` is upstream's
//! `glib-2.88.0.tar.xz`), with its `pcre2` and `libffi` stages from their exact pins through an
//! offline directory mirror and `zlib` from Debian's 1.3.2 (its listed override), and checks the
//! sysroot: the five static libraries for the arch's machine only, `glib-2.0.pc` naming what a
//! static link needs, the headers and the SBOM components of GLib and the libraries it links.
//! (arm64 is built by the qemu-guest-agent tests, which link it.)

#[path = "../build.rs"]
#[allow(dead_code)]
mod build;
#[path = "../../libffi/build.rs"]
#[allow(dead_code)]
mod libffi;
#[path = "../../pcre2/build.rs"]
#[allow(dead_code)]
mod pcre2;
#[path = "../../zlib/build.rs"]
#[allow(dead_code)]
mod zlib;

use talos_ext_build::testing::{TestOptions, check_archive_machine, internal_crate, stage_with};
use talos_ext_build::{Arch, TestLibrary};

/// Debian's GLib 2.88.0 (upstream's tarball), listed in test-overrides.toml.
const GLIB: &str = "glib2.0=2.88.0-1";

#[test]
#[ignore = "tier full: GLib's whole meson build, several minutes on 2 cores"]
fn tier_full_amd64_static_glib_from_debian_2_88_0() {
    let arch = Arch::Amd64;
    let started = std::time::Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let pins =
        [(internal_crate("pcre2"), "pcre2", "pcre2=10.48-3.1"), (internal_crate("libffi"), "libffi", "libffi=3.8.0-2")];
    let mut opts = TestOptions::offline_debian_pins(tmp.path(), arch, &pins).unwrap_or_else(|e| panic!("{e:#}"));
    for (extension, spec) in [("glib", GLIB), ("zlib", "zlib=1:1.3.dfsg+really1.3.2-3")] {
        opts.override_with_debian_orig(extension, None, spec).unwrap_or_else(|e| panic!("{e:#}"));
    }
    let library = TestLibrary::internal;
    opts.libraries =
        vec![library("zlib", zlib::recipe), library("pcre2", pcre2::recipe), library("libffi", libffi::recipe)];
    let s = stage_with(env!("CARGO_MANIFEST_DIR"), build::recipe, arch, &opts)
        .unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    eprintln!("glib {arch}: built from GLib 2.88.0 (Debian's orig; the pin is 2.89.3) in {:.0?}", started.elapsed());
    let mut overridden = s.overridden_sources.clone();
    overridden.sort();
    assert_eq!(overridden, ["glib", "zlib/zlib"], "only GLib and zlib are not the pinned bytes");

    let sysroot = &s.dir;
    for lib in ["libglib-2.0.a", "libgobject-2.0.a", "libgmodule-2.0.a", "libgthread-2.0.a", "libgio-2.0.a"] {
        let bytes = std::fs::read(sysroot.join("usr/lib").join(lib)).unwrap_or_else(|e| panic!("{lib}: {e}"));
        check_archive_machine(&bytes, arch, lib);
        let shared = lib.replace(".a", ".so");
        assert!(!sysroot.join("usr/lib").join(&shared).exists(), "no {shared}");
    }
    let pc = std::fs::read_to_string(sysroot.join("usr/lib/pkgconfig/glib-2.0.pc")).unwrap();
    assert!(pc.contains("Version: 2.88.0"), "{pc}");
    assert!(pc.contains("libpcre2-8"), "a static link pulls in pcre2: {pc}");
    let version = std::fs::read_to_string(sysroot.join("usr/include/glib-2.0/glib/gversionmacros.h")).unwrap();
    assert!(version.contains("GLIB_VERSION_2_88"), "the headers are 2.88's");
    for component in ["glib", "pcre2", "libffi", "zlib"] {
        let path = sysroot.join(talos_ext_build::SYSROOT_COMPONENTS).join(format!("{component}.json"));
        assert!(path.is_file(), "the SBOM component of {component}");
    }
}
