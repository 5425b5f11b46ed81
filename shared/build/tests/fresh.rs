//! Reruns redo only what changed, and never ship what an earlier run left behind: a driver run
//! again skips its fresh phases and reruns from the first changed one; a file a new run no
//! longer installs is gone from the destination and from the staged tree; a library stage is
//! not rebuilt when only the recipe that links it changes. Real projects, real `make`, the musl
//! cross toolchain; the staged trees are validated strictly as in `cargo xtask build`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use talos_ext_build::drivers::Dest;
use talos_ext_build::prelude::*;
use talos_ext_build::testing::{TestOptions, scratch_stage, stage_with};
use talos_ext_build::{TestLibrary, test_stages_dir};

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn files_below(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// A `configure` that is not autoconf's (fast): it records its arguments and writes a Makefile
/// building and installing the files named in `FILES`.
const CONFIGURE: &str = r#"#!/bin/sh
echo "$@" > configured-with
cat > Makefile <<'EOF'
FILES ?= a b
all: $(FILES)
$(FILES):
	echo $@ > $@
install:
	mkdir -p $(DESTDIR)/usr/local/bin
	for f in $(FILES); do cp $$f $(DESTDIR)/usr/local/bin/$$f; done
EOF
"#;

#[test]
fn a_rerun_skips_fresh_phases_and_drops_what_is_no_longer_installed() -> Result<()> {
    let (tmp, stage) = scratch_stage(Arch::Amd64)?;
    let src = tmp.path().join("src/files");
    write(&src.join("configure"), CONFIGURE)?;
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(src.join("configure"), fs::Permissions::from_mode(0o755))?;
    let out = tmp.path().join("out");
    let bin = out.join("usr/local/bin");
    let build = |make_args: &[&str], configure_args: &[&str]| {
        stage
            .autotools("files", &src)
            .configure_args(configure_args)
            .make_args(make_args)
            .dest(Dest::Dir(out.clone()))
            .run()
    };

    let first = build(&[], &[])?;
    assert_eq!(first.ran, ["configure", "make", "install"]);
    assert_eq!(files_below(&bin), ["a", "b"]);

    let again = build(&[], &[])?;
    assert!(again.ran.is_empty(), "nothing changed, yet {:?} ran", again.ran);
    assert_eq!(files_below(&bin), ["a", "b"], "a fresh install is still delivered");

    // Only `make` changed: configure is not redone, and `b`, no longer installed, is gone.
    let fewer = build(&["FILES=a"], &[])?;
    assert_eq!(fewer.ran, ["make", "install"]);
    assert_eq!(files_below(&bin), ["a"]);

    // A configure argument changed: everything runs, in a fresh build directory.
    let reconfigured = build(&["FILES=a"], &["--with-x"])?;
    assert_eq!(reconfigured.ran, ["configure", "make", "install"]);
    let recorded = fs::read_to_string(reconfigured.output("configured-with"))?;
    ensure!(recorded.contains("--with-x"), "{recorded}");
    ensure!(!reconfigured.output("b").exists(), "the build directory was not emptied before configure");
    Ok(())
}

/// A recipe that ships everything its Makefile installs into `bin/` (as iscsi-tools' `sbin`):
/// the Makefile installs the files listed in `native/FILES`.
fn ship_all(s: &mut Stage) -> Result<()> {
    let src = s.input("native/Makefile")?.parent().context("native/")?.to_path_buf();
    let built = s.make("app", &src).install_targets(["install"]).dest(Dest::Scratch).run()?;
    let bin = built.installed("bin")?;
    for name in files_below(&bin) {
        s.install(&bin.join(&name), &format!("usr/local/bin/{name}"), 0o755)?;
    }
    Ok(())
}

/// The metadata of the generated recipe crates.
fn crate_toml(name: &str, kind: &str, links: Option<&str>) -> String {
    let links = links.map(|l| format!("links = \"{l}\"\n")).unwrap_or_default();
    let category = if kind == "library" { "internal" } else { "examples" };
    format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n{links}\n\
         [package.metadata.talos-extension]\ncategory = \"{category}\"\ntier = \"core\"\nkind = \"{kind}\"\n\
         author = \"talos-ext-build tests\"\ndescription = \"Generated for a freshness test\"\n\
         arches = [\"amd64\"]\nversion = {{ format = \"upstream\", upstream = \"v1.0.0\" }}\nlicense = \"MPL-2.0\"\n"
    )
}

/// A directory below the workspace (staging finds the Talos pin above the crate), removed when
/// dropped.
struct Fixture(PathBuf);

impl Fixture {
    fn new(name: &str) -> Fixture {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Fixture(dir)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const INSTALL_LISTED: &str = "all:\n\ttrue\ninstall:\n\tmkdir -p $(DESTDIR)$(PREFIX)/bin\n\
                              \tfor f in $$(cat FILES); do echo $$f > $(DESTDIR)$(PREFIX)/bin/$$f; done\n";

#[test]
fn a_file_removed_from_the_install_set_is_gone_from_the_next_stage() -> Result<()> {
    let fx = Fixture::new("fresh-ship");
    let ext = fx.0.join("ship-all");
    write(&ext.join("Cargo.toml"), &crate_toml("ship-all", "c-build", None))?;
    write(&ext.join("native/Makefile"), INSTALL_LISTED)?;
    write(&ext.join("native/FILES"), "a b\n")?;
    let mut opts = TestOptions::from_env()?;
    opts.work_dir = Some(fx.0.join("out"));
    let manifest_dir = ext.display().to_string();

    let first = stage_with(&manifest_dir, ship_all, Arch::Amd64, &opts)?;
    assert_eq!(files_below(&first.rootfs("usr/local/bin")), ["a", "b"]);
    write(&ext.join("native/FILES"), "a\n")?;
    let second = stage_with(&manifest_dir, ship_all, Arch::Amd64, &opts)?;
    assert_eq!(files_below(&second.rootfs("usr/local/bin")), ["a"], "`b` shipped from the earlier run");
    Ok(())
}

/// The library: a header and a static "library" installed into the sysroot.
fn fixlib(s: &mut Stage) -> Result<()> {
    let src = s.input("native/Makefile")?.parent().context("native/")?.to_path_buf();
    s.make("fixlib", &src).install_targets(["install"]).into_sysroot().run()?;
    Ok(())
}

/// Two versions of a recipe linking the library: they differ only in what they ship.
fn uses_fixlib_v1(s: &mut Stage) -> Result<()> {
    let sysroot = s.use_library("fixlib")?;
    s.install(&sysroot.join("usr/include/fix.h"), "usr/local/share/fix/fix.h", 0o644)
}

fn uses_fixlib_v2(s: &mut Stage) -> Result<()> {
    let sysroot = s.use_library("fixlib")?;
    s.install(&sysroot.join("usr/include/fix.h"), "usr/local/share/fix/renamed.h", 0o644)
}

#[test]
fn an_unchanged_library_stage_is_not_rebuilt_when_only_its_dependent_changes() -> Result<()> {
    let fx = Fixture::new("fresh-lib");
    let lib = fx.0.join("fixlib");
    write(&lib.join("Cargo.toml"), &crate_toml("fixlib", "library", Some("fixlib")))?;
    write(
        &lib.join("native/Makefile"),
        "all:\n\techo '#define FIX 1' > fix.h\ninstall:\n\tmkdir -p $(DESTDIR)$(PREFIX)/include\n\
         \tcp fix.h $(DESTDIR)$(PREFIX)/include/fix.h\n",
    )?;
    let ext = fx.0.join("uses-fixlib");
    write(&ext.join("Cargo.toml"), &crate_toml("uses-fixlib", "c-build", None))?;
    let mut opts = TestOptions::from_env()?;
    opts.libraries = vec![TestLibrary { links: "fixlib".into(), manifest_dir: lib.clone(), recipe: fixlib }];
    opts.work_dir = Some(fx.0.join("out"));
    let manifest_dir = ext.display().to_string();

    let stages = test_stages_dir(&workspace_root());
    let library_logs = || -> Vec<String> {
        let dirs: Vec<PathBuf> = fs::read_dir(&stages)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("fixlib-")))
            .collect();
        dirs.iter().flat_map(|d| files_below(&d.join("work/amd64/logs"))).collect()
    };
    let cleanup = || {
        for entry in fs::read_dir(&stages).into_iter().flatten().filter_map(|e| e.ok()) {
            if entry.file_name().to_string_lossy().starts_with("fixlib-") {
                let path = entry.path();
                let _ = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
            }
        }
    };
    cleanup();

    let first = stage_with(&manifest_dir, uses_fixlib_v1, Arch::Amd64, &opts)?;
    assert!(first.rootfs("usr/local/share/fix/fix.h").is_file());
    assert_eq!(library_logs(), ["01-fixlib-make.log", "02-fixlib-install.log"], "the library was built");

    let second = stage_with(&manifest_dir, uses_fixlib_v2, Arch::Amd64, &opts)?;
    assert!(second.rootfs("usr/local/share/fix/renamed.h").is_file());
    assert!(!second.rootfs("usr/local/share/fix/fix.h").exists());
    assert_eq!(library_logs(), Vec::<String>::new(), "the unchanged library was rebuilt");
    cleanup();
    Ok(())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).expect("the workspace root").to_path_buf()
}
