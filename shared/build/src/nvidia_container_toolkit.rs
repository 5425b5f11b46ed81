//! The NVIDIA container toolkit with the driver's userspace, the one recipe of the
//! `nvidia-container-toolkit-*` extensions (LTS and production differ only by their pins: the
//! driver archive and the version).
//!
//! Facts from siderolabs/extensions (nvidia-gpu/nvidia-container-toolkit: `nvidia-pkgs/*`,
//! `nvidia-container-runtime`, `nvidia-persistenced-wrapper`, the services and the CRI part);
//! the texts below are ours.
//!
//! - **glibc** ([`Stage::layer_extension`]): the `glibc` extension's whole rootfs, as upstream
//!   layers its glibc stage: the loader the toolkit programs and NVIDIA's utilities declare, and
//!   the library directory NVIDIA's libraries join, so the image carries what its programs need.
//! - **Toolkit** ([`Stage::go_build`]): every program of NVIDIA/nvidia-container-toolkit's
//!   `cmd/` (upstream's `make cmds`), with cgo against **glibc** (`libc = "glibc"`): the
//!   programs dlopen NVIDIA's glibc libraries (NVML), so they declare the `glibc` extension's
//!   loader; the link flags are upstream's `EXTLDFLAGS` (symbols the libraries provide at run
//!   time stay unresolved, lazily bound). Into `/usr/local/bin`, `nvidia-ctk` and
//!   `nvidia-cdi-hook` also linked from `/usr/bin`; containerd's `nvidia` runtime in
//!   [`CRI_PART`].
//! - **Loader cache**: the `glibc` layer's `ldconfig` rewrites its `ld.so.cache` with NVIDIA's
//!   libraries in it, as upstream's build does.
//! - **Driver userspace** ([`DRIVER_SOURCE`], NVIDIA's redistributable driver archive for the
//!   arch): what upstream's `nvidia-installer --no-kernel-modules` puts on the node, placed
//!   directly: the libraries of `lib/` into [`LIB_DIR`] (the `glibc` extension's library
//!   directory, which its loader searches) with their soname links, the utilities of
//!   [`UTILITIES`] into `/usr/local/bin`, the GSP firmware into
//!   `/usr/lib/firmware/nvidia/<driver version>/`, and the ICD/vendor JSON files of `etc/vulkan`,
//!   `etc/vulkansc`, `share/glvnd`, `share/egl` and `share/nvidia`. Every ELF file is checked to be
//!   for the stage's arch; the utilities to be glibc programs.
//! - **Services**: `nvidia-persistenced` (through [`PERSISTENCED_WRAPPER`], our small static
//!   program: it stops a stale daemon named by the pid file, starts the daemon and passes the
//!   service's stop signal on) and `nvidia-cdi-gen` (`nvidia-ctk cdi generate` into
//!   `/run/cdi/nvidia.yaml` once the daemon runs); the udev rule [`UDEV_RULES`] creates the
//!   device nodes with `nvidia-modprobe`.
//!
//! ```no_run
//! # use talos_ext_build::prelude::*;
//! fn recipe(s: &mut Stage) -> Result<()> {
//!     talos_ext_build::nvidia_container_toolkit::container_toolkit(s)
//! }
//! ```

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::elf::ElfInfo;
use crate::stage::Stage;

/// Where NVIDIA's libraries go: the `glibc` extension's library directory (its `--libdir`,
/// named in its `ld.so.conf`), where upstream's `nvidia-cdi-gen` service looks for them too.
pub const LIB_DIR: &str = "usr/local/glibc/usr/lib";

/// The pinned per-arch driver archive (`nvidia_driver-linux-<x86_64|sbsa>-<version>-archive`).
pub const DRIVER_SOURCE: &str = "nvidia-driver";

/// Utilities of the archive's `bin/` installed into `/usr/local/bin`: `(name, required)`.
/// `nvidia-persistenced` and `nvidia-modprobe` are what the service and the udev rule run.
pub const UTILITIES: [(&str, bool); 6] = [
    ("nvidia-smi", true),
    ("nvidia-persistenced", true),
    ("nvidia-modprobe", true),
    ("nvidia-debugdump", false),
    ("nvidia-cuda-mps-control", false),
    ("nvidia-cuda-mps-server", false),
];

/// The toolkit programs linked from `/usr/bin` too (upstream's links).
pub const USR_BIN_LINKS: [&str; 2] = ["nvidia-ctk", "nvidia-cdi-hook"];

/// The containerd CRI part's file name (under `/etc/cri/conf.d/`).
pub const CRI_PART_NAME: &str = "10-nvidia-container-runtime.part";
/// Its text: a runc-v2 runtime `nvidia` whose binary is the toolkit's runtime shim.
pub const CRI_PART: &str = "\
# The `nvidia` runtime class handler: runc through NVIDIA's container runtime, which adds the
# GPU devices and libraries a container asks for.
[plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.nvidia]
  runtime_type = \"io.containerd.runc.v2\"
  privileged_without_host_devices = false
  [plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.nvidia.options]
    BinaryName = \"/usr/local/bin/nvidia-container-runtime\"
";

/// Where the udev rule goes.
pub const UDEV_RULES_PATH: &str = "usr/lib/udev/rules.d/15-nvidia-device.rules";
/// The udev rule: device nodes for the GPUs once the `nvidia` driver binds, and for UVM once
/// its module loads.
pub const UDEV_RULES: &str = "\
# Shipped by the nvidia-container-toolkit extension: create /dev/nvidia* once the driver is there.
ACTION==\"add\", DEVPATH==\"/bus/pci/drivers/nvidia\", RUN+=\"/usr/local/bin/nvidia-modprobe -c 0\"
ACTION==\"add\", SUBSYSTEM==\"module\", DEVPATH==\"/module/nvidia_uvm\", RUN+=\"/usr/local/bin/nvidia-modprobe -c 0 -u\"
";

/// The persistence daemon's wrapper, a static musl program.
pub const PERSISTENCED_WRAPPER: &str = "usr/local/bin/nvidia-persistenced-wrapper";
/// Its C source (ours): the pid file's stale daemon is killed and the state directory removed,
/// then `nvidia-persistenced` starts (it forks into the background and writes the pid file);
/// SIGTERM or SIGINT to the wrapper is passed on to the daemon the pid file names.
pub const PERSISTENCED_WRAPPER_C: &str = r#"/* nvidia-persistenced-wrapper: run NVIDIA's persistence daemon as a Talos service. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define STATE_DIR "/var/run/nvidia-persistenced"
#define PID_FILE STATE_DIR "/nvidia-persistenced.pid"
#define DAEMON "/usr/local/bin/nvidia-persistenced"

static pid_t pid_from_file(void) {
    FILE *f = fopen(PID_FILE, "r");
    long pid = 0;
    if (!f) {
        if (errno != ENOENT) {
            perror("nvidia-persistenced-wrapper: " PID_FILE);
            exit(1);
        }
        return 0;
    }
    if (fscanf(f, "%ld", &pid) != 1 || pid <= 0) {
        fprintf(stderr, "nvidia-persistenced-wrapper: %s holds no pid\n", PID_FILE);
        exit(1);
    }
    fclose(f);
    return (pid_t)pid;
}

int main(void) {
    pid_t stale = pid_from_file();
    if (stale > 0) {
        if (kill(stale, SIGKILL) != 0 && errno != ESRCH) {
            perror("nvidia-persistenced-wrapper: killing the stale daemon");
            return 1;
        }
        unlink(PID_FILE);
        rmdir(STATE_DIR);
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    pid_t child = fork();
    if (child < 0) {
        perror("nvidia-persistenced-wrapper: fork");
        return 1;
    }
    if (child == 0) {
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        execl(DAEMON, DAEMON, (char *)NULL);
        perror("nvidia-persistenced-wrapper: " DAEMON);
        _exit(127);
    }
    int status = 0;
    if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "nvidia-persistenced-wrapper: %s failed to start\n", DAEMON);
        return 1;
    }
    int sig = 0;
    sigwait(&set, &sig);
    pid_t daemon = pid_from_file();
    if (daemon > 0 && kill(daemon, sig) != 0 && errno != ESRCH) {
        perror("nvidia-persistenced-wrapper: signalling the daemon");
        return 1;
    }
    return 0;
}
"#;

/// The persistence daemon's service spec (ours): the wrapper from the host's `/usr/local/bin`,
/// glibc with NVIDIA's libraries (`/usr/local/glibc`) and the loader's link (`/usr/lib`) bound in, the device nodes and the state directory.
pub const PERSISTENCED_SERVICE: &str = "\
name: nvidia-persistenced
container:
  entrypoint: /usr/local/bin/nvidia-persistenced-wrapper
  mounts:
    - {source: /dev, destination: /dev, type: bind, options: [rshared, rbind, rw]}
    - {source: /usr/lib, destination: /usr/lib, type: bind, options: [bind, ro]}
    - {source: /usr/local/glibc, destination: /usr/local/glibc, type: bind, options: [bind, ro]}
    - {source: /usr/local/bin, destination: /usr/local/bin, type: bind, options: [bind, ro]}
    - {source: /var/run, destination: /var/run, type: bind, options: [rshared, rbind, rw]}
depends:
  - service: cri
  - service: udevd
  - path: /sys/bus/pci/drivers/nvidia
restart: always
";

/// The CDI generator's service spec (ours): `nvidia-ctk cdi generate` writes the CDI spec of
/// the node's GPUs into `/run/cdi/nvidia.yaml`, after the persistence daemon started.
pub const CDI_GEN_SERVICE: &str = "\
name: nvidia-cdi-gen
container:
  entrypoint: /usr/local/bin/nvidia-ctk
  args:
    - cdi
    - generate
    - --library-search-path
    - /usr/local/glibc/usr/lib
    - --output
    - /run/cdi/nvidia.yaml
  mounts:
    - {source: /dev, destination: /dev, type: bind, options: [rshared, rbind, ro]}
    - {source: /usr/lib, destination: /usr/lib, type: bind, options: [bind, ro]}
    - {source: /usr/local/glibc, destination: /usr/local/glibc, type: bind, options: [bind, ro]}
    - {source: /usr/local/bin, destination: /usr/local/bin, type: bind, options: [bind, ro]}
    - {source: /var/run/nvidia-persistenced, destination: /var/run/nvidia-persistenced, type: bind, options: [rshared, rbind, ro]}
    - {source: /run/cdi, destination: /run/cdi, type: bind, options: [bind, rw]}
depends:
  - service: ext-nvidia-persistenced
restart: untilSuccess
";

/// The two services: `(name, spec)`; each has its spec in `/usr/local/etc/containers/` and a
/// container root in `/usr/local/lib/containers/<name>/` with its mount points.
pub const SERVICES: [(&str, &str); 2] =
    [("nvidia-persistenced", PERSISTENCED_SERVICE), ("nvidia-cdi-gen", CDI_GEN_SERVICE)];

/// The driver version of an extension version `<driver>-v<toolkit>` (`580.178.04-v1.19.1`).
pub fn driver_version(extension_version: &str) -> Result<&str> {
    match extension_version.split_once("-v") {
        Some((driver, toolkit)) if !driver.is_empty() && !toolkit.is_empty() => Ok(driver),
        _ => bail!("version `{extension_version}` is not `<driver version>-v<toolkit version>`"),
    }
}

/// Stages the whole extension for the stage's arch (see the module docs).
pub fn container_toolkit(s: &mut Stage) -> Result<()> {
    let version = driver_version(s.meta().version.upstream_part())?.to_string();
    // The driver archive first: a missing pin fails in seconds, before the Go build.
    let driver = s.source(DRIVER_SOURCE)?;
    s.layer_extension("glibc")?;
    for (name, program) in s.go_build()? {
        s.install(&program, &format!("usr/local/bin/{name}"), 0o755)?;
    }
    for name in USR_BIN_LINKS {
        s.symlink(&format!("/usr/local/bin/{name}"), &format!("usr/bin/{name}"))?;
    }
    s.install_bytes(&format!("{}/{CRI_PART_NAME}", crate::prebuilt::CRI_PART_DIR), CRI_PART.as_bytes(), 0o644)?;
    install_driver_userspace(s, &driver, &version)?;
    update_ld_cache(s)?;
    let wrapper_dir = s.work_dir().join("persistenced-wrapper");
    std::fs::create_dir_all(&wrapper_dir).with_context(|| format!("creating {}", wrapper_dir.display()))?;
    std::fs::write(wrapper_dir.join("wrapper.c"), PERSISTENCED_WRAPPER_C)
        .with_context(|| format!("writing {}", wrapper_dir.join("wrapper.c").display()))?;
    let wrapper = s.compile_source_program("nvidia-persistenced-wrapper", &wrapper_dir, &["wrapper.c"])?;
    s.install(&wrapper, PERSISTENCED_WRAPPER, 0o755)?;
    s.install_bytes(UDEV_RULES_PATH, UDEV_RULES.as_bytes(), 0o644)?;
    for (name, spec) in SERVICES {
        s.install_bytes(&format!("usr/local/etc/containers/{name}.yaml"), spec.as_bytes(), 0o644)?;
        s.mkdir(&format!("usr/local/lib/containers/{name}"))?;
    }
    Ok(())
}

/// The driver archive's userspace (see the module docs).
/// The `glibc` layer's `ldconfig` (named by [`LDCONFIG`] in the rootfs).
pub const LDCONFIG: &str = "/usr/bin/ldconfig";
/// The loader's configuration and cache in the `glibc` layer.
pub const LD_SO_CONF: &str = "/usr/local/glibc/etc/ld.so.conf";
pub const LD_SO_CACHE: &str = "/usr/local/glibc/etc/ld.so.cache";

/// Rewrites the `glibc` layer's `ld.so.cache` to include NVIDIA's libraries, as upstream runs
/// the layer's `ldconfig -r` over its rootfs once the driver's libraries are in: the toolkit
/// finds the driver's libraries through that cache. The layer's own static `ldconfig` runs
/// (arm64 under `qemu-aarch64-static`), with `-X`: the soname links are the recipe's, only the
/// cache is written.
fn update_ld_cache(s: &Stage) -> Result<()> {
    let rootfs = s.rootfs();
    let ldconfig = crate::resolve_in_rootfs(&rootfs, LDCONFIG)
        .with_context(|| format!("the `glibc` layer carries no {LDCONFIG}"))?;
    let cmd = match s.arch() {
        crate::Arch::Amd64 => crate::step::Command::new(&ldconfig),
        crate::Arch::Arm64 => crate::step::Command::new("qemu-aarch64-static")
            .hint("install qemu-user-static (ci/setup.sh does)")
            .arg(&ldconfig),
    };
    cmd.name("ldconfig")
        .env("LC_ALL", "C")
        .arg("-X")
        .arg("-r")
        .arg(&rootfs)
        .args(["-f", LD_SO_CONF, "-C", LD_SO_CACHE])
        .run()
        .with_context(|| format!("writing {LD_SO_CACHE} with the glibc layer's ldconfig"))?;
    Ok(())
}

fn install_driver_userspace(s: &Stage, driver: &Path, version: &str) -> Result<()> {
    let arch = s.arch();
    // Libraries: every regular file of lib/ (subdirectories kept), ELF-checked, with links
    // named by their sonames.
    let lib = driver.join("lib");
    if !lib.is_dir() {
        bail!("the driver archive of `{}` has no lib/ directory ({})", s.meta().name, lib.display());
    }
    let mut libraries = 0;
    for rel in files_below(&lib)? {
        let path = lib.join(&rel);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let dest = format!("{LIB_DIR}/{rel}");
        if !bytes.starts_with(b"\x7fELF") {
            s.install_bytes(&dest, &bytes, 0o644)?;
            continue;
        }
        let what = format!("driver library `lib/{rel}`");
        // A library may name a loader (some are runnable); only the arch matters here.
        let declared = ElfInfo::parse(&bytes).with_context(|| format!("{what} is not a readable ELF64 file"))?;
        let info = crate::prebuilt::check_payload_elf(&what, &bytes, arch, declared.interpreter.as_deref())?;
        s.install_bytes(&dest, &bytes, 0o755)?;
        libraries += 1;
        let file = rel.rsplit('/').next().unwrap_or(&rel);
        if let Some(soname) = info.soname.as_deref().filter(|n| *n != file) {
            let dir = rel.rsplit_once('/').map(|(d, _)| format!("/{d}")).unwrap_or_default();
            s.symlink(file, &format!("{LIB_DIR}{dir}/{soname}"))?;
        }
    }
    if libraries == 0 {
        bail!("the driver archive of `{}` has no libraries in lib/", s.meta().name);
    }
    // Utilities: glibc programs for the arch.
    for (name, required) in UTILITIES {
        let path = driver.join("bin").join(name);
        if !path.is_file() {
            if required {
                bail!("the driver archive of `{}` has no bin/{name}", s.meta().name);
            }
            continue;
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let what = format!("driver utility `bin/{name}`");
        let info = ElfInfo::parse(&bytes).with_context(|| format!("{what} is not a readable ELF64 file"))?;
        let Some(loader) = info.interpreter.as_deref() else {
            bail!("{what} is statically linked, but NVIDIA's utilities are glibc programs");
        };
        crate::prebuilt::check_payload_elf(&what, &bytes, arch, Some(loader))?;
        s.install_bytes(&format!("usr/local/bin/{name}"), &bytes, 0o755)?;
    }
    // GSP firmware.
    let firmware = driver.join("firmware");
    if firmware.is_dir() {
        for rel in files_below(&firmware)? {
            s.install(&firmware.join(&rel), &format!("usr/lib/firmware/nvidia/{version}/{rel}"), 0o644)?;
        }
    }
    // ICD and vendor files.
    for (from, to) in [
        ("etc/vulkan", "etc/vulkan"),
        ("etc/vulkansc", "etc/vulkansc"),
        ("share/glvnd", "usr/share/glvnd"),
        ("share/egl", "usr/share/egl"),
        ("share/nvidia", "usr/local/share/nvidia"),
    ] {
        let dir = driver.join(from);
        if dir.is_dir() {
            for rel in files_below(&dir)? {
                s.install(&dir.join(&rel), &format!("{to}/{rel}"), 0o644)?;
            }
        }
    }
    Ok(())
}

/// Regular files below `dir`, relative, sorted; symlinks are left out (the sonames make ours).
fn files_below(dir: &Path) -> Result<Vec<String>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
        for entry in talos_ext_fs::sorted_entries(dir)? {
            let path = entry.path();
            let kind = entry.file_type().with_context(|| format!("reading {}", path.display()))?;
            if kind.is_dir() {
                walk(root, &path, out)?;
            } else if kind.is_file() {
                out.push(path.strip_prefix(root).unwrap_or(&path).display().to_string());
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_version_of_the_extension_version() {
        assert_eq!(driver_version("580.178.04-v1.19.1").unwrap(), "580.178.04");
        assert!(driver_version("580.178.04").unwrap_err().to_string().contains("<driver version>-v"));
    }

    #[test]
    fn service_specs_name_their_service() {
        for (name, spec) in SERVICES {
            assert!(spec.starts_with(&format!("name: {name}\n")), "{spec}");
        }
        assert!(CRI_PART.contains("BinaryName = \"/usr/local/bin/nvidia-container-runtime\""));
    }
}
