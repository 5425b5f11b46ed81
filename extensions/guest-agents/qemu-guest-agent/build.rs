//! Recipe for `qemu-guest-agent`: QEMU's `configure` with upstream's flags (no system or user
//! emulators, no docs or firmware blobs, only the guest agent, static, stack protector on), then
//! only the `qemu-ga` target, linked statically against musl and the internal `glib` stage (and
//! the `pcre2`, `libffi` and `zlib` stages GLib links). The program lives in the service's
//! container root `/usr/local/lib/containers/qemu-guest-agent`, where upstream's install puts it
//! (`/usr/local/bin/qemu-ga` inside); `qemu-guest-agent.yaml` runs it on the virtio serial port
//! QEMU names `org.qemu.guest_agent.0`.
//!
//! QEMU's `configure` is its own script (autoconf-compatible in its options: it ignores
//! `--host`/`--build`) that writes a meson cross file from `CC`/`CFLAGS`/`LDFLAGS` and runs meson
//! itself, which must be >= 1.5 with pycotap: the pinned meson's python
//! ([`MesonRelease::Pinned`]) is passed as `--python`, so QEMU's venv takes meson from it
//! (`--disable-download`: nothing is fetched). Ours besides: `--cross-prefix` (the musl triplet,
//! so configure writes a cross file for both arches), the uapi and sysroot headers as
//! `--extra-cflags` (QEMU reads no `CPPFLAGS`), and no C++ compiler (`CXX` empty: it would be the
//! build machine's).

use talos_ext_build::prelude::*;

/// The service's container root (Talos runs `qemu-guest-agent.yaml` with this as `/`).
const CONTAINER: &str = "usr/local/lib/containers/qemu-guest-agent";

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    s.use_library("glib")?;
    let src = s.source("qemu")?;
    let setup = s.build_setup()?;
    let python = MesonRelease::Pinned.python()?;
    let built = s
        .autotools("qemu", &src)
        .configure_args([
            // Upstream's flags (`--prefix=/usr/local` is the driver's default).
            "--disable-download",
            "--static",
            "--localstatedir=/var",
            "--without-default-features",
            "--disable-system",
            "--disable-user",
            "--disable-docs",
            "--disable-install-blobs",
            "--enable-guest-agent",
            "--enable-stack-protector",
        ])
        .configure_args([
            format!("--cross-prefix={}-", setup.toolchain.arch.musl_triple()),
            format!("--python={}", python.display()),
            format!("--extra-cflags={}", setup.cppflags().join(" ")),
        ])
        .env("CXX", "")
        .make_targets(["qemu-ga"])
        .no_install()
        .run()?;
    s.install(&built.output("qga/qemu-ga"), &format!("{CONTAINER}/usr/local/bin/qemu-ga"), 0o755)?;
    install_service(s)
}

/// The spec, and the directories the service's mounts land on in the read-only container root.
fn install_service(s: &Stage) -> Result<()> {
    s.install(&s.input("files/qemu-guest-agent.yaml")?, "usr/local/etc/containers/qemu-guest-agent.yaml", 0o644)?;
    // qemu-ga's state directory (`<localstatedir>/run`: its pid file and the frozen-filesystems
    // marker), bound to the node's `/run/qemu-guest-agent`.
    s.mkdir(&format!("{CONTAINER}/var/run"))?;
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
