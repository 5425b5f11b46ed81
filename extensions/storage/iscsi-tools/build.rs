//! Recipe for `iscsi-tools`: open-iscsi built with meson as the upstream extension configures it
//! (no systemd, no iSNS, config in `/etc/iscsi`, programs in `/usr/local/sbin`, udev rules in
//! `/usr/lib/udev/rules.d`), linked statically against musl and the internal libkmod,
//! libmount/libblkid and libcrypto stages; plus the `iscsid` extension service (its spec, its
//! empty container root, and a small wrapper that creates the node's initiator name first).

use std::path::Path;

use talos_ext_build::prelude::*;

/// Where Talos runs the `iscsid` service from (its container root; the spec bind-mounts the
/// programs and state into it).
const CONTAINER: &str = "usr/local/lib/containers/iscsid";

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    for lib in ["libkmod", "util-linux-libs", "libcrypto"] {
        s.use_library(lib)?;
    }
    let src = s.source("open-iscsi")?;
    let built = s
        .meson("open-iscsi", &src)
        .option("no_systemd", "true")
        .option("isns", "disabled")
        .option("homedir", "/etc/iscsi")
        .option("iscsi_sbindir", "/usr/local/sbin")
        .option("rulesdir", "/usr/lib/udev/rules.d")
        .dest(Dest::Scratch)
        .run()?;
    ship_sbin(s, &built.installed("sbin")?)?;
    s.install(&built.installed_at("/etc/iscsi/iscsid.conf")?, "usr/local/etc/iscsi/iscsid.conf", 0o644)?;
    s.install(
        &built.installed_at("/usr/lib/udev/rules.d/50-iscsi-firmware-login.rules")?,
        "usr/lib/udev/rules.d/50-iscsi-firmware-login.rules",
        0o644,
    )?;
    install_service(s)
}

/// Ships everything open-iscsi installs into its sbin directory (programs, helper scripts, and
/// the `brcm_iscsiuio` alias link), as the upstream extension does.
fn ship_sbin(s: &Stage, sbin: &Path) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(sbin)
        .with_context(|| format!("reading {}", sbin.display()))?
        .collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let dest = format!("usr/local/sbin/{name}");
        if entry.file_type()?.is_symlink() {
            // Stage::install copies the target; the alias must stay a link.
            let target = std::fs::read_link(entry.path())?;
            s.mkdir("usr/local/sbin")?;
            std::os::unix::fs::symlink(&target, s.rootfs().join(&dest)).with_context(|| format!("linking {dest}"))?;
        } else {
            s.install(&entry.path(), &dest, 0o755)?;
        }
    }
    Ok(())
}

/// The `iscsid` extension service: spec, wrapper, the `passwd` it mounts, its container root.
fn install_service(s: &Stage) -> Result<()> {
    let wrapper = s.compile_program("iscsid-wrapper", &["native/iscsid-wrapper.c"])?;
    s.install(&wrapper, "usr/local/sbin/iscsid-wrapper", 0o755)?;
    s.install(&s.input("files/iscsid.yaml")?, "usr/local/etc/containers/iscsid.yaml", 0o644)?;
    s.install(&s.input("files/passwd")?, "usr/local/etc/passwd", 0o644)?;
    s.mkdir(CONTAINER)?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
