//! The build drivers on real (tiny) projects: an autotools project with a libtool library, a
//! meson project, a cmake project and a plain Makefile project, each built for amd64 and arm64
//! with the musl cross toolchains, installed with `DESTDIR`, checked with `ElfInfo` (right
//! machine, no glibc) and run (arm64 under `qemu-aarch64-static`). Plus the failure report of a
//! step, and a library built into the sysroot and found by a second build through `pkg-config`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use talos_ext_build::Arch;
use talos_ext_build::drivers::Dest;
use talos_ext_build::elf::ElfInfo;
use talos_ext_build::step::{Command, Failed, Jobs, ProcessError, TAIL_LINES};
use talos_ext_build::testing::{scratch_stage, target_command};

/// The library every project builds: a uapi header is included to prove the `-idirafter` links.
const GREET_C: &str = r#"#include <linux/version.h>
#include "greet.h"
const char *greet(void) { return "hello from " GREET_WHO; }
"#;
const GREET_H: &str = "const char *greet(void);\n";

/// The program: prints the greeting and which C library it was built against.
const MAIN_C: &str = r#"#include <stdio.h>
#include "greet.h"
int main(void) {
#ifdef __GLIBC__
    puts("glibc");
#else
    printf("%s (musl)\n", greet());
#endif
    return 0;
}
"#;

fn write(dir: &Path, files: &[(&str, &str)]) -> Result<()> {
    for (name, text) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Checks a built program: ELF machine, no glibc, and its output when run.
fn check_program(arch: Arch, path: &Path, who: &str) -> Result<()> {
    let info = ElfInfo::read(path)?;
    info.check_talos_userland(arch.elf_machine()).with_context(|| format!("{}", path.display()))?;
    ensure!(info.interpreter.is_none(), "{} is not static: interpreter {:?}", path.display(), info.interpreter);
    ensure!(info.needed.is_empty(), "{} needs {:?}", path.display(), info.needed);
    let output = target_command(arch, path).output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    ensure!(stdout == format!("hello from {who} (musl)\n"), "{} printed {stdout:?}", path.display());
    Ok(())
}

fn source_dir(tmp: &tempfile::TempDir, name: &str) -> PathBuf {
    tmp.path().join("src").join(name)
}

// --- autotools ----------------------------------------------------------------------------------

fn autotools(arch: Arch) -> Result<()> {
    let (tmp, stage) = scratch_stage(arch)?;
    let src = source_dir(&tmp, "hello-at");
    write(
        &src,
        &[
            (
                "configure.ac",
                "AC_INIT([hello-at], [1.0])\nAM_INIT_AUTOMAKE([foreign subdir-objects])\nAC_PROG_CC\n\
                 LT_INIT\nAC_CHECK_HEADERS([linux/version.h], [], [AC_MSG_ERROR([no uapi headers])])\n\
                 AC_CONFIG_FILES([Makefile])\nAC_OUTPUT\n",
            ),
            (
                "Makefile.am",
                "lib_LTLIBRARIES = libgreet.la\nlibgreet_la_SOURCES = greet.c greet.h\n\
                 libgreet_la_CPPFLAGS = -DGREET_WHO='\"autotools\"'\ninclude_HEADERS = greet.h\n\
                 bin_PROGRAMS = hello\nhello_SOURCES = main.c\nhello_LDADD = libgreet.la\n",
            ),
            ("greet.c", GREET_C),
            ("greet.h", GREET_H),
            ("main.c", MAIN_C),
        ],
    )?;
    let built = stage.autotools("hello-at", &src).autoreconf().run()?;
    assert_eq!(built.destdir.as_deref(), Some(stage.rootfs().as_path()));
    let program = built.installed("bin/hello")?;
    assert_eq!(program, stage.rootfs().join("usr/local/bin/hello"));
    check_program(arch, &program, "autotools")?;
    // Static only: no shared library was built or installed.
    ensure!(stage.rootfs().join("usr/local/lib/libgreet.a").is_file(), "static library not installed");
    ensure!(!stage.rootfs().join("usr/local/lib/libgreet.so").exists(), "a shared library was built");
    // Logs are numbered in order.
    let mut logs: Vec<String> = fs::read_dir(stage.work_dir().join("logs"))?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_>>()?;
    logs.sort();
    assert_eq!(
        logs,
        ["01-hello-at-autoreconf.log", "02-hello-at-configure.log", "03-hello-at-make.log", "04-hello-at-install.log"]
    );
    Ok(())
}

#[test]
fn autotools_amd64() -> Result<()> {
    autotools(Arch::Amd64)
}

#[test]
fn autotools_arm64() -> Result<()> {
    autotools(Arch::Arm64)
}

/// `make_subdirs`: only the listed directories are built, in order, one phase each; a directory
/// that is not listed (whose build would fail) is never entered, and a rerun skips them all.
#[test]
fn autotools_make_subdirs_builds_only_the_listed_directories() -> Result<()> {
    let arch = Arch::Amd64;
    let (tmp, stage) = scratch_stage(arch)?;
    let src = source_dir(&tmp, "hello-sub");
    write(
        &src,
        &[
            (
                "configure.ac",
                "AC_INIT([hello-sub], [1.0])\nAM_INIT_AUTOMAKE([foreign subdir-objects])\nAC_PROG_CC\nAM_PROG_AR\n\
                 AC_PROG_RANLIB\nAC_CONFIG_FILES([Makefile lib/Makefile app/Makefile broken/Makefile])\nAC_OUTPUT\n",
            ),
            ("Makefile.am", "SUBDIRS = lib app broken\n"),
            (
                "lib/Makefile.am",
                "noinst_LIBRARIES = libgreet.a\nlibgreet_a_SOURCES = greet.c greet.h\n\
                 libgreet_a_CPPFLAGS = -DGREET_WHO='\"subdirs\"'\n",
            ),
            ("lib/greet.c", GREET_C),
            ("lib/greet.h", GREET_H),
            (
                "app/Makefile.am",
                "bin_PROGRAMS = hello\nhello_SOURCES = main.c\nhello_CPPFLAGS = -I$(top_srcdir)/lib\n\
                 hello_LDADD = ../lib/libgreet.a\n",
            ),
            ("app/main.c", MAIN_C),
            ("broken/Makefile.am", "all-local:\n\tfalse\n"),
        ],
    )?;
    let built = stage.autotools("hello-sub", &src).autoreconf().make_subdirs(["lib", "app"]).no_install().run()?;
    assert_eq!(built.ran, ["autoreconf", "configure", "make:lib", "make:app"]);
    check_program(arch, &built.output("app/hello"), "subdirs")?;
    // (autoreconf changed the tree, which keys the build; without it a rerun is fresh.)
    let build = || stage.autotools("hello-sub", &src).make_subdirs(["lib", "app"]).no_install().run();
    assert_eq!(build()?.ran, ["configure", "make:lib", "make:app"]);
    let again = build()?;
    assert!(again.ran.is_empty(), "a rerun is fresh: {:?}", again.ran);
    let err = stage.autotools("hello-sub", &src).make_subdirs(["../x"]).no_install().run().unwrap_err();
    assert!(format!("{err:#}").contains("make subdirectory `../x`"), "{err:#}");
    Ok(())
}

// --- meson --------------------------------------------------------------------------------------

fn meson(arch: Arch) -> Result<()> {
    let (tmp, stage) = scratch_stage(arch)?;
    let src = source_dir(&tmp, "hello-meson");
    write(
        &src,
        &[
            (
                "meson.build",
                "project('hello-meson', 'c', version: '1.0')\n\
                 greet = library('greet', 'greet.c', c_args: ['-DGREET_WHO=\"meson\"'], install: true)\n\
                 executable('hello', 'main.c', link_with: greet, install: true)\n",
            ),
            ("greet.c", GREET_C),
            ("greet.h", GREET_H),
            ("main.c", MAIN_C),
        ],
    )?;
    let out = tmp.path().join("out");
    let built = stage.meson("hello-meson", &src).dest(Dest::Dir(out.clone())).run()?;
    let program = built.installed("bin/hello")?;
    assert_eq!(program, out.join("usr/local/bin/hello"));
    check_program(arch, &program, "meson")?;
    ensure!(out.join("usr/local/lib/libgreet.a").is_file(), "static library not installed");
    Ok(())
}

#[test]
fn meson_amd64() -> Result<()> {
    meson(Arch::Amd64)
}

#[test]
fn meson_arm64() -> Result<()> {
    meson(Arch::Arm64)
}

// --- cmake --------------------------------------------------------------------------------------

fn cmake(arch: Arch) -> Result<()> {
    let (tmp, stage) = scratch_stage(arch)?;
    let src = source_dir(&tmp, "hello-cmake");
    write(
        &src,
        &[
            (
                "CMakeLists.txt",
                "cmake_minimum_required(VERSION 3.13)\nproject(hello C)\n\
                 add_library(greet greet.c)\ntarget_compile_definitions(greet PRIVATE GREET_WHO=\"cmake\")\n\
                 add_executable(hello main.c)\ntarget_link_libraries(hello greet)\n\
                 install(TARGETS hello greet)\n",
            ),
            ("greet.c", GREET_C),
            ("greet.h", GREET_H),
            ("main.c", MAIN_C),
        ],
    )?;
    let built = stage.cmake("hello-cmake", &src).run()?;
    let program = built.installed("bin/hello")?;
    check_program(arch, &program, "cmake")?;
    ensure!(stage.rootfs().join("usr/local/lib/libgreet.a").is_file(), "static library not installed");
    Ok(())
}

#[test]
fn cmake_amd64() -> Result<()> {
    cmake(Arch::Amd64)
}

#[test]
fn cmake_arm64() -> Result<()> {
    cmake(Arch::Arm64)
}

// --- plain make ---------------------------------------------------------------------------------

const PLAIN_MAKEFILE: &str = "CFLAGS += -DGREET_WHO='\"make\"'\n\
all: hello\n\
libgreet.a: greet.o\n\t$(AR) rcs $@ $^\n\
hello: main.o libgreet.a\n\t$(CC) $(CFLAGS) $(LDFLAGS) -o $@ main.o libgreet.a\n\
install: hello\n\tinstall -D -m 0755 hello $(DESTDIR)$(PREFIX)/bin/hello\n\
.PHONY: all install\n";

fn plain_make(arch: Arch) -> Result<()> {
    let (tmp, stage) = scratch_stage(arch)?;
    let src = source_dir(&tmp, "hello-make");
    write(&src, &[("Makefile", PLAIN_MAKEFILE), ("greet.c", GREET_C), ("greet.h", GREET_H), ("main.c", MAIN_C)])?;
    let built = stage.make("hello-make", &src).targets(["hello"]).install_targets(["install"]).run()?;
    check_program(arch, &built.output("hello"), "make")?;
    check_program(arch, &built.installed("bin/hello")?, "make")?;
    // The build ran on a copy: the source tree is untouched.
    ensure!(!src.join("hello").exists() && !src.join("main.o").exists(), "make wrote into the sources");
    Ok(())
}

#[test]
fn plain_make_amd64() -> Result<()> {
    plain_make(Arch::Amd64)
}

#[test]
fn plain_make_arm64() -> Result<()> {
    plain_make(Arch::Arm64)
}

/// A library installed into the sysroot by one driver is found by the next through pkg-config
/// (confined to the sysroot), and the program links it statically.
#[test]
fn sysroot_library_through_pkg_config() -> Result<()> {
    let arch = Arch::Arm64;
    let (tmp, stage) = scratch_stage(arch)?;
    let lib = source_dir(&tmp, "greet");
    write(
        &lib,
        &[
            (
                "meson.build",
                "project('greet', 'c', version: '1.0')\n\
                 l = library('greet', 'greet.c', c_args: ['-DGREET_WHO=\"the sysroot\"'], install: true)\n\
                 install_headers('greet.h')\n\
                 import('pkgconfig').generate(l, name: 'greet', description: 'test')\n",
            ),
            ("greet.c", GREET_C),
            ("greet.h", GREET_H),
        ],
    )?;
    let lib_built = stage.meson("greet", &lib).into_sysroot().run()?;
    ensure!(lib_built.installed("lib/pkgconfig/greet.pc")?.is_file(), "greet.pc not in the sysroot");

    let app = source_dir(&tmp, "app");
    write(
        &app,
        &[
            (
                "Makefile",
                "PC_CFLAGS := $(shell $(PKG_CONFIG) --cflags greet)\nPC_LIBS := $(shell $(PKG_CONFIG) --libs greet)\n\
                 hello: main.c\n\t$(CC) $(CPPFLAGS) $(CFLAGS) $(PC_CFLAGS) $(LDFLAGS) -o $@ main.c $(PC_LIBS)\n",
            ),
            ("main.c", MAIN_C),
        ],
    )?;
    let built = stage.make("app", &app).no_install().run()?;
    check_program(arch, &built.output("hello"), "the sysroot")?;
    let log = fs::read_to_string(stage.work_dir().join("logs/04-app-make.log"))?;
    let sysroot = stage.work_dir().join("sysroot");
    ensure!(
        log.contains(&format!("-I{}/usr/include", sysroot.display())),
        "pkg-config paths not in the sysroot:\n{log}"
    );
    Ok(())
}

/// A failing step reports its name, command line, the last lines of its log and the log's path.
#[test]
fn failing_step_reports_name_command_tail_and_log() -> Result<()> {
    let (_tmp, stage) = scratch_stage(Arch::Amd64)?;
    let script = "for i in $(seq 1 100); do echo \"line $i\"; done; echo 'oops: it broke' >&2; exit 3";
    let step = stage.step("explode", "sh", stage.work_dir())?.args(["-c", script]);
    let err = step.run().expect_err("the step must fail");
    let ProcessError::Failed(failed) = &err else { panic!("unexpected error: {err}") };
    let Failed { name, command, log, tail, status, .. } = failed.as_ref();
    let log = log.as_ref().expect("a logged step");
    assert_eq!(name, "explode");
    assert_eq!(status.code(), Some(3));
    assert!(command.starts_with("sh -c 'for i in"), "{command}");
    assert!(log.ends_with("logs/01-explode.log"), "{}", log.display());
    assert_eq!(tail.lines().count(), TAIL_LINES);
    assert!(tail.contains("oops: it broke"), "stderr is in the log: {tail}");
    assert!(tail.contains("line 100") && !tail.contains("line 50\n"), "{tail}");

    let text = err.to_string();
    for needle in ["`explode`", "exit status: 3", "sh -c 'for i in", "line 99", "oops: it broke", "01-explode.log"] {
        assert!(text.contains(needle), "`{needle}` missing from:\n{text}");
    }
    // The log has everything, with the header first.
    let full = fs::read_to_string(log)?;
    assert!(full.starts_with("# step: explode\n"), "{full}");
    assert!(full.contains("line 1\n") && full.contains("# env: LC_ALL=C\n"), "{full}");
    Ok(())
}

/// The environment is the controlled one, not the test process' own.
#[test]
fn steps_do_not_inherit_the_environment() -> Result<()> {
    let (_tmp, stage) = scratch_stage(Arch::Arm64)?;
    let step = stage.step("env", "sh", stage.work_dir())?.args(["-c", "env | sort > env.txt"]);
    let mut step = step;
    step.env_mut().set("EXTRA", "1");
    step.run()?;
    let env = fs::read_to_string(stage.work_dir().join("env.txt"))?;
    for needle in ["LC_ALL=C\n", "TZ=UTC\n", "SOURCE_DATE_EPOCH=1700000000\n", "EXTRA=1\n", "-idirafter "] {
        assert!(env.contains(needle), "`{needle}` missing from:\n{env}");
    }
    assert!(
        env.contains("CC=/usr/bin/aarch64-linux-gnu-gcc -specs /usr/lib/aarch64-linux-musl/musl-gcc.specs\n"),
        "{env}"
    );
    for leaked in ["CARGO", "RUST_", "USER="] {
        assert!(!env.lines().any(|l| l.starts_with(leaked)), "`{leaked}` leaked into:\n{env}");
    }
    Ok(())
}

/// A step whose program does not exist fails with the step name and PATH.
#[test]
fn missing_program_is_a_spawn_error() -> Result<()> {
    let (_tmp, stage) = scratch_stage(Arch::Amd64)?;
    let err = Command::new("no-such-program-xyz")
        .name("nothing")
        .dir(stage.work_dir())
        .log_dir(stage.work_dir().join("logs"))
        .env("PATH", "/usr/bin")
        .run()
        .expect_err("must fail");
    assert!(matches!(err, ProcessError::Spawn(_)), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("`nothing`") && text.contains("no-such-program-xyz") && text.contains("PATH: /usr/bin"),
        "{text}"
    );
    Ok(())
}

/// Set by [`make_steps_share_an_outer_jobserver`] for [`run_by_parent_jobserver_probe`].
const PROBE_VAR: &str = "TALOS_EXT_JOBSERVER_PROBE";

/// A jobserver handed to this process the way cargo hands one to a build script
/// (`CARGO_MAKEFLAGS` and inherited descriptors) reaches a `make` step: runs [`run_by_parent_jobserver_probe`]
/// in a child of `make -j3`.
#[test]
fn make_steps_share_an_outer_jobserver() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let exe = std::env::current_exe()?;
    let makefile = format!(
        "all:\n\t+env -u MAKEFLAGS -u MFLAGS CARGO_MAKEFLAGS=\"$$MAKEFLAGS\" {PROBE_VAR}=1 {} --ignored --exact run_by_parent_jobserver_probe\n",
        exe.display()
    );
    fs::write(dir.path().join("Makefile"), makefile)?;
    let out = Command::new("make")
        .args(["-j3", "-s"])
        .dir(dir.path())
        .inherit_env()
        .env_remove("MAKEFLAGS")
        .env_remove("CARGO_MAKEFLAGS")
        .output_unchecked()?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    ensure!(out.status.success() && text.contains("1 passed"), "the probe failed:\n{text}");
    Ok(())
}

/// Run by [`make_steps_share_an_outer_jobserver`]; does nothing on its own.
#[test]
#[ignore = "run by make_steps_share_an_outer_jobserver"]
fn run_by_parent_jobserver_probe() -> Result<()> {
    if std::env::var_os(PROBE_VAR).is_none() {
        return Ok(());
    }
    let jobs = Jobs::from_env();
    ensure!(jobs.jobserver.is_some(), "no usable jobserver in {:?}", std::env::var("CARGO_MAKEFLAGS"));
    ensure!(jobs.make_args().is_empty(), "make must not get its own -j with a jobserver");
    let (_tmp, stage) = scratch_stage(Arch::Amd64)?;
    let dir = stage.work_dir().join("probe");
    write(&dir, &[("Makefile", "all: a b\na b:\n\t@echo \"$@ MAKEFLAGS=$$MAKEFLAGS\"\n")])?;
    let done = stage.step("probe", "make", &dir)?.run()?;
    let log = fs::read_to_string(done.log.as_ref().expect("a logged step"))?;
    ensure!(log.contains("MAKEFLAGS=") && log.contains("--jobserver-auth="), "no jobserver in make:\n{log}");
    ensure!(!log.contains("jobserver unavailable") && !log.contains("warning"), "make could not use it:\n{log}");
    Ok(())
}
