//! Recipe for `lldpd`: the upstream autotools project configured as the upstream extension does
//! (prefix `/usr/local`, configuration in `/usr/local/etc/lldpd`, privilege separation as root
//! chrooted to `/opt/lldpd`, hardening on), linked statically against musl and the internal
//! `libevent` stage instead of the copy of libevent lldpd bundles. Everything lives in the
//! service's container root `/usr/local/lib/containers/lldpd`, as upstream installs it there;
//! `lldpd.yaml` runs the daemon from it.
//!
//! Differences from the upstream extension, and why:
//! - `patches/` adds our own `<sys/queue.h>` (musl has none; upstream adds one too);
//! - no libcap: with the privilege-separation user being root, lldpd keeps no capabilities
//!   across a user change, so it has nothing to use libcap for (upstream links it all the same);
//! - static programs, so the container needs no musl loader or shared libraries; the container
//!   root gets its own `/etc/passwd` and `/etc/group` naming root, which lldpd looks up for its
//!   privilege separation; headers, the static liblldpctl, man pages, docs and shell completions
//!   are not shipped.

use talos_ext_build::prelude::*;

/// The service's container root (Talos runs `lldpd.yaml` with this as `/`).
const CONTAINER: &str = "usr/local/lib/containers/lldpd";

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    s.use_library("libevent")?;
    let src = s.source("lldpd")?;
    let built = s
        .autotools("lldpd", &src)
        .configure_args([
            // Upstream's flags.
            "--libexecdir=/usr/local/lib/lldpd",
            "--datadir=/usr/local/share/lldpd",
            "--sysconfdir=/usr/local/etc/lldpd",
            "--enable-hardening",
            "--with-privsep-user=root",
            "--with-privsep-group=root",
            "--with-privsep-chroot=/opt/lldpd",
            // Ours: the libevent stage, and no optional library found by chance.
            "--without-embedded-libevent",
            "--without-readline",
            "--without-xml",
            "--without-libbsd",
            "--with-systemdsystemunitdir=no",
            "--with-sysusersdir=no",
        ])
        .dest(Dest::Scratch)
        .run()?;
    for program in ["lldpd", "lldpcli"] {
        s.install(
            &built.installed(&format!("sbin/{program}"))?,
            &format!("{CONTAINER}/usr/local/sbin/{program}"),
            0o755,
        )?;
    }
    // lldpctl is lldpcli under its older name (upstream installs it as a link).
    s.symlink("lldpcli", &format!("{CONTAINER}/usr/local/sbin/lldpctl"))?;
    // The configuration directory lldpcli reads at start (`lldpd.d/*.conf`), as installed.
    let readme = "usr/local/etc/lldpd/lldpd.d/README.conf";
    s.install(&built.installed_at(readme)?, &format!("{CONTAINER}/{readme}"), 0o644)?;
    install_service(s)
}

/// The spec, the accounts lldpd looks up, and the directories the daemon chroots to and binds
/// its run state over.
fn install_service(s: &Stage) -> Result<()> {
    s.install(&s.input("files/lldpd.yaml")?, "usr/local/etc/containers/lldpd.yaml", 0o644)?;
    s.install(&s.input("files/passwd")?, &format!("{CONTAINER}/etc/passwd"), 0o644)?;
    s.install(&s.input("files/group")?, &format!("{CONTAINER}/etc/group"), 0o644)?;
    s.mkdir(&format!("{CONTAINER}/opt/lldpd"))?;
    s.mkdir(&format!("{CONTAINER}/usr/local/var/run"))?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
