//! Recipe for the internal library `libnvme`: the upstream meson project, built as static
//! libraries (`libnvme.a`, `libnvme-mi.a`) with JSON support from the `json-c` library stage, and
//! installed into the stage's sysroot for nvme-cli.
//!
//! Upstream's flags are `-Db_lto=true -Djson-c=enabled -Dpython=disabled -Dsysconfdir=/etc`.
//! Kept: json-c, no python, `/etc`. Not used: `b_lto` (LTO objects in static archives need
//! `gcc-ar`; the generated cross file names plain `ar`). Also off, explicitly rather than `auto`:
//! - OpenSSL: only key derivation uses it (NVMe/TCP TLS PSKs, `gen-tls-key`/`check-tls-key`,
//!   and HMAC-transformed DH-HMAC-CHAP keys, `gen-dhchap-key --hmac`); linking the `libcrypto`
//!   stage would add an OpenSSL build per arch to every nvme-cli build;
//! - keyutils (TLS keys in the kernel keyring, `nvme tls --import`): no stage builds it;
//! - dbus and liburing (upstream's defaults are off too), the docs, tests and examples.

use talos_ext_build::prelude::*;

/// Builds libnvme into the sysroot for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    s.use_library("json-c")?;
    let src = s.source("libnvme")?;
    s.meson("libnvme", &src)
        .option("json-c", "enabled")
        .option("python", "disabled")
        .option("openssl", "disabled")
        .option("keyutils", "disabled")
        .option("libdbus", "disabled")
        .option("liburing", "disabled")
        .option("docs", "false")
        .option("tests", "false")
        .option("examples", "false")
        .option("sysconfdir", "/etc")
        .into_sysroot()
        .run()?;
    Ok(())
}

fn main() {
    talos_ext_build::library_script(recipe)
}
