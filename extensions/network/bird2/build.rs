//! Recipe for `bird2`: BIRD's autotools project configured as the upstream extension does
//! (`--disable-client`, prefix `/usr/local`), linked statically against musl, and installed into
//! the service's container root `/usr/local/lib/containers/bird2`, as upstream installs it there:
//! the daemon `bird` and the light client `birdcl` (built without readline: `--disable-client`
//! only leaves out the readline client `birdc`), the empty configuration directory (the node's
//! `ExtensionServiceConfig` mounts `bird.conf` into it) and the run state directory the spec
//! binds `/var/run/bird` over (the control socket `bird.ctl`). `files/bird2.yaml` runs the daemon.
//!
//! The pin is GitLab's archive of the tag, which has no `configure`: the recipe generates it
//! with `autoreconf` when the tree lacks one (a release tarball has it). bison, flex and m4 are
//! build-machine tools (ci/setup.sh installs them).
//!
//! BIRD's Makefile has a race under `make -j` (it may write `nest/proto-build.c` before the
//! build directories exist): `files/order.mk`, read after it, adds the missing order-only
//! prerequisite.
//!
//! Differences from upstream, and why: static programs, so the container needs no musl loader;
//! `--disable-libssh` says what upstream's build finds anyway (no libssh), so that no optional
//! library is linked by chance. Like upstream, the sample `bird.conf` is not shipped.

use talos_ext_build::prelude::*;

/// The service's container root (Talos runs `bird2.yaml` with this as `/`).
const CONTAINER: &str = "usr/local/lib/containers/bird2";

/// The programs `make install` installs (`--disable-client`: no `birdc`).
pub const PROGRAMS: &[&str] = &["bird", "birdcl"];

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let src = s.source("bird2")?;
    let mut bird = s.autotools("bird2", &src);
    if !src.join("configure").is_file() {
        bird = bird.autoreconf();
    }
    let order = s.input("files/order.mk")?;
    let built = bird
        .configure_args(["--disable-client", "--disable-libssh"])
        .make_args(["-f".into(), "Makefile".into(), "-f".into(), order.display().to_string()])
        .make_targets(["all"])
        .dest(Dest::Scratch)
        .run()?;
    for program in PROGRAMS {
        s.install(
            &built.installed(&format!("sbin/{program}"))?,
            &format!("{CONTAINER}/usr/local/sbin/{program}"),
            0o755,
        )?;
    }
    s.mkdir(&format!("{CONTAINER}/usr/local/etc"))?;
    s.mkdir(&format!("{CONTAINER}/usr/local/var/run"))?;
    s.install(&s.input("files/bird2.yaml")?, "usr/local/etc/containers/bird2.yaml", 0o644)?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
