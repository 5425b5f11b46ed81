//! NVIDIA's fabric manager for NVSwitch systems, the one recipe of the two
//! `nvidia-fabricmanager-*` extensions (LTS and production differ only by their pins: the
//! fabric manager and NVLSM archives and the version).
//!
//! Facts from siderolabs/extensions (nvidia-gpu/nvidia-fabricmanager: `lts` and `production`
//! `pkg.yaml` and service file, `nvidia-fabricmanager-gcc-runtime`, `nvidia-fabricmanager-wrapper`,
//! and the upstream catalog's `destdir_installs`); the texts and code below are ours.
//!
//! Everything runs in the service's own container root, [`CONTAINER`] (upstream's layout; the
//! programs see it as `/`):
//!
//! - **glibc**: the `glibc` extension's staged rootfs, layered into the container root with
//!   [`Stage::layer_extension_into`] (upstream copies its glibc stage there), so NVIDIA's glibc
//!   programs need nothing from the host: the loader link `usr/lib/<loader>` it brings, reached
//!   through `lib64 -> usr/lib` (amd64) or `lib -> usr/lib` (arm64), is the interpreter
//!   NVIDIA's programs name ([`nvidia_loader`]);
//! - **the fabric manager archive** ([`FABRICMANAGER_SOURCE`]): `nv-fabricmanager` and
//!   `nvswitch-audit` into `usr/bin`, `libnvfm.so.1` (and its `libnvfm.so` link) into `usr/lib`, the
//!   topology files and `fabricmanager.cfg` into `usr/share/nvidia/nvswitch`, the configuration
//!   edited as upstream does ([`edit_config`]);
//! - **the NVLSM archive** ([`NVLSM_SOURCE`]): `nvlsm` into `opt/nvidia/nvlsm/sbin`,
//!   `libgrpc_mgr.so` into `opt/nvidia/nvlsm/lib`, its three configuration files into
//!   `usr/share/nvidia/nvlsm`;
//! - **the gcc runtime** NVLSM links (`libgcc_s.so.1`, into `opt/nvidia/nvlsm/lib`): upstream
//!   takes it from Wolfi's gcc runtime image; we take Debian's own, the build machine's gcc-12
//!   runtime package for the arch ([`GCC_RUNTIME`]: `libgcc-s1`, or `libgcc-s1-arm64-cross` of
//!   the arm64 cross compiler), recorded in the SBOM with that package's version;
//! - **the wrapper** (`usr/bin/nvidia-fabricmanager-wrapper`, the service's entrypoint): our own
//!   static musl C program ([`WRAPPER_C`]) doing what upstream's Go wrapper does (find the NVSwitch
//!   management port, start NVLSM with it, then the fabric manager; pass the stop on). It differs
//!   from upstream's in three ways: it reads the port GUIDs from sysfs (`ports/<n>/gids/0`, the
//!   same files libibumad's `umad_get_ca_portguids` reads) instead of linking rdma-core's static
//!   libibumad, checking only that the user MAD interface is there (`ib_umad`'s
//!   `abi_version`, what `umad_init` checks); it does not prefix the programs' output lines with
//!   their names; and it exits with the status of the first program that ends.
//!
//! - **zlib-ng** (amd64, as upstream): the `zlib-ng-nvidia` library stage's zlib-compatible
//!   `libz.so.1` (a glibc shared library) and its soname link, into the container's
//!   `usr/local/glibc/usr/lib` ([`ZLIB_NG_DIR`]). Upstream puts it in `/usr/local/lib`, which its
//!   glibc (prefix `/usr/local`) searches; the `glibc` extension here has prefix
//!   `/usr/local/glibc`, whose loader searches its own library directory instead.

use std::path::Path;

use anyhow::{Context, Result, bail};
use talos_ext_model::Arch;

use crate::stage::Stage;

/// The service's container root, relative to the rootfs.
pub const CONTAINER: &str = "usr/local/lib/containers/nvidia-fabricmanager";
/// The pinned per-arch fabric manager archive (`fabricmanager-linux-<x86_64|sbsa>-<version>-archive`).
pub const FABRICMANAGER_SOURCE: &str = "fabricmanager";
/// The pinned per-arch NVLSM archive (`nvlsm-linux-<x86_64|sbsa>-<version>-archive`).
pub const NVLSM_SOURCE: &str = "nvlsm";
/// The extension layered into the container root.
pub const GLIBC: &str = "glibc";
/// The library stage of zlib-ng (amd64 only), and where its shared library goes in the
/// container root: the layered glibc's library directory, which its loader searches.
pub const ZLIB_NG: &str = "zlib-ng-nvidia";
pub const ZLIB_NG_DIR: &str = "usr/local/glibc/usr/lib";
/// The arches upstream ships zlib-ng for.
pub fn ships_zlib_ng(arch: Arch) -> bool {
    arch == Arch::Amd64
}

/// The service spec's path, relative to the rootfs.
pub const SERVICE_PATH: &str = "usr/local/etc/containers/nvidia-fabricmanager.yaml";
/// The service spec (ours): the wrapper in the container root, which holds glibc itself; the
/// host's device nodes, and the service's own run, cache and log directories as the container's
/// `/var/run`, `/var/cache` and `/var/log` (NVLSM's pid file and socket, the fabric manager's
/// state and database, NVLSM's database and dump files).
pub const SERVICE: &str = "\
name: nvidia-fabricmanager
container:
  entrypoint: /usr/bin/nvidia-fabricmanager-wrapper
  mounts:
    - {source: /dev, destination: /dev, type: bind, options: [rshared, rbind, rw]}
    - {source: /var/run/nvidia-fabricmanager, destination: /var/run, type: bind, options: [rshared, rbind, rw]}
    - {source: /var/cache/nvidia-fabricmanager, destination: /var/cache, type: bind, options: [rshared, rbind, rw]}
    - {source: /var/log/nvidia-fabricmanager, destination: /var/log, type: bind, options: [rshared, rbind, rw]}
depends:
  - service: cri
  - service: udevd
  - path: /sys/bus/pci/drivers/nvidia
restart: always
";

/// The wrapper's C source (ours; see the module docs).
pub const WRAPPER_C: &str = include_str!("nvidia_fabricmanager_wrapper.c");
/// The wrapper's path in the container root.
pub const WRAPPER: &str = "usr/bin/nvidia-fabricmanager-wrapper";

/// The fabric manager archive's programs: `(archive path, container path)`, glibc programs.
pub const FM_PROGRAMS: [(&str, &str); 2] =
    [("bin/nv-fabricmanager", "usr/bin/nv-fabricmanager"), ("bin/nvswitch-audit", "usr/bin/nvswitch-audit")];
/// The fabric manager's library and its development link.
pub const FM_LIBRARY: (&str, &str) = ("lib/libnvfm.so.1", "usr/lib/libnvfm.so.1");
pub const FM_LIBRARY_LINK: (&str, &str) = ("usr/lib/libnvfm.so", "libnvfm.so.1");
/// Where the topology files and the configuration go.
pub const NVSWITCH_DIR: &str = "usr/share/nvidia/nvswitch";
/// NVLSM's program and library.
pub const SM_PROGRAM: (&str, &str) = ("sbin/nvlsm", "opt/nvidia/nvlsm/sbin/nvlsm");
pub const SM_LIBRARY: (&str, &str) = ("lib/libgrpc_mgr.so", "opt/nvidia/nvlsm/lib/libgrpc_mgr.so");
/// NVLSM's configuration files (of the archive's `share/nvidia/nvlsm`), into [`SM_CONFIG_DIR`].
pub const SM_CONFIGS: [&str; 3] = ["device_configuration.conf", "grpc_mgr.conf", "nvlsm.conf"];
pub const SM_CONFIG_DIR: &str = "usr/share/nvidia/nvlsm";
/// Where the gcc runtime goes (NVLSM's library directory).
pub const GCC_RUNTIME_DEST: &str = "opt/nvidia/nvlsm/lib/libgcc_s.so.1";

/// Debian's gcc runtime for an arch: `(package, file)` on the build machine.
pub fn gcc_runtime(arch: Arch) -> (&'static str, &'static str) {
    match arch {
        Arch::Amd64 => ("libgcc-s1", "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1"),
        Arch::Arm64 => ("libgcc-s1-arm64-cross", "/usr/aarch64-linux-gnu/lib/libgcc_s.so.1"),
    }
}
/// The gcc runtime's packages (see [`gcc_runtime`]), for the docs and `ci/setup.sh`.
pub const GCC_RUNTIME: [&str; 2] = ["libgcc-s1", "libgcc-s1-arm64-cross"];

/// The interpreter NVIDIA's glibc programs name for an arch (the glibc ABI's standard path).
pub fn nvidia_loader(arch: Arch) -> &'static str {
    match arch {
        Arch::Amd64 => "/lib64/ld-linux-x86-64.so.2",
        Arch::Arm64 => "/lib/ld-linux-aarch64.so.1",
    }
}

/// The container root's link that makes [`nvidia_loader`] reach glibc's `usr/lib`:
/// `(link, target)`, relative to the container root.
pub fn loader_dir_link(arch: Arch) -> (&'static str, &'static str) {
    match arch {
        Arch::Amd64 => ("lib64", "usr/lib"),
        Arch::Arm64 => ("lib", "usr/lib"),
    }
}

/// Upstream's edits of `fabricmanager.cfg`: run in the foreground, log to the output (no log
/// file), keep the state file and the database in `/var/run` (the service's run directory); a
/// `DATABASE_PATH` line is added when the file has none.
pub fn edit_config(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut database = false;
    for line in text.lines() {
        let edited = if line.starts_with("DAEMONIZE=") {
            "DAEMONIZE=0"
        } else if line.starts_with("LOG_FILE_NAME=") {
            "LOG_FILE_NAME="
        } else if line.starts_with("STATE_FILE_NAME=") {
            "STATE_FILE_NAME=/var/run/fabricmanager.state"
        } else if line.starts_with("DATABASE_PATH=") {
            database = true;
            "DATABASE_PATH=/var/run"
        } else {
            line
        };
        out.push_str(edited);
        out.push('\n');
    }
    if !database {
        out.push_str("\nDATABASE_PATH=/var/run\n");
    }
    out
}

/// Stages the whole extension for the stage's arch (see the module docs).
pub fn fabric_manager(s: &mut Stage) -> Result<()> {
    let arch = s.arch();
    // The vendor archives first: a missing pin fails in seconds.
    let fm = s.source(FABRICMANAGER_SOURCE)?;
    let sm = s.source(NVLSM_SOURCE)?;
    s.layer_extension_into(GLIBC, CONTAINER)?;
    let c = |rel: &str| format!("{CONTAINER}/{rel}");
    let fm_pin = s.meta().source(FABRICMANAGER_SOURCE, arch).context("the fabric manager pin")?.clone();
    let sm_pin = s.meta().source(NVLSM_SOURCE, arch).context("the NVLSM pin")?.clone();

    // The vendor's ELF files: NVLSM's program and library, the fabric manager's programs and
    // library; the programs name NVIDIA's loader path, which the layered glibc provides.
    let loader = Some(nvidia_loader(arch));
    let mut vendor_files =
        vec![("NVLSM program", &sm_pin, &sm, SM_PROGRAM, loader), ("NVLSM library", &sm_pin, &sm, SM_LIBRARY, None)];
    vendor_files.extend(FM_PROGRAMS.map(|file| ("fabric manager program", &fm_pin, &fm, file, loader)));
    vendor_files.push(("fabric manager library", &fm_pin, &fm, FM_LIBRARY, None));
    for (what, pin, archive, (from, to), loader) in vendor_files {
        s.install_vendor_program(
            &format!("{what} `{from}`"),
            pin,
            &archive_file(archive, from)?,
            &c(to),
            0o755,
            loader,
        )?;
    }
    for name in SM_CONFIGS {
        s.install(
            &archive_file(&sm, &format!("share/nvidia/nvlsm/{name}"))?,
            &c(&format!("{SM_CONFIG_DIR}/{name}")),
            0o644,
        )?;
    }
    let (link, target) = FM_LIBRARY_LINK;
    s.symlink(target, &c(link))?;
    let topologies = fm.join("share/nvidia/nvswitch");
    let mut topology_files = 0;
    for entry in talos_ext_fs::sorted_entries(&topologies)? {
        let path = entry.path();
        if entry.file_type().with_context(|| format!("reading {}", path.display()))?.is_file() {
            let name = entry.file_name().to_string_lossy().to_string();
            s.install(&path, &c(&format!("{NVSWITCH_DIR}/{name}")), 0o644)?;
            topology_files += 1;
        }
    }
    if topology_files == 0 {
        bail!("the fabric manager archive of `{}` has no topology files in share/nvidia/nvswitch", s.meta().name);
    }
    let cfg = archive_file(&fm, "etc/fabricmanager.cfg")?;
    let text = std::fs::read_to_string(&cfg).with_context(|| format!("reading {}", cfg.display()))?;
    s.install_bytes(&c(&format!("{NVSWITCH_DIR}/fabricmanager.cfg")), edit_config(&text).as_bytes(), 0o644)?;

    // zlib-ng (amd64): the shared library and its soname link out of the stage's sysroot.
    if ships_zlib_ng(arch) {
        let sysroot = s.use_library(ZLIB_NG)?;
        install_zlib_ng(s, &sysroot.join("usr/local/lib"), &c(ZLIB_NG_DIR))?;
    }

    // The gcc runtime and the loader's directory link.
    install_gcc_runtime(s, &c(GCC_RUNTIME_DEST))?;
    let (link, target) = loader_dir_link(arch);
    s.symlink(target, &c(link))?;

    // The wrapper and the service.
    let dir = s.work_dir().join("fabricmanager-wrapper");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join("wrapper.c"), WRAPPER_C)
        .with_context(|| format!("writing {}", dir.join("wrapper.c").display()))?;
    let wrapper = s.compile_source_program("nvidia-fabricmanager-wrapper", &dir, &["wrapper.c"])?;
    s.install(&wrapper, &c(WRAPPER), 0o755)?;
    s.install_bytes(SERVICE_PATH, SERVICE.as_bytes(), 0o644)?;
    Ok(())
}

/// `libz.so.1` of the zlib-ng stage's `lib` directory (a link to the versioned file) into
/// `dest`: the file and the link.
fn install_zlib_ng(s: &Stage, lib: &Path, dest: &str) -> Result<()> {
    let soname = lib.join("libz.so.1");
    let target = std::fs::read_link(&soname)
        .with_context(|| format!("reading {} (the zlib-ng stage's soname link)", soname.display()))?;
    let file = target.to_string_lossy().to_string();
    if file.contains('/') || !file.starts_with("libz.so.1.") {
        bail!("{} points to {file}, not a versioned libz.so.1.* beside it", soname.display());
    }
    let bytes = std::fs::read(lib.join(&file)).with_context(|| format!("reading {}", lib.join(&file).display()))?;
    crate::prebuilt::check_payload_elf(&format!("zlib-ng's {file}"), &bytes, s.arch(), None)?;
    s.install_bytes(&format!("{dest}/{file}"), &bytes, 0o755)?;
    s.symlink(&file, &format!("{dest}/libz.so.1"))
}

/// A file of an unpacked vendor archive, named in the error when it is missing.
fn archive_file(tree: &Path, rel: &str) -> Result<std::path::PathBuf> {
    let path = tree.join(rel);
    if !path.is_file() {
        bail!("the vendor archive unpacked at {} has no {rel}", tree.display());
    }
    Ok(path)
}

/// Debian's gcc runtime for the stage's arch at `dest` (see [`gcc_runtime`]), ELF-checked and
/// recorded in the SBOM as Debian's package with its version.
fn install_gcc_runtime(s: &Stage, dest: &str) -> Result<()> {
    let arch = s.arch();
    let (package, file) = gcc_runtime(arch);
    let bytes = std::fs::read(file).with_context(|| {
        format!("reading {file}, Debian's {package} (the gcc runtime NVLSM links)\nhint: run ci/setup.sh")
    })?;
    crate::prebuilt::check_payload_elf(&format!("Debian's {file}"), &bytes, arch, None)?;
    let version = crate::step::Command::new("dpkg-query")
        .name("dpkg-query-gcc-runtime")
        .args(["-W", "-f=${Version}", package])
        .read()
        .with_context(|| format!("asking dpkg for the version of {package}"))?;
    let version = version.trim().to_string();
    if version.is_empty() {
        bail!("dpkg reports no version of {package}");
    }
    s.install_bytes(dest, &bytes, 0o644)?;
    let sha256 = talos_ext_model::Sha256::parse(&hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)))
        .context("internal error: a computed sha256 does not parse")?;
    let upstream = version.split('-').next().unwrap_or(&version).to_string();
    let deb_arch = if package.ends_with("-cross") { "all" } else { "amd64" };
    s.binaries.borrow_mut().push(talos_ext_sbom::Component {
        // Debian's package, at its Debian version (the gcc release is in the CPE).
        name: package.to_string(),
        version: version.clone(),
        license: Some("GPL-3.0-or-later WITH GCC-exception-3.1".into()),
        cpes: vec![format!("cpe:2.3:a:gnu:gcc:{upstream}:*:*:*:*:*:*:*")],
        purl: Some(format!("pkg:deb/debian/{package}@{version}?arch={deb_arch}")),
        sources: Vec::new(),
        binary: Some(talos_ext_sbom::Binary { path: format!("/{dest}"), sha256 }),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_edits_are_upstreams() {
        let text = "DAEMONIZE=1\nLOG_FILE_NAME=/var/log/fabricmanager.log\n# comment\nSTATE_FILE_NAME=/tmp/fm.state\n";
        let edited = edit_config(text);
        assert_eq!(
            edited,
            "DAEMONIZE=0\nLOG_FILE_NAME=\n# comment\nSTATE_FILE_NAME=/var/run/fabricmanager.state\n\nDATABASE_PATH=/var/run\n"
        );
        let with_db = edit_config("DATABASE_PATH=/usr/share/nvidia/nvswitch\nDAEMONIZE=1\n");
        assert_eq!(with_db, "DATABASE_PATH=/var/run\nDAEMONIZE=0\n", "an existing line is replaced, none added");
    }

    #[test]
    fn service_spec_is_talos_schema_with_the_wrapper() {
        assert!(SERVICE.starts_with("name: nvidia-fabricmanager\n"));
        assert!(SERVICE.contains(&format!("entrypoint: /{WRAPPER}\n")));
        for (arch, lib) in [(Arch::Amd64, "lib64"), (Arch::Arm64, "lib")] {
            let (link, target) = loader_dir_link(arch);
            assert_eq!(link, lib);
            let loader = nvidia_loader(arch);
            assert!(loader.starts_with(&format!("/{link}/")), "{loader} goes through {link} -> {target}");
        }
    }
}
