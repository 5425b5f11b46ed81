//! The shared tests of the `nvidia-fabricmanager-*` recipes ([`crate::nvidia_fabricmanager`]).
//!
//! NVIDIA's fabric manager and NVLSM archives are not reachable offline and no package archive
//! carries them, so the tests serve GENERATED STAND-INS in NVIDIA's layout ([`stand_in_archives`]:
//! small glibc programs and shared libraries built by Debian's gcc for the arch, naming NVIDIA's
//! loader path as NVIDIA's do; configuration and topology files) through a directory mirror under
//! the test's own pins ([`super::Repin`], listed in `extensions/test-overrides.toml`). The `glibc`
//! extension layered into the container root is a STAND-IN too in the default tier
//! ([`super::glibc_layer_stand_in`]: this machine's glibc 2.36 in the glibc extension's layout,
//! the image marked as built from a stand-in; building glibc takes 5+ minutes), through which the
//! stand-in programs run; [`options_with_glibc`] takes the real glibc recipe for the full tier.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use talos_ext_model::{Arch, PIN_PATH, Pin};

use super::{Repin, Staged, TestOptions, check_static_program, mode, target_command, write_tar_gz};
use crate::nvidia_fabricmanager as nfm;
use crate::script::{Recipe, load_meta};
use crate::{TestLibrary, nvidia_fabricmanager::CONTAINER};

/// The line every stand-in program prints.
pub fn stand_in_line(name: &str) -> String {
    format!("stand-in {name}, not the vendor bytes")
}

/// The stand-in `fabricmanager.cfg`: upstream's edited keys with other values, no
/// `DATABASE_PATH` (the recipe adds it).
pub const STAND_IN_CONFIG: &str = "# stand-in fabricmanager.cfg, not the vendor's\nLOG_LEVEL=4\nLOG_FILE_NAME=/var/log/fabricmanager.log\nDAEMONIZE=1\nSTATE_FILE_NAME=/tmp/fabricmanager.state\n";

/// The stand-in topology files (a few of the names NVIDIA ships).
pub const STAND_IN_TOPOLOGIES: [&str; 2] = ["dgx2_hgx2_topology", "dgxa100_hgxa100_topology"];

fn build_c(arch: Arch, work: &Path, name: &str, text: &str, extra: &[&str], out_name: &str) -> Result<Vec<u8>> {
    let cc = format!("/usr/bin/{}-linux-gnu-gcc", arch.gnu_machine());
    let c = work.join(format!("{out_name}.c"));
    std::fs::write(&c, text).with_context(|| format!("writing {}", c.display()))?;
    let out = work.join(out_name);
    crate::step::Command::new(&cc)
        .name(&format!("{name}-stand-in"))
        .args(["-O2", "-s"])
        .args(extra)
        .arg("-o")
        .arg(&out)
        .arg(&c)
        .dir(work)
        .run()?;
    std::fs::read(&out).with_context(|| format!("reading {}", out.display()))
}

/// STAND-INS for NVIDIA's fabric manager and NVLSM archives for `arch` (not the vendor bytes):
/// `.tar.gz` files in `dir`, each below one top directory as NVIDIA's are, with glibc programs
/// built by Debian's gcc (`bin/nv-fabricmanager`, `bin/nvswitch-audit`, `sbin/nvlsm`; each
/// prints [`stand_in_line`]), shared libraries with NVIDIA's names (`lib/libnvfm.so.1`,
/// `lib/libgrpc_mgr.so`), [`STAND_IN_CONFIG`], [`STAND_IN_TOPOLOGIES`], NVLSM's three
/// configuration files and a file the recipe must leave out. Returns `(fabricmanager, nvlsm)`.
pub fn stand_in_archives(arch: Arch, dir: &Path, fm_version: &str, sm_version: &str) -> Result<(PathBuf, PathBuf)> {
    let work = dir.join(format!("stand-ins-{arch}"));
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let platform = match arch {
        Arch::Amd64 => "x86_64",
        Arch::Arm64 => "sbsa",
    };
    let program = |name: &str| {
        let text = format!("#include <stdio.h>\nint main(void) {{ puts(\"{}\"); return 0; }}\n", stand_in_line(name));
        build_c(arch, &work, name, &text, &[], name)
    };
    let library = |name: &str, soname: &str| {
        let text = format!("const char *stand_in(void) {{ return \"stand-in {name}\"; }}\n");
        build_c(arch, &work, name, &text, &["-shared", "-fPIC", &format!("-Wl,-soname,{soname}")], name)
    };

    let top = format!("fabricmanager-linux-{platform}-{fm_version}-archive");
    let mut fm = vec![
        (format!("{top}/bin/nv-fabricmanager"), program("nv-fabricmanager")?, 0o755),
        (format!("{top}/bin/nvswitch-audit"), program("nvswitch-audit")?, 0o755),
        (format!("{top}/lib/libnvfm.so.1"), library("libnvfm.so.1", "libnvfm.so.1")?, 0o755),
        (format!("{top}/etc/fabricmanager.cfg"), STAND_IN_CONFIG.as_bytes().to_vec(), 0o644),
        (format!("{top}/include/nv_fm_agent.h"), b"/* stand-in header, not shipped */\n".to_vec(), 0o644),
        (format!("{top}/LICENSE"), b"stand-in fabric manager archive, not the vendor bytes\n".to_vec(), 0o644),
    ];
    for name in STAND_IN_TOPOLOGIES {
        fm.push((format!("{top}/share/nvidia/nvswitch/{name}"), format!("stand-in {name}\n").into_bytes(), 0o644));
    }
    let fm_file = dir.join(format!("{top}.tar.gz"));
    write_tar_gz(&fm_file, &fm)?;

    let top = format!("nvlsm-linux-{platform}-{sm_version}-archive");
    let mut sm = vec![
        (format!("{top}/sbin/nvlsm"), program("nvlsm")?, 0o755),
        (format!("{top}/lib/libgrpc_mgr.so"), library("libgrpc_mgr.so", "libgrpc_mgr.so")?, 0o755),
        (format!("{top}/share/nvidia/nvlsm/not-shipped.conf"), b"# not shipped\n".to_vec(), 0o644),
    ];
    for name in nfm::SM_CONFIGS {
        sm.push((format!("{top}/share/nvidia/nvlsm/{name}"), format!("# stand-in {name}\n").into_bytes(), 0o644));
    }
    let sm_file = dir.join(format!("{top}.tar.gz"));
    write_tar_gz(&sm_file, &sm)?;
    Ok((fm_file, sm_file))
}

/// The `glibc` extension crate's directory.
pub fn glibc_dir(manifest_dir: &str) -> Result<PathBuf> {
    let root = Pin::find_workspace_root(Path::new(manifest_dir))
        .with_context(|| format!("no {PIN_PATH} above {manifest_dir}"))?;
    Ok(root.join("extensions/misc/glibc"))
}

/// Test options for a fabric manager recipe for `arch`: [`stand_in_archives`] re-pinned by the
/// test and served through a directory mirror in the returned temporary directory (keep it
/// while staging), `glibc_recipe` as the `glibc` extension to layer
/// ([`super::glibc_layer_stand_in`], or the real `glibc::recipe` in the full tier, with its
/// overrides added by the caller), and (amd64) `zlib_ng_recipe`, the `zlib-ng-nvidia` crate's
/// recipe (its `build.rs` included by the test), built from [`DEBIAN_ZLIB_NG`].
pub fn options_with_glibc(
    manifest_dir: &str,
    arch: Arch,
    glibc_recipe: Recipe,
    zlib_ng_recipe: Recipe,
) -> Result<(tempfile::TempDir, TestOptions)> {
    let meta = load_meta(Path::new(manifest_dir))?;
    let sm_version = meta
        .source(nfm::NVLSM_SOURCE, arch)
        .context("the NVLSM pin")?
        .url
        .rsplit('-')
        .nth(1)
        .context("the NVLSM version in its URL")?
        .to_string();
    let tmp = tempfile::tempdir().context("a temp dir")?;
    let (fm, sm) = stand_in_archives(arch, tmp.path(), meta.version.upstream_part(), &sm_version)?;
    let mut opts = TestOptions::from_env()?;
    let by_sha = tmp.path().join("mirror/sha256");
    std::fs::create_dir_all(&by_sha).with_context(|| format!("creating {}", by_sha.display()))?;
    for (source, file) in [(nfm::FABRICMANAGER_SOURCE, &fm), (nfm::NVLSM_SOURCE, &sm)] {
        let repin = Repin::of_file(source, arch, file)?;
        std::fs::copy(file, by_sha.join(repin.sha256.as_str())).context("mirroring a stand-in")?;
        opts.repins.push(repin);
    }
    opts.fetch.mirrors.insert(0, talos_ext_fetch::Mirror::Dir(tmp.path().join("mirror")));
    opts.libraries =
        vec![TestLibrary { links: nfm::GLIBC.into(), manifest_dir: glibc_dir(manifest_dir)?, recipe: glibc_recipe }];
    if nfm::ships_zlib_ng(arch) {
        opts.libraries.push(TestLibrary {
            links: nfm::ZLIB_NG.into(),
            manifest_dir: glibc_dir(manifest_dir)?.join("../../internal/zlib-ng-nvidia"),
            recipe: zlib_ng_recipe,
        });
        opts.overrides.push(crate::SourceOverride {
            extension: nfm::ZLIB_NG.into(),
            source: None,
            path: super::debian_orig_component(DEBIAN_ZLIB_NG.0, DEBIAN_ZLIB_NG.1)?,
        });
    }
    Ok((tmp, opts))
}

/// Debian's source package that carries zlib-ng as a component tarball, and the component: the
/// zlib-ng stage is built from zlib-ng 2.2.4 (upstream's tree) in these tests, a source override
/// listed in `extensions/test-overrides.toml` (the pin is 2.3.3).
pub const DEBIAN_ZLIB_NG: (&str, &str) = ("node-yarnpkg=4.1.0+dfsg-9", "zlib-ng");

/// [`options_with_glibc`] with the stand-in glibc layer ([`super::glibc_layer_stand_in`]).
pub fn options(manifest_dir: &str, arch: Arch, zlib_ng_recipe: Recipe) -> Result<(tempfile::TempDir, TestOptions)> {
    options_with_glibc(manifest_dir, arch, super::glibc_layer_stand_in, zlib_ng_recipe)
}

/// `rel` in the container root of a staged tree.
fn container(s: &Staged, rel: &str) -> PathBuf {
    s.rootfs(&format!("{CONTAINER}/{rel}"))
}

/// Stages the fabric manager recipe of the crate at `manifest_dir` for `arch` with `opts` (from
/// [`options`] or [`options_with_glibc`]), saying on stderr what it was built from (`what`) and
/// how long it took.
pub fn stage(manifest_dir: &str, recipe: Recipe, arch: Arch, opts: &TestOptions, what: &str) -> Staged {
    let started = std::time::Instant::now();
    let s = super::stage_with(manifest_dir, recipe, arch, opts).unwrap_or_else(|e| panic!("staging {arch}: {e:#}"));
    eprintln!("{arch}: staged from {what} in {:.0?}", started.elapsed());
    s
}

/// Checks the recipe's pins: its version is `fm_version`, and each arch pins NVIDIA's fabric
/// manager archive of that version and the NVLSM archive of `sm_version` for its platform.
pub fn check_pins(manifest_dir: &str, fm_version: &str, sm_version: &str) {
    let m = load_meta(Path::new(manifest_dir)).unwrap();
    assert_eq!(m.version.upstream_part(), fm_version);
    for (arch, platform) in [(Arch::Amd64, "x86_64"), (Arch::Arm64, "sbsa")] {
        let fm = m.source(nfm::FABRICMANAGER_SOURCE, arch).unwrap();
        let want = format!("fabricmanager-linux-{platform}-{fm_version}-archive.tar.xz");
        assert!(fm.url.ends_with(&want), "{}", fm.url);
        let sm = m.source(nfm::NVLSM_SOURCE, arch).unwrap();
        let want = format!("nvlsm-linux-{platform}-{sm_version}-archive.tar.xz");
        assert!(sm.url.ends_with(&want), "{}", sm.url);
    }
}

/// Checks a fabric manager extension staged for `arch` with [`options`] (or
/// [`options_with_glibc`]): what upstream installs is in the container root with its mode and
/// the stand-ins' bytes, the configuration is edited, the vendor programs are glibc programs for
/// the arch whose loader resolves inside the container root to the layered glibc, the gcc runtime
/// is Debian's file and in the SBOM with its Debian version, the wrapper is a static program
/// without build paths that does its job on a fake tree (amd64 natively, arm64 under qemu), the
/// service spec is ours, and nothing is shipped outside the service's paths. Panics with the
/// reason otherwise.
pub fn check_staged(manifest_dir: &str, s: &Staged, arch: Arch) {
    use sha2::Digest as _;
    let meta = load_meta(Path::new(manifest_dir)).expect("the metadata");
    // Only the service's paths and the SBOM documents.
    for f in s.rootfs_files() {
        assert!(
            f.starts_with(&format!("{CONTAINER}/")) || f == nfm::SERVICE_PATH || f.starts_with("usr/local/share/spdx/"),
            "{} ships {f} outside the service's paths",
            meta.name
        );
    }
    assert_eq!(std::fs::read_to_string(s.rootfs(nfm::SERVICE_PATH)).unwrap(), nfm::SERVICE);

    // The vendor files, with modes.
    let vendor_programs =
        nfm::FM_PROGRAMS.iter().map(|(from, to)| (*from, *to)).chain([nfm::SM_PROGRAM]).collect::<Vec<_>>();
    for (from, to) in &vendor_programs {
        let path = container(s, to);
        assert_eq!(mode(&path), 0o755, "{to}");
        let info = crate::elf::ElfInfo::read(&path).unwrap_or_else(|e| panic!("{to}: {e:#}"));
        assert_eq!(info.machine, arch.elf_machine(), "{to}: ELF machine");
        assert_eq!(info.interpreter.as_deref(), Some(nfm::nvidia_loader(arch)), "{to}: NVIDIA's loader path");
        // Through the container root's own glibc (the layer's), as on the node.
        let name = from.rsplit('/').next().unwrap();
        let out = super::glibc_command_in(&s.rootfs(CONTAINER), arch, nfm::nvidia_loader(arch), to)
            .and_then(|c| Ok(c.read()?))
            .unwrap_or_else(|e| panic!("running {to} through the layered glibc: {e:#}"));
        assert_eq!(out.trim(), stand_in_line(name));
    }
    for (_, to) in [nfm::FM_LIBRARY, nfm::SM_LIBRARY] {
        let path = container(s, to);
        assert_eq!(mode(&path), 0o755, "{to}");
        let info = crate::elf::ElfInfo::read(&path).unwrap_or_else(|e| panic!("{to}: {e:#}"));
        assert_eq!(info.machine, arch.elf_machine(), "{to}: ELF machine");
    }
    let (link, target) = nfm::FM_LIBRARY_LINK;
    assert_eq!(std::fs::read_link(container(s, link)).unwrap().to_str(), Some(target));
    for name in STAND_IN_TOPOLOGIES {
        let path = container(s, &format!("{}/{name}", nfm::NVSWITCH_DIR));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("stand-in {name}\n"));
        assert_eq!(mode(&path), 0o644);
    }
    let cfg = std::fs::read_to_string(container(s, &format!("{}/fabricmanager.cfg", nfm::NVSWITCH_DIR))).unwrap();
    assert_eq!(cfg, nfm::edit_config(STAND_IN_CONFIG));
    for line in
        ["DAEMONIZE=0", "LOG_FILE_NAME=", "STATE_FILE_NAME=/var/run/fabricmanager.state", "DATABASE_PATH=/var/run"]
    {
        assert!(cfg.lines().any(|l| l == line), "fabricmanager.cfg lacks `{line}`:\n{cfg}");
    }
    for name in nfm::SM_CONFIGS {
        let path = container(s, &format!("{}/{name}", nfm::SM_CONFIG_DIR));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("# stand-in {name}\n"));
    }
    assert!(!container(s, "usr/share/nvidia/nvlsm/not-shipped.conf").exists(), "only NVLSM's three files");
    assert!(!container(s, "usr/include").exists() && !container(s, "include").exists(), "no headers");

    // glibc in the container root: NVIDIA's loader path resolves to the layered loader.
    let loader = nfm::nvidia_loader(arch);
    let resolved = super::resolve_in_rootfs(&s.rootfs(CONTAINER), loader)
        .unwrap_or_else(|e| panic!("{loader} resolves in the container: {e:#}"));
    let name = loader.rsplit('/').next().unwrap();
    assert_eq!(resolved, container(s, &format!("usr/local/glibc/usr/lib/{name}")), "{loader}");
    assert!(s.rootfs("usr/local/share/spdx/glibc.spdx.json").is_file(), "the layer's SBOM is the extension's");
    // Neither the stand-in layer nor Debian's glibc is the pinned release: the image says so.
    assert!(
        s.overridden_sources.iter().any(|o| o == "glibc/glibc"),
        "the glibc layer marks the image: {:?}",
        s.overridden_sources
    );
    assert!(!container(s, "usr/local/share/spdx").exists(), "no SBOM inside the container root");

    // zlib-ng (amd64): libz.so.1 where the layered glibc's loader finds it, in the SBOM.
    let libz = container(s, &format!("{}/libz.so.1", nfm::ZLIB_NG_DIR));
    if nfm::ships_zlib_ng(arch) {
        let elf = crate::elf::ElfInfo::read(&std::fs::canonicalize(&libz).unwrap()).unwrap();
        assert_eq!(elf.soname.as_deref(), Some("libz.so.1"), "zlib-ng's zlib-compatible library");
        assert!(elf.needed.iter().any(|n| n == "libc.so.6"), "a glibc library: {:?}", elf.needed);
    } else {
        assert!(std::fs::symlink_metadata(&libz).is_err(), "zlib-ng is shipped for amd64 only");
    }

    // Debian's gcc runtime, recorded with its Debian version.
    let (package, file) = nfm::gcc_runtime(arch);
    let bytes = std::fs::read(container(s, nfm::GCC_RUNTIME_DEST)).unwrap();
    assert!(bytes == std::fs::read(file).unwrap(), "{} is Debian's {file}", nfm::GCC_RUNTIME_DEST);
    let version = crate::step::Command::new("dpkg-query").args(["-W", "-f=${Version}", package]).read().unwrap();
    let doc_path = s.rootfs(&talos_ext_sbom::spdx_path(&meta.name));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&doc_path).unwrap()).unwrap();
    let packages = doc["packages"].as_array().unwrap();
    let gcc = packages.iter().find(|p| p["name"] == package).unwrap_or_else(|| panic!("no {package} in the SBOM"));
    assert_eq!(gcc["versionInfo"].as_str(), Some(version.trim()), "{package}'s Debian version");
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    assert!(
        doc["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["fileName"] == format!("/{CONTAINER}/{}", nfm::GCC_RUNTIME_DEST)
                && f["checksums"][0]["checksumValue"] == sha.as_str()),
        "the gcc runtime's file and sha256 are in the SBOM"
    );
    assert_eq!(packages.iter().any(|p| p["name"] == nfm::ZLIB_NG), nfm::ships_zlib_ng(arch), "zlib-ng in the SBOM");
    for (_, to) in &vendor_programs {
        let node = format!("/{CONTAINER}/{to}");
        assert!(
            packages.iter().any(|p| p["name"] == node.as_str() && p["primaryPackagePurpose"] == "APPLICATION"),
            "{node} is a vendor binary of the SBOM"
        );
    }

    // The wrapper: static, no build paths, and it runs NVLSM and the fabric manager.
    let wrapper = container(s, nfm::WRAPPER);
    assert_eq!(mode(&wrapper), 0o755);
    check_static_program(arch, &wrapper).unwrap_or_else(|e| panic!("{e:#}"));
    s.check_no_build_paths(&format!("{CONTAINER}/{}", nfm::WRAPPER)).unwrap_or_else(|e| panic!("{e:#}"));
    check_wrapper_runs(arch, &wrapper);
}

/// Runs the wrapper (`NVIDIA_FABRICMANAGER_WRAPPER_ROOT` set to a fake tree; arm64 under qemu)
/// twice: on a tree with an NVSwitch management port and ib_umad, it starts the fake NVLSM with
/// the port's GUID, waits for its socket, starts the fake fabric manager with that GUID, and
/// exits with the fabric manager's status once it ends (stopping NVLSM); without ib_umad it
/// starts only the fabric manager, without the GUID.
pub fn check_wrapper_runs(arch: Arch, wrapper: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for with_umad in [true, false] {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let log = tmp.path().join("calls.log");
        let write = |rel: &str, text: &str, mode: u32| {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        write("sys/class/infiniband/mlx5_0/device/vpd", "\u{82}\u{10}PN SMDL=SW_MNG\u{0}RV", 0o444);
        write("sys/class/infiniband/mlx5_0/ports/1/gids/0", "fe80:0000:0000:0000:a088:c203:00f1:2e3c\n", 0o444);
        write("sys/class/infiniband/mlx5_1/device/vpd", "PN other function", 0o444);
        write("sys/class/infiniband/mlx5_1/ports/1/gids/0", "fe80:0000:0000:0000:0000:0000:0000:0001\n", 0o444);
        if with_umad {
            write("sys/class/infiniband_mad/abi_version", "5\n", 0o444);
        }
        std::fs::create_dir_all(root.join("var/run")).unwrap();
        let socket = root.join("var/run/nvidia-fabricmanager/fm_sm_ipc.socket");
        write(
            "opt/nvidia/nvlsm/sbin/nvlsm",
            &format!("#!/bin/sh\necho \"nvlsm $*\" >> {}\n: > {}\nexec sleep 30\n", log.display(), socket.display()),
            0o755,
        );
        write("usr/bin/nv-fabricmanager", &format!("#!/bin/sh\necho \"fm $*\" >> {}\nexit 3\n", log.display()), 0o755);
        let started = std::time::Instant::now();
        let out = target_command(arch, wrapper)
            .env("NVIDIA_FABRICMANAGER_WRAPPER_ROOT", &root)
            .output_unchecked()
            .unwrap_or_else(|e| panic!("running the wrapper: {e}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "the fabric manager's status:\n{stderr}");
        assert!(started.elapsed().as_secs() < 20, "the wrapper stops NVLSM in time:\n{stderr}");
        let calls = std::fs::read_to_string(&log).unwrap_or_default();
        let r = root.display();
        let guid = "0xa088c20300f12e3c";
        let want = if with_umad {
            format!(
                "nvlsm --config {r}/usr/share/nvidia/nvlsm/nvlsm.conf --guid {guid} --pid_file {r}/var/run/nvlsm.pid --log_file stdout\n\
                 fm --config {r}/usr/share/nvidia/nvswitch/fabricmanager.cfg --fm-sm-mgmt-port-guid {guid}\n"
            )
        } else {
            format!("fm --config {r}/usr/share/nvidia/nvswitch/fabricmanager.cfg\n")
        };
        assert_eq!(calls, want, "{arch} wrapper (ib_umad: {with_umad}):\n{stderr}");
        if !with_umad {
            assert!(stderr.contains("ib_umad"), "the wrapper says why NVLSM does not run:\n{stderr}");
        }
    }
}

/// Staging each arch from the other arch's stand-ins must fail, naming the vendor program and
/// both ELF machines.
pub fn check_refuses_the_wrong_arch(manifest_dir: &str, recipe: Recipe, zlib_ng_recipe: Recipe) {
    for arch in [Arch::Amd64, Arch::Arm64] {
        let other = if arch == Arch::Amd64 { Arch::Arm64 } else { Arch::Amd64 };
        let (tmp, mut opts) = options(manifest_dir, arch, zlib_ng_recipe).unwrap_or_else(|e| panic!("{e:#}"));
        // The other arch's archives, under this arch's repins.
        let meta = load_meta(Path::new(manifest_dir)).unwrap();
        let (fm, sm) = stand_in_archives(other, &tmp.path().join("other"), meta.version.upstream_part(), "0").unwrap();
        let by_sha = tmp.path().join("mirror/sha256");
        opts.repins.clear();
        for (source, file) in [(nfm::FABRICMANAGER_SOURCE, &fm), (nfm::NVLSM_SOURCE, &sm)] {
            let repin = Repin::of_file(source, arch, file).unwrap();
            std::fs::copy(file, by_sha.join(repin.sha256.as_str())).unwrap();
            opts.repins.push(repin);
        }
        let err = super::stage_with(manifest_dir, recipe, arch, &opts).expect_err("the other arch's stand-ins");
        let msg = format!("{err:#}");
        let machine = |a: Arch| crate::prebuilt::machine_name(a.elf_machine());
        assert!(msg.contains("NVLSM program `sbin/nvlsm`"), "{msg}");
        assert!(msg.contains(&machine(arch)) && msg.contains(&machine(other)), "{msg}");
    }
}

/// With the real glibc layered in: the container root's loader (what NVIDIA's loader path
/// resolves to there) is glibc 2.43's, Debian's orig of it (the glibc crate's override), not this
/// machine's 2.36; [`check_staged`] ran the stand-in programs through it.
pub fn check_runs_with_the_layered_glibc(s: &Staged, arch: Arch) {
    let root = s.rootfs(CONTAINER);
    let loader = super::resolve_in_rootfs(&root, nfm::nvidia_loader(arch)).unwrap_or_else(|e| panic!("{e:#}"));
    let out = super::target_command(arch, &loader)
        .arg("--version")
        .read()
        .unwrap_or_else(|e| panic!("the layered loader's --version: {e:#}"));
    assert!(out.contains("2.43"), "the layered loader is glibc 2.43's:\n{out}");
}

/// The tests every `nvidia-fabricmanager-*` crate has besides its staging tests: its pins (the
/// fabric manager version `$fm` and NVLSM version `$sm`, [`check_pins`]), the offline fail-fast
/// naming a source, and the other arch's stand-ins refused ([`check_refuses_the_wrong_arch`]).
/// `$recipe` is the crate's recipe and `$zlib_ng_recipe` the `zlib-ng-nvidia` crate's (their
/// `build.rs` included by the test).
#[macro_export]
macro_rules! fabricmanager_recipe_tests {
    ($recipe:path, $zlib_ng_recipe:path, $fm:literal, $sm:literal) => {
        #[test]
        fn metadata_pins_both_archives_per_arch() {
            $crate::testing::fabricmanager::check_pins(env!("CARGO_MANIFEST_DIR"), $fm, $sm);
        }

        #[test]
        fn offline_without_the_archives_fails_naming_a_source() {
            $crate::testing::check_offline_fails_naming_a_source(env!("CARGO_MANIFEST_DIR"), $recipe);
        }

        #[test]
        fn stand_ins_for_the_wrong_arch_are_refused_naming_both_machines() {
            $crate::testing::fabricmanager::check_refuses_the_wrong_arch(
                env!("CARGO_MANIFEST_DIR"),
                $recipe,
                $zlib_ng_recipe,
            );
        }
    };
}
