//! Recipe for `nvme-cli`: the upstream meson project, linked statically against musl and the
//! `libnvme` and `json-c` library stages, shipping `/usr/bin/nvme` (a path on Talos' allowlist)
//! and the udev rules for NVMe over Fabrics in `/usr/lib/udev/rules.d`.
//!
//! Upstream's flags are `-Db_lto=true -Dudevrulesdir=/usr/lib/udev/rules.d -Dsbindir=/usr/bin
//! -Djson-c=enabled -Ddocs=false -Dsysconfdir=/etc`; all are kept but `b_lto` (its internal
//! static archives would hold LTO objects, which need `gcc-ar`; the cross file names `ar`).
//! Like upstream, the recipe ships only the program and the rules: not the sample
//! `/etc/nvme/discovery.conf` (Talos' `/etc` is not extension space), the systemd units, dracut
//! snippets, shell completions or docs.

use std::path::Path;

use talos_ext_build::prelude::*;

/// The udev rules directory, as the recipe passes it to meson and as installed.
const UDEV_RULES: &str = "usr/lib/udev/rules.d";

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    s.use_library("json-c")?;
    s.use_library("libnvme")?;
    let src = s.source("nvme-cli")?;
    // The driver's own install directory, emptied before each install: stale rules never ship.
    let built = s
        .meson("nvme-cli", &src)
        .option("json-c", "enabled")
        .option("docs", "false")
        .option("sbindir", "/usr/bin")
        .option("udevrulesdir", &format!("/{UDEV_RULES}"))
        .option("sysconfdir", "/etc")
        // The program only: upstream's unit tests are not shipped.
        .targets(["nvme"])
        .dest(Dest::Scratch)
        .run()?;
    s.install(&built.output("nvme"), "usr/bin/nvme", 0o755)?;
    for rules in udev_rules(&built.installed_at(UDEV_RULES)?)? {
        let name = rules.file_name().context("a rules file has no name")?.to_string_lossy();
        s.install(&rules, &format!("{UDEV_RULES}/{name}"), 0o644)?;
    }
    Ok(())
}

/// The `*.rules` files upstream installed, sorted (the list changes between releases).
fn udev_rules(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut rules = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry.with_context(|| format!("reading {}", dir.display()))?.path();
        if path.extension().is_some_and(|e| e == "rules") {
            rules.push(path);
        }
    }
    rules.sort();
    if rules.is_empty() {
        bail!("nvme-cli installed no udev rules into {}", dir.display());
    }
    Ok(rules)
}

fn main() {
    talos_ext_build::build_script(recipe)
}
