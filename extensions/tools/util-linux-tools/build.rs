//! Recipe for `util-linux-tools`: util-linux configured the way the upstream extension does
//! (every program off except `fstrim`, `nsenter` and `blkid`, with libmount and libblkid),
//! statically linked against musl, and its programs installed under `/usr/local`. Like upstream,
//! the libraries, headers and data (`include/`, `lib/`, `share/`) are not shipped.

use talos_ext_build::prelude::*;

/// Programs the configuration enables, as installed below the prefix.
pub const PROGRAMS: &[&str] = &["bin/nsenter", "sbin/blkid", "sbin/fstrim"];

/// Stages the rootfs for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let src = s.source("util-linux")?;
    let built = s
        .autotools("util-linux", &src)
        .configure_args([
            // The upstream extension's flags.
            "--without-python",
            "--disable-bash-completion",
            "--disable-asciidoc",
            "--disable-makeinstall-chown",
            "--without-systemd",
            "--without-systemdsystemunitdir",
            "--disable-all-programs",
            "--enable-libmount",
            "--enable-libblkid",
            "--enable-blkid",
            "--enable-nsenter",
            "--enable-fstrim",
            // Ours: nothing else from the build machine (no translations, udev, ncurses).
            "--disable-nls",
            "--without-udev",
            "--without-ncurses",
        ])
        .dest(Dest::Scratch)
        .run()?;
    ship_programs(s, &built)
}

/// Installs the programs, and fails if `make install` put any other program next to them (a new
/// util-linux release enabling something by default should be a decision, not a surprise).
fn ship_programs(s: &Stage, built: &Built) -> Result<()> {
    for dir in ["bin", "sbin"] {
        let Ok(entries) = std::fs::read_dir(built.installed(dir)?) else { continue };
        for entry in entries {
            let rel = format!("{dir}/{}", entry?.file_name().to_string_lossy());
            if !PROGRAMS.contains(&rel.as_str()) {
                bail!("util-linux installed {rel}, which this recipe does not expect");
            }
        }
    }
    for rel in PROGRAMS {
        s.install(&built.installed(rel)?, &format!("usr/local/{rel}"), 0o755)?;
    }
    Ok(())
}

fn main() {
    talos_ext_build::build_script(recipe)
}
