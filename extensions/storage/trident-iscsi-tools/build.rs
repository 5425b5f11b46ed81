//! Recipe for `trident-iscsi-tools`: the host programs NetApp Trident's iSCSI node plugin runs on
//! the node that Talos itself does not ship, as upstream's extension lists them, each a static
//! musl binary under `/usr/local`:
//! - `lsscsi` (its pinned release, configured like upstream: `--prefix` and `--exec-prefix`
//!   `/usr/local`), installed as `make install` places it;
//! - `ls`, `cat` and `dd` from coreutils, `free` and `pgrep` from procps-ng, `blockdev` from
//!   util-linux, at the paths upstream copies them to. Upstream takes these from its build
//!   toolchain; here each project's pinned release is configured with nothing optional (no
//!   translations, ACLs, SELinux, ncurses, systemd) and only these programs are built.
//!
//! Man pages and other data are not shipped (upstream deletes `share/`).

use talos_ext_build::prelude::*;

/// Programs built alone in their project's configured tree: (project, the program in the tree,
/// where it goes).
pub const BUILT_PROGRAMS: &[(&str, &str, &str)] = &[
    ("coreutils", "src/ls", "usr/local/bin/ls"),
    ("coreutils", "src/cat", "usr/local/bin/cat"),
    ("coreutils", "src/dd", "usr/local/bin/dd"),
    ("procps-ng", "src/free", "usr/local/bin/free"),
    ("procps-ng", "src/pgrep", "usr/local/bin/pgrep"),
    ("util-linux", "blockdev", "usr/local/sbin/blockdev"),
];

/// Installed programs: lsscsi's, as its `make install` places them.
pub const INSTALLED_PROGRAMS: &[(&str, &str, &str)] = &[("lsscsi", "bin/lsscsi", "usr/local/bin/lsscsi")];

/// The upstream releases built in, for the SBOM: (source, version, license, CPE).
pub const BUNDLED: &[(&str, &str, &str, &str)] = &[
    ("lsscsi", "0.32", "GPL-2.0-or-later", ""),
    ("coreutils", "9.10", "GPL-3.0-or-later", "cpe:2.3:a:gnu:coreutils:9.10:*:*:*:*:*:*:*"),
    (
        "procps-ng",
        "4.0.4",
        "GPL-2.0-or-later AND LGPL-2.1-or-later",
        "cpe:2.3:a:procps-ng_project:procps-ng:4.0.4:*:*:*:*:*:*:*",
    ),
    ("util-linux", "2.42.2", "GPL-2.0-or-later", "cpe:2.3:a:kernel:util-linux:2.42.2:*:*:*:*:*:*:*"),
];

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    lsscsi(s)?;
    coreutils(s)?;
    procps(s)?;
    blockdev(s)?;
    for (source, version, license, cpe) in BUNDLED {
        let cpes: Vec<&str> = [*cpe].into_iter().filter(|c| !c.is_empty()).collect();
        s.bundled_component(source, version, license, &cpes)?;
    }
    Ok(())
}

fn lsscsi(s: &Stage) -> Result<()> {
    let src = s.source("lsscsi")?;
    let built = s
        .autotools("lsscsi", &src)
        .prefix("/usr/local")
        .configure_args(["--exec-prefix=/usr/local"])
        .dest(Dest::Scratch)
        .run()?;
    install_from(s, &built, "lsscsi")
}

fn coreutils(s: &Stage) -> Result<()> {
    let src = s.source("coreutils")?;
    let built = s
        .autotools("coreutils", &src)
        .configure_args([
            "--disable-nls",
            "--disable-acl",
            "--disable-xattr",
            "--disable-libcap",
            "--disable-libsmack",
            "--without-selinux",
            "--without-openssl",
            "--without-libgmp",
        ])
        .make_args(only_programs("coreutils"))
        .make_targets([ONLY_PROGRAMS_TARGET])
        .no_install()
        .run()?;
    ship_built(s, &built, "coreutils")
}

fn procps(s: &Stage) -> Result<()> {
    let src = s.source("procps-ng")?;
    let built = s
        .autotools("procps-ng", &src)
        .configure_args([
            "--disable-nls",
            "--without-ncurses",
            "--without-systemd",
            "--without-elogind",
            // configure cannot run a test program when cross compiling and then assumes that
            // malloc(0) and realloc(p, 0) return NULL, asking for replacements procps-ng does not
            // ship; musl's return a pointer.
            "ac_cv_func_malloc_0_nonnull=yes",
            "ac_cv_func_realloc_0_nonnull=yes",
        ])
        .make_args(only_programs("procps-ng"))
        .make_targets([ONLY_PROGRAMS_TARGET])
        .no_install()
        .run()?;
    ship_built(s, &built, "procps-ng")
}

/// util-linux's `blockdev`: configure cannot enable it alone (`--disable-all-programs` turns off
/// the programs built by default for good, blockdev among them), so the default set is
/// configured, without the optional libraries, and only blockdev is built.
fn blockdev(s: &Stage) -> Result<()> {
    let src = s.source("util-linux")?;
    let built = s
        .autotools("util-linux", &src)
        .configure_args([
            "--disable-nls",
            "--disable-bash-completion",
            "--disable-asciidoc",
            "--disable-makeinstall-chown",
            "--disable-liblastlog2",
            "--disable-pylibmount",
            "--without-python",
            "--without-systemd",
            "--without-udev",
            "--without-ncurses",
            "--without-tinfo",
            "--without-readline",
            "--without-cap-ng",
            "--without-libmagic",
            "--without-econf",
            "--without-selinux",
            "--without-audit",
            "--without-user",
            "--without-btrfs",
        ])
        .make_args(only_programs("util-linux"))
        .make_targets([ONLY_PROGRAMS_TARGET])
        .no_install()
        .run()?;
    ship_built(s, &built, "util-linux")
}

/// The make goal [`only_programs`] defines.
const ONLY_PROGRAMS_TARGET: &str = "talos-ext-programs";

/// make arguments defining a goal that builds only `project`'s programs of [`BUILT_PROGRAMS`]:
/// automake generates headers (`BUILT_SOURCES`) only for `all`, `check` and `install`, so the
/// goal makes them first, then the programs (GNU make's `--eval` is read before the Makefile,
/// so `BUILT_SOURCES` is named in the recipe, which is expanded when it runs).
fn only_programs(project: &str) -> Vec<String> {
    let programs: Vec<&str> = BUILT_PROGRAMS.iter().filter(|(p, ..)| *p == project).map(|(_, path, _)| *path).collect();
    vec![format!("--eval={ONLY_PROGRAMS_TARGET}: ; $(MAKE) $(BUILT_SOURCES) && $(MAKE) {}", programs.join(" "))]
}

fn ship_built(s: &Stage, built: &Built, project: &str) -> Result<()> {
    for (_, path, dest) in BUILT_PROGRAMS.iter().filter(|(p, ..)| *p == project) {
        s.install(&built.output(path), dest, 0o755)?;
    }
    Ok(())
}

fn install_from(s: &Stage, built: &Built, project: &str) -> Result<()> {
    for (_, path, dest) in INSTALLED_PROGRAMS.iter().filter(|(p, ..)| *p == project) {
        s.install(&built.installed(path)?, dest, 0o755)?;
    }
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
