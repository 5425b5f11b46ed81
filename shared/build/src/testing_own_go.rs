//! The shared checks of recipes whose Go program is the crate's own module (`go/`, declared by
//! `[go] module`; nvidia-gdrdrv-device, revpi-firmware): there is no upstream source to pin, so
//! the tests build the exact program the recipe ships.

use std::path::{Path, PathBuf};

use talos_ext_model::Arch;

use super::{Staged, check_static_program, meta, mode, target_command};

/// Checks that the crate at `manifest_dir` carries its Go module itself: `go/go.mod` declares
/// the `[go]` module and requires nothing, `go/go.sum` is empty (the standard library only),
/// the build is neither cgo nor of a pinned source, and the graph hash is that of no modules.
/// Returns the `[go]` table's ldflags for the caller's own checks.
pub fn check_crates_own_module(manifest_dir: &str) -> Vec<String> {
    let m = meta(manifest_dir).unwrap();
    let go = m.go.as_ref().unwrap_or_else(|| panic!("{}: no [go] table", m.name));
    let dir = Path::new(manifest_dir).join("go");
    let gomod = std::fs::read_to_string(dir.join("go.mod")).unwrap();
    assert!(gomod.lines().any(|l| l == format!("module {}", go.module)), "{gomod}");
    assert!(!gomod.lines().any(|l| l.trim_start().starts_with("require")), "{gomod}");
    assert_eq!(std::fs::read(dir.join("go.sum")).unwrap(), b"", "go/go.sum is empty");
    assert_eq!(go.packages, std::slice::from_ref(&go.module), "the module's own package");
    assert!(!go.cgo && go.source.is_none());
    assert_eq!(go.graph_hash.as_ref().map(|h| h.as_str()), Some(crate::go::graph_hash(&[]).as_str()));
    go.ldflags.clone()
}

/// Checks the program the recipe of extension `name` staged at `rel` for `arch` and returns its
/// path: mode 0755, static for the arch, no build path, `-version` prints `version_line` (arm64
/// under qemu), and the SBOM lists the extension (the program) and the Go toolchain only.
pub fn check_staged_program(s: &Staged, arch: Arch, name: &str, rel: &str, version_line: &str) -> PathBuf {
    let program = s.rootfs(rel);
    assert_eq!(mode(&program), 0o755, "{rel}");
    check_static_program(arch, &program).unwrap_or_else(|e| panic!("{e:#}"));
    s.check_no_build_paths(rel).unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!("{rel} {arch}: {} bytes", std::fs::metadata(&program).unwrap().len());
    let out = target_command(arch, &program).arg("-version").read().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.trim(), version_line, "{arch}: -version");
    let packages = s.sbom_packages(name).unwrap();
    let names: Vec<&str> = packages.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, [name, "go"], "{packages:?}");
    program
}
