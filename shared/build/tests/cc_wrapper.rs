//! `TALOS_EXT_CC_WRAPPER`: C compiles run through a compiler launcher. With Debian's real
//! `ccache`, an autotools, a meson and a cmake project are built for amd64 twice, each time in a
//! fresh scratch stage (another directory, nothing of the first build left): the first build
//! fills the cache, the second is served from it, and both give byte-identical programs that
//! run. A wrapper that does not exist is an error naming the variable.
//!
//! The launcher is given with `with_cc_wrapper`, which stands for the variable on the test's
//! thread.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, ensure};
use talos_ext_build::drivers::Dest;
use talos_ext_build::step::Command;
use talos_ext_build::testing::{check_static_program, scratch_stage, target_command};
use talos_ext_build::{Arch, with_cc_wrapper};

const MAIN_C: &str = "#include <stdio.h>\nint main(void) { puts(\"hello \" WHO); return 0; }\n";

/// The projects: name, files, and how the driver builds them.
fn projects() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    vec![
        (
            "at",
            vec![
                (
                    "configure.ac",
                    "AC_INIT([at], [1.0])\nAM_INIT_AUTOMAKE([foreign])\nAC_PROG_CC\nAC_CONFIG_FILES([Makefile])\nAC_OUTPUT\n",
                ),
                ("Makefile.am", "bin_PROGRAMS = hello\nhello_SOURCES = main.c\nhello_CPPFLAGS = -DWHO='\"at\"'\n"),
                ("main.c", MAIN_C),
            ],
        ),
        (
            "meson",
            vec![
                (
                    "meson.build",
                    "project('m', 'c')\nexecutable('hello', 'main.c', c_args: ['-DWHO=\"meson\"'], install: true)\n",
                ),
                ("main.c", MAIN_C),
            ],
        ),
        (
            "cmake",
            vec![
                (
                    "CMakeLists.txt",
                    "cmake_minimum_required(VERSION 3.13)\nproject(c C)\nadd_executable(hello main.c)\n\
                     target_compile_definitions(hello PRIVATE WHO=\"cmake\")\ninstall(TARGETS hello)\n",
                ),
                ("main.c", MAIN_C),
            ],
        ),
    ]
}

/// Builds every project in a fresh scratch stage (sources under its work directory, as
/// recipes unpack them) and returns each program's bytes.
fn build_all() -> Result<Vec<(String, Vec<u8>)>> {
    let (tmp, stage) = scratch_stage(Arch::Amd64)?;
    let mut programs = Vec::new();
    for (name, files) in projects() {
        let src = stage.work_dir().join("src").join(name);
        for (file, text) in files {
            let path = src.join(file);
            fs::create_dir_all(path.parent().unwrap())?;
            fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        let out = tmp.path().join("out").join(name);
        let dest = Dest::Dir(out.clone());
        let built = match name {
            "at" => stage.autotools(name, &src).autoreconf().dest(dest).run()?,
            "meson" => stage.meson(name, &src).dest(dest).run()?,
            _ => stage.cmake(name, &src).dest(dest).run()?,
        };
        let program = built.installed("bin/hello")?;
        check_static_program(Arch::Amd64, &program)?;
        let output = target_command(Arch::Amd64, &program).read()?;
        ensure!(output == format!("hello {name}\n"), "{} printed {output:?}", program.display());
        programs.push((name.to_string(), fs::read(&program)?));
    }
    Ok(programs)
}

/// ccache's counters (`ccache --print-stats`: tab-separated name and value).
fn stats(ccache_dir: &Path) -> Result<std::collections::BTreeMap<String, u64>> {
    let text = Command::new("ccache").env("CCACHE_DIR", ccache_dir).arg("--print-stats").read()?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .filter_map(|(k, v)| Some((k.to_string(), v.trim().parse().ok()?)))
        .collect())
}

fn hits(s: &std::collections::BTreeMap<String, u64>) -> u64 {
    s.get("direct_cache_hit").copied().unwrap_or(0) + s.get("preprocessed_cache_hit").copied().unwrap_or(0)
}

#[test]
fn a_second_clean_build_is_served_by_ccache_and_identical() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let ccache_dir = tmp.path().join("ccache");
    // The launcher: Debian's ccache with a private cache directory (a script, because a test
    // cannot set CCACHE_DIR in its own environment for the build steps to pass on).
    let launcher = tmp.path().join("ccache-private");
    fs::write(&launcher, format!("#!/bin/sh\nCCACHE_DIR='{}' exec ccache \"$@\"\n", ccache_dir.display()))?;
    fs::set_permissions(&launcher, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;

    let missing = with_cc_wrapper(Some("/no/such/ccache".into()), || scratch_stage(Arch::Amd64)?.1.build_setup());
    let err = format!("{:#}", missing.unwrap_err());
    ensure!(err.contains("TALOS_EXT_CC_WRAPPER=`/no/such/ccache`: no such executable file"), "{err}");

    let first = with_cc_wrapper(Some(launcher.clone().into()), build_all)?;
    let after_first = stats(&ccache_dir)?;
    let misses = after_first.get("cache_miss").copied().unwrap_or(0);
    ensure!(misses >= 3, "the first build compiled through ccache: {after_first:?}");

    let second = with_cc_wrapper(Some(launcher.into()), build_all)?;
    let after_second = stats(&ccache_dir)?;
    ensure!(
        after_second.get("cache_miss") == after_first.get("cache_miss"),
        "the second clean build missed the cache: {after_first:?} then {after_second:?}"
    );
    // Every compile the first build missed (configure's probes included) is a hit now.
    let new_hits = hits(&after_second) - hits(&after_first);
    ensure!(new_hits >= misses, "{misses} compiles missed first, but only {new_hits} hits now: {after_second:?}");
    for ((name, a), (_, b)) in first.iter().zip(&second) {
        ensure!(a == b, "{name}: the program served from the cache differs from the compiled one");
    }
    Ok(())
}
