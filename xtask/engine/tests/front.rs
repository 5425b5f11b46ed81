//! Tests of the front's library (`xtask/src`), here so that `cargo test --workspace` runs them
//! (the front is a workspace of its own): which variables are kept from the cargo xtask runs,
//! the remembered `cargo metadata`, the catalog's SBOM lint, and the generated catalog tools
//! (`list --format`, `catalog`, `graph`).

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use cargo_metadata::Metadata;
use xtask::catalog::Catalog;
use xtask::metadata::{self, cached};

/// `cargo test` sets the same variables for test processes as `cargo run` does for xtask.
#[test]
fn cargo_run_vars_are_the_ones_cargo_sets_for_the_crate() {
    let vars: Vec<String> = xtask::cargo_run_vars().into_iter().map(|v| v.into_string().unwrap()).collect();
    for want in ["CARGO_PKG_NAME", "CARGO_PKG_VERSION", "CARGO_MANIFEST_DIR"] {
        assert!(vars.iter().any(|v| v == want), "{want} missing from {vars:?}");
    }
    // What configures cargo itself stays.
    for keep in ["CARGO", "CARGO_HOME", "CARGO_TARGET_DIR", "CARGO_TERM_COLOR"] {
        assert!(!vars.iter().any(|v| v == keep), "{keep} must be kept");
    }
}

fn member(root: &Path, dir: &str, name: &str, description: &str) {
    let dir = root.join(dir);
    fs::create_dir_all(dir.join("src")).unwrap();
    fs::write(dir.join("src/lib.rs"), "//! x\n").unwrap();
    fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\ndescription = \"{description}\"\n"
        ),
    )
    .unwrap();
}

/// Makes every file and directory below `root` two seconds old, as if edited a while ago.
fn settle(root: &Path) {
    let old = filetime::FileTime::from_system_time(SystemTime::now() - Duration::from_secs(2));
    for entry in walkdir::WalkDir::new(root).into_iter().map(Result::unwrap) {
        filetime::set_file_mtime(entry.path(), old).unwrap();
    }
}

fn names(m: &Metadata) -> Vec<(String, Option<String>)> {
    let mut v: Vec<_> = m.workspace_packages().iter().map(|p| (p.name.to_string(), p.description.clone())).collect();
    v.sort();
    v
}

#[test]
fn the_cache_follows_every_manifest_and_member_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    fs::write(root.join("Cargo.toml"), "[workspace]\nresolver = \"3\"\nmembers = [\"ext/*/*\"]\n").unwrap();
    member(root, "ext/a/one", "one", "first");
    // Just edited: answered, but not remembered (an edit may have raced with cargo).
    assert_eq!(names(&metadata::workspace(root).unwrap()), [("one".into(), Some("first".into()))]);
    assert!(cached(root).is_none());
    settle(root);
    metadata::workspace(root).unwrap();
    assert_eq!(names(&cached(root).expect("remembered")), [("one".into(), Some("first".into()))]);

    // A member's manifest changes.
    member(root, "ext/a/one", "one", "edited");
    assert!(cached(root).is_none());
    assert_eq!(names(&metadata::workspace(root).unwrap())[0].1.as_deref(), Some("edited"));

    // A member appears under the glob, in a new category directory.
    settle(root);
    metadata::workspace(root).unwrap();
    member(root, "ext/b/two", "two", "second");
    assert!(cached(root).is_none());
    assert_eq!(names(&metadata::workspace(root).unwrap()).len(), 2);

    // A member disappears.
    settle(root);
    metadata::workspace(root).unwrap();
    fs::remove_dir_all(root.join("ext/a/one")).unwrap();
    assert!(cached(root).is_none());
    assert_eq!(names(&metadata::workspace(root).unwrap()), [("two".into(), Some("second".into()))]);

    // The root manifest changes.
    settle(root);
    metadata::workspace(root).unwrap();
    fs::write(root.join("Cargo.toml"), "[workspace]\nresolver = \"3\"\nmembers = [\"ext/b/*\"]\n").unwrap();
    assert!(cached(root).is_none());

    // A corrupt cache is only a miss.
    settle(root);
    metadata::workspace(root).unwrap();
    fs::write(metadata::cache_path(root), b"{not json").unwrap();
    assert!(cached(root).is_none());
    assert_eq!(names(&metadata::workspace(root).unwrap()).len(), 1);

    // A copy of the checkout, target directory included: the copied answer is the original
    // workspace's (its inputs, unchanged, are the original's files), so it is not used.
    settle(root);
    metadata::workspace(root).unwrap();
    assert!(cached(root).is_some());
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("copy");
    talos_ext_process::Command::new("cp").arg("-a").arg(root).arg(&copy).run().unwrap();
    assert!(cached(&copy).is_none(), "the copy used the original checkout's metadata");
    assert_eq!(metadata::workspace(&copy).unwrap().workspace_root.as_std_path(), copy.canonicalize().unwrap());
}

/// A throwaway workspace with one extension whose metadata ends in `sbom`.
fn workspace_with(sbom: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("toolchain")).unwrap();
    std::fs::copy(xtask::workspace_root().join("toolchain/pin.toml"), root.join("toolchain/pin.toml")).unwrap();
    std::fs::write(root.join("Cargo.toml"), "[workspace]\nresolver = \"3\"\nmembers = [\"extensions/*/*\"]\n").unwrap();
    let ext = root.join("extensions/examples/demo");
    std::fs::create_dir_all(ext.join("src")).unwrap();
    std::fs::write(ext.join("src/lib.rs"), "//! demo\n").unwrap();
    std::fs::write(
        ext.join("Cargo.toml"),
        format!(
            "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
             [package.metadata.talos-extension]\ncategory = \"examples\"\ntier = \"core\"\nkind = \"c-build\"\n\
             author = \"t\"\ndescription = \"d\"\ncompatibility = \">= v1.0.0\"\narches = [\"amd64\"]\n\
             version = {{ format = \"upstream\", upstream = \"v1.0.0\" }}\n{sbom}"
        ),
    )
    .unwrap();
    tmp
}

#[test]
fn sbom_lint_fails_the_catalog_unless_exempt() {
    let ws = workspace_with("license = \"MIT\"\n");
    let err = Catalog::load(ws.path()).unwrap_err().to_string();
    assert!(err.contains("sbom metadata: cpes, purl: declare at least one CPE"), "{err}");
    assert!(err.contains("extensions/examples/demo/Cargo.toml"), "{err}");

    let ws = workspace_with("license = \"MIT\"\npurl = \"pkg:generic/demo@v1.0.0\"\n");
    assert_eq!(Catalog::load(ws.path()).unwrap().entries.len(), 1);

    let ws = workspace_with("sbom_exempt = \"configuration only\"\n");
    assert_eq!(Catalog::load(ws.path()).unwrap().entries.len(), 1);
}

mod flags {
    //! The command line as users type it: global flags, implied flags, required names, help text.

    use clap::{CommandFactory, Parser};
    use talos_ext_model::Arch;
    use xtask::flags::{ArchArg, BuildCmd, Command, Verbosity, Xtask};

    fn parse(args: &[&str]) -> Result<Xtask, clap::Error> {
        Xtask::try_parse_from(std::iter::once("cargo xtask").chain(args.iter().copied()))
    }

    /// Every subcommand (but clap's own `help`), with the path of names leading to it.
    fn subcommands(cmd: &clap::Command, path: &str, out: &mut Vec<(String, clap::Command)>) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let path = format!("{path} {}", sub.get_name());
            out.push((path.clone(), sub.clone()));
            subcommands(sub, &path, out);
        }
    }

    fn all_subcommands() -> Vec<(String, clap::Command)> {
        let mut cmd = Xtask::command();
        cmd.build();
        let mut out = Vec::new();
        subcommands(&cmd, "cargo xtask", &mut out);
        out
    }

    #[test]
    fn every_command_takes_verbose_and_quiet() {
        let subs = all_subcommands();
        assert!(subs.len() > 15, "{}", subs.len());
        for (path, sub) in &subs {
            for flag in ["verbose", "quiet"] {
                assert!(sub.get_arguments().any(|a| a.get_long() == Some(flag)), "{path} has no --{flag}");
            }
        }
        assert_eq!(parse(&["list", "--quiet"]).unwrap().verbosity(), Verbosity::Quiet);
        assert_eq!(parse(&["-q", "list"]).unwrap().verbosity(), Verbosity::Quiet);
        assert_eq!(parse(&["toolchain", "prepare", "-v"]).unwrap().verbosity(), Verbosity::Verbose);
        assert_eq!(parse(&["validate", "x"]).unwrap().verbosity(), Verbosity::Normal);
        assert!(parse(&["list", "--quiet", "--verbose"]).is_err(), "one or the other");
    }

    /// `--help` explains every option (`find --format` had none).
    #[test]
    fn every_argument_has_help_text() {
        let mut missing = Vec::new();
        for (path, sub) in all_subcommands().iter().filter(|(_, s)| !s.is_hide_set()) {
            for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
                let id = arg.get_id().as_str();
                if !["help", "version"].contains(&id) && arg.get_help().is_none() {
                    missing.push(format!("{path}: {id}"));
                }
            }
        }
        assert!(missing.is_empty(), "arguments without help text:\n{}", missing.join("\n"));
        let mut find = Xtask::command();
        let help = find.find_subcommand_mut("find").unwrap().render_long_help().to_string();
        for needle in ["--format <FORMAT>", "plain", "imager", "--system-extension-image"] {
            assert!(help.contains(needle), "{needle} in:\n{help}");
        }
    }

    #[test]
    fn a_key_implies_signing_and_verifying() {
        let Command::Publish(publish) = parse(&["publish", "a", "--registry", "r/p", "--key", "k"]).unwrap().command
        else {
            panic!("not publish")
        };
        assert!(publish.sign, "--key implies --sign");
        let Command::Publish(publish) = parse(&["publish", "a", "--registry", "r/p"]).unwrap().command else {
            panic!("not publish")
        };
        assert!(!publish.sign && publish.key.is_none());
        let err = parse(&["publish", "a", "--registry", "r/p", "--sign"]).unwrap_err().to_string();
        assert!(err.contains("--key"), "{err}");

        let Command::Find(find) = parse(&["find", "a", "--talos", "v1.14.0", "--key", "k.pub"]).unwrap().command else {
            panic!("not find")
        };
        assert!(find.verify, "--key implies --verify");
        let err = parse(&["find", "a", "--talos", "v1.14.0", "--verify"]).unwrap_err().to_string();
        assert!(err.contains("--key"), "{err}");
    }

    /// `fetch` and `mirror` need names or `--all`, as `build` and `publish` do (no names used to
    /// mean every source of the catalog).
    #[test]
    fn commands_over_extensions_need_names_or_all() {
        for args in [&["fetch"][..], &["mirror", "dir"], &["build"], &["publish", "--registry", "r/p"]] {
            let err = parse(args).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument, "{args:?}: {err}");
            let mut all = args.to_vec();
            all.push("--all");
            assert!(parse(&all).is_ok(), "{all:?}");
            let mut named = args.to_vec();
            named.push("hello-world-service");
            assert!(parse(&named).is_ok(), "{named:?}");
        }
    }

    /// `export` takes exactly one source: a name, `--layout` or `--from`; `--dest` is required.
    #[test]
    fn export_takes_one_source_and_a_destination() {
        let Command::Export(e) = parse(&["export", "zfs", "--dest", "d"]).unwrap().command else {
            panic!("not export")
        };
        assert_eq!((e.extension.as_deref(), e.arch.arch()), (Some("zfs"), Arch::Amd64));
        assert!(parse(&["export", "--from", "r/x:v1", "--dest", "d", "--arch", "arm64"]).is_ok());
        assert!(parse(&["export", "--layout", "l", "--dest", "d"]).is_ok());
        for args in [&["export", "--dest", "d"][..], &["export", "zfs"]] {
            let err = parse(args).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument, "{args:?}: {err}");
        }
        for args in [
            &["export", "zfs", "--layout", "l", "--dest", "d"][..],
            &["export", "--layout", "l", "--from", "r/x:1", "--dest", "d"],
        ] {
            let err = parse(args).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict, "{args:?}: {err}");
        }
        assert!(parse(&["export", "zfs", "--dest", "d", "--arch", "all"]).is_err(), "one arch");
    }

    /// The build step of `publish` is the parsed `build <names> --out <out>`.
    #[test]
    fn the_publish_build_step_is_a_plain_build() {
        let Command::Build(parsed) = parse(&["build", "a", "b", "--out", "o"]).unwrap().command else {
            panic!("not build")
        };
        assert_eq!(parsed, BuildCmd::new(vec!["a".into(), "b".into()], "o".into()));
    }

    #[test]
    fn arch_selections() {
        assert_eq!(ArchArg::Amd64.arches(), [Arch::Amd64]);
        assert_eq!(ArchArg::Arm64.arches(), [Arch::Arm64]);
        assert_eq!(ArchArg::All.arches(), Arch::ALL);
        assert_eq!(ArchArg::default(), ArchArg::All);
    }

    /// Arches are named as users type them, never as Rust debug output (`[Amd64]`).
    #[test]
    fn unsupported_arches_are_named_as_typed() {
        use xtask::build::unsupported_arches;
        let err = unsupported_arches("mei", &[Arch::Amd64], &[Arch::Arm64]).unwrap_err().to_string();
        assert_eq!(
            err,
            "mei supports only amd64, none of the requested arches (arm64)\nhint: build it with `--arch amd64`"
        );
        assert_eq!(unsupported_arches("x", &[Arch::Amd64], &Arch::ALL).unwrap(), "arm64");
        assert_eq!(unsupported_arches("x", &Arch::ALL, &Arch::ALL).unwrap(), "");
    }

    #[test]
    fn verbose_builds_stream_and_quiet_ones_do_not_talk() {
        use xtask::build::{cargo_build_args, verbose_env};
        let args = |v| cargo_build_args(&["a", "b"], false, v);
        assert_eq!(
            args(Verbosity::Normal),
            ["build", "--message-format=json-render-diagnostics", "-p", "a", "-p", "b"]
        );
        assert!(args(Verbosity::Verbose).contains(&"-vv".to_string()), "cargo shows build-script output");
        assert!(args(Verbosity::Quiet).contains(&"--quiet".to_string()));
        assert!(cargo_build_args(&["a"], true, Verbosity::Normal).contains(&"--release".to_string()));
        assert_eq!(verbose_env(Verbosity::Verbose), Some((talos_ext_process::ENV_VERBOSE, "1".to_string())));
        assert_eq!(verbose_env(Verbosity::Normal), None);
        assert_eq!(verbose_env(Verbosity::Quiet), None);
        assert_eq!(Verbosity::Verbose.flag(), Some("--verbose"));
    }
}

mod engine_stamp {
    //! When the front runs the engine without asking cargo first: a throwaway "workspace" with an
    //! engine crate, a library it links, a fake executable, its dep-info and a fake toolchain.

    use std::fs;
    use std::path::{Path, PathBuf};
    use std::time::{Duration, SystemTime};

    use xtask::engine_stamp::{Freshness, build_env, check, dep_info_paths, record, stamp_path};

    struct Ws {
        _tmp: tempfile::TempDir,
        root: PathBuf,
        exe: PathBuf,
        env: Vec<(String, String)>,
    }

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn workspace() -> Ws {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        write(&root.join("Cargo.toml"), "[workspace]\nmembers = [\"eng\", \"lib\"]\n");
        write(&root.join("Cargo.lock"), "version = 4\n");
        for (dir, file) in [("eng", "src/main.rs"), ("lib", "src/lib.rs"), ("lib", "src/part.rs")] {
            write(&root.join(dir).join("Cargo.toml"), &format!("[package]\nname = \"{dir}\"\n"));
            write(&root.join(dir).join(file), "//! x\n");
            write(&root.join(dir).join("tests/it.rs"), "//! a test\n");
        }
        let exe = root.join("target/debug/eng");
        write(&exe, "binary v1");
        let deps = ["eng/src/main.rs", "lib/src/lib.rs", "lib/src/part.rs"].map(|p| root.join(p).display().to_string());
        write(&root.join("target/debug/eng.d"), &format!("{}: {}\n", exe.display(), deps.join(" ")));
        let cargo = root.join("toolchain/bin/cargo");
        write(&cargo, "cargo v1");
        write(&cargo.with_file_name("rustc"), "rustc v1");
        let env = build_env([
            ("CARGO".to_string(), cargo.display().to_string()),
            ("CARGO_HOME".to_string(), root.join("cargo-home").display().to_string()),
            ("HOME".to_string(), "/nonexistent".to_string()),
        ]);
        Ws { _tmp: tmp, root, exe, env }
    }

    impl Ws {
        /// Records as if everything had last been edited a while ago and a build had started
        /// now: file times are set back (a later write changes them even within one tick of the
        /// kernel's clock), and the build "starts" after the ctimes that setting them changed.
        fn record(&self) -> bool {
            super::settle(&self.root);
            record(&self.root, &self.exe, &self.env, SystemTime::now() + Duration::from_secs(2))
        }

        fn check(&self) -> Freshness {
            check(&self.root, &self.env)
        }

        fn assert_stale_after(&self, what: &str, change: impl FnOnce(&Ws)) {
            assert!(self.record(), "{what}: recorded before");
            assert_eq!(self.check(), Freshness::Fresh(self.exe.clone()), "{what}: fresh before");
            change(self);
            assert!(matches!(self.check(), Freshness::Stale(_)), "{what}: not noticed");
        }
    }

    #[test]
    fn any_change_to_what_the_engine_is_built_from_asks_cargo_again() {
        let ws = workspace();
        assert!(matches!(ws.check(), Freshness::Stale(_)), "nothing recorded yet");
        let path = |p: &str| ws.root.join(p);
        ws.assert_stale_after("a source file", |ws| write(&ws.root.join("lib/src/part.rs"), "//! y\n"));
        match ws.check() {
            Freshness::Stale(why) => assert!(why.contains("lib/src/part.rs"), "{why}"),
            other => panic!("{other:?}"),
        }
        // Rewritten with the same bytes: cargo might not care, but the stamp cannot know.
        ws.assert_stale_after("a source rewritten", |ws| write(&ws.root.join("lib/src/lib.rs"), "//! x\n"));
        ws.assert_stale_after("a crate's manifest", |ws| write(&ws.root.join("lib/Cargo.toml"), "[package]\n"));
        ws.assert_stale_after("a new build script", |ws| write(&ws.root.join("lib/build.rs"), "fn main() {}\n"));
        ws.assert_stale_after("the lock file", |ws| write(&ws.root.join("Cargo.lock"), "version = 4\n\n"));
        ws.assert_stale_after("the root manifest", |ws| write(&ws.root.join("Cargo.toml"), "[workspace]\n"));
        ws.assert_stale_after("a cargo config", |ws| write(&ws.root.join(".cargo/config.toml"), "[build]\n"));
        ws.assert_stale_after("the user's cargo config", |ws| {
            write(&ws.root.join("cargo-home/config.toml"), "[build]\n")
        });
        ws.assert_stale_after("a toolchain file", |ws| write(&ws.root.join("rust-toolchain.toml"), "[toolchain]\n"));
        ws.assert_stale_after("rustc", |ws| write(&ws.root.join("toolchain/bin/rustc"), "rustc v2"));
        ws.assert_stale_after("the executable", |ws| write(&ws.exe, "binary v2"));
        ws.assert_stale_after("a deleted source", |ws| fs::remove_file(ws.root.join("lib/src/part.rs")).unwrap());
        write(&path("lib/src/part.rs"), "//! x\n");

        // The environment cargo and rustc read.
        assert!(ws.record());
        let mut env = ws.env.clone();
        env.push(("RUSTFLAGS".into(), "-Ctarget-cpu=native".into()));
        assert!(matches!(check(&ws.root, &build_env(env)), Freshness::Stale(_)));
        assert_eq!(ws.check(), Freshness::Fresh(ws.exe.clone()));

        // What the engine is not built from: tests, other files.
        write(&path("lib/tests/it.rs"), "//! an edited test\n");
        write(&path("lib/README.md"), "notes\n");
        write(&path("eng/src/unused.rs"), "//! not a module of the crate\n");
        assert_eq!(ws.check(), Freshness::Fresh(ws.exe.clone()), "edits outside the engine's inputs");

        // A copy of the checkout, target directory included: the record is the original's (its
        // inputs and executable are the original's files), so the copy asks cargo.
        assert!(ws.record());
        let elsewhere = tempfile::tempdir().unwrap();
        let copy = elsewhere.path().join("copy");
        talos_ext_process::Command::new("cp").arg("-a").arg(&ws.root).arg(&copy).run().unwrap();
        match check(&copy, &ws.env) {
            Freshness::Stale(why) => assert!(why.contains("another workspace"), "{why}"),
            other => panic!("the copy would run the original's engine: {other:?}"),
        }

        // A corrupt stamp is only a miss.
        fs::write(stamp_path(&ws.root), b"{not json").unwrap();
        assert!(matches!(ws.check(), Freshness::Stale(_)));
    }

    /// An input changed while cargo was building (after it started, less a second) may not be in
    /// the executable: nothing is recorded, so the next command asks cargo again.
    #[test]
    fn an_edit_during_the_build_is_not_remembered() {
        let ws = workspace();
        let long_ago = SystemTime::now() - Duration::from_secs(60);
        assert!(!record(&ws.root, &ws.exe, &ws.env, long_ago));
        assert!(matches!(ws.check(), Freshness::Stale(_)));
        // A stale stamp stays stale: it is not replaced either.
        assert!(ws.record());
        write(&ws.root.join("lib/src/lib.rs"), "//! edited while building\n");
        assert!(!record(&ws.root, &ws.exe, &ws.env, long_ago));
        assert!(matches!(ws.check(), Freshness::Stale(_)));
    }

    #[test]
    fn without_dep_info_or_cargo_nothing_is_remembered() {
        let ws = workspace();
        let no_cargo: Vec<(String, String)> = ws.env.iter().filter(|(k, _)| k != "CARGO").cloned().collect();
        assert!(!record(&ws.root, &ws.exe, &no_cargo, SystemTime::now() + Duration::from_secs(2)));
        fs::remove_file(ws.root.join("target/debug/eng.d")).unwrap();
        assert!(!ws.record());
        write(&ws.root.join("target/debug/eng.d"), &format!("{}:\n", ws.exe.display()));
        assert!(!ws.record(), "a dep-info that lists nothing");
        assert!(matches!(ws.check(), Freshness::Stale(_)));
    }

    #[test]
    fn dep_info_paths_unescape_spaces_and_resolve_relative_paths() {
        let text = "/t/bin: /w/a.rs /w/dir\\ with\\ space/b.rs rel/c.rs\n";
        assert_eq!(
            dep_info_paths(text, Path::new("/root")),
            [PathBuf::from("/w/a.rs"), PathBuf::from("/w/dir with space/b.rs"), PathBuf::from("/root/rel/c.rs")]
        );
    }

    #[test]
    fn the_build_environment_is_what_configures_a_build() {
        let env = [
            ("RUSTFLAGS", "-C x"),
            ("HOME", "/h"),
            ("CARGO_HOME", "/c"),
            ("PATH", "/bin"),
            ("TERM", "x"),
            ("CARGO_BIN_EXE_xtask-engine", "/t/xtask-engine"),
            ("CARGO_TARGET_TMPDIR", "/t/tmp"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let kept: Vec<String> = build_env(env).into_iter().map(|(k, _)| k).collect();
        assert_eq!(kept, ["CARGO_HOME", "PATH", "RUSTFLAGS"]);
    }
}

mod generated {
    //! `cargo xtask catalog`, `graph` and `list --format`: generated from a throwaway workspace
    //! with a library stage, two C builds (one layered on the other), an in-tree module recipe
    //! and an example kernel module, so every kind of node and edge is there.

    use std::fs;
    use std::path::Path;

    use xtask::catalog::Catalog;
    use xtask::graph::{self, DOT_PATH, SVG_PATH};
    use xtask::list::{Record, markdown};
    use xtask::readme::{self, BEGIN, END};

    fn recipe(root: &Path, category: &str, name: &str, body: &str, deps: &[&str]) {
        let dir = root.join("extensions").join(category).join(name);
        fs::create_dir_all(dir.join("src")).unwrap();
        fs::write(dir.join("src/lib.rs"), "//! x\n").unwrap();
        let deps: String = deps
            .iter()
            .map(|d| format!("{} = {{ path = \"../../{}\" }}\n", d.rsplit('/').next().unwrap(), d))
            .collect();
        fs::write(
            dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
                 [package.metadata.talos-extension]\ncategory = \"{category}\"\nauthor = \"t\"\n\
                 arches = [\"amd64\", \"arm64\"]\nlicense = \"MIT\"\npurl = \"pkg:generic/{name}@1\"\n{body}\n\
                 [dependencies]\n{deps}"
            ),
        )
        .unwrap();
    }

    /// The workspace; its README holds the markers around a stale section.
    fn workspace() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let real = xtask::workspace_root();
        fs::create_dir_all(root.join("toolchain/toolchains")).unwrap();
        fs::copy(real.join("toolchain/pin.toml"), root.join("toolchain/pin.toml")).unwrap();
        let pin = talos_ext_model::Pin::load(&real).unwrap();
        for name in [pin.toolchains.default.unwrap(), pin.toolchains.examples.unwrap()] {
            let file = format!("toolchain/toolchains/{name}.toml");
            fs::copy(real.join(&file), root.join(&file)).unwrap();
        }
        fs::write(root.join("Cargo.toml"), "[workspace]\nresolver = \"3\"\nmembers = [\"extensions/*/*\"]\n").unwrap();
        let c = "kind = \"c-build\"\ncompatibility = \">= v1.0.0\"\nversion = { format = \"upstream\", upstream = \"1.2\" }\n";
        recipe(
            root,
            "internal",
            "libz",
            "tier = \"core\"\nkind = \"library\"\ndescription = \"zlib, static\"\nversion = { format = \"upstream\", upstream = \"1.3\" }\n",
            &[],
        );
        recipe(root, "tools", "tool-a", &format!("tier = \"core\"\ndescription = \"a | b\"\n{c}"), &["internal/libz"]);
        recipe(
            root,
            "tools",
            "tool-b",
            &format!("tier = \"extra\"\ndescription = \"layered\"\n{c}"),
            &["tools/tool-a"],
        );
        recipe(
            root,
            "drivers",
            "drv",
            "tier = \"extra\"\nkind = \"kmod-in-tree\"\ndescription = \"a module\"\nversion = { format = \"talos\" }\n\
             [package.metadata.talos-extension.modules]\namd64 = [\"kernel/drivers/x/drv.ko\"]\n",
            &[],
        );
        recipe(
            root,
            "examples",
            "hello-kmod",
            "tier = \"core\"\nkind = \"kmod-out-of-tree\"\ndescription = \"hello\"\nversion = { format = \"upstream\", upstream = \"v1.0.0\" }\n",
            &[],
        );
        fs::write(root.join("README.md"), format!("# Title\n\nIntro.\n\n{BEGIN}\nold table\n{END}\n\nAfter.\n"))
            .unwrap();
        tmp
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn the_readme_section_is_written_between_the_markers_and_checked() {
        let ws = workspace();
        let root = ws.path();
        let err = readme::update(root, true).unwrap_err().to_string();
        assert!(err.starts_with("README.md: the catalog section is stale"), "{err}");
        assert!(err.contains("found `old table`"), "{err}");
        assert!(err.contains("hint: run `cargo xtask catalog`"), "{err}");
        assert_eq!(fs::read_to_string(root.join("README.md")).unwrap().lines().nth(5), Some("old table"));

        assert!(!readme::update(root, false).unwrap(), "rewritten");
        let text = fs::read_to_string(root.join("README.md")).unwrap();
        assert!(
            text.starts_with(&format!("# Title\n\nIntro.\n\n{BEGIN}\n<!-- Generated by `cargo xtask catalog`")),
            "{text}"
        );
        assert!(text.ends_with(&format!("\n{END}\n\nAfter.\n")), "{text}");
        assert!(!text.contains("old table"));
        // By category, sorted; the layered extension names what it uses; `|` escaped.
        let drivers = text.find("### drivers").unwrap();
        let tools = text.find("### tools").unwrap();
        assert!(drivers < text.find("### examples").unwrap() && tools > drivers, "{text}");
        assert!(
            text.contains("| [tool-a](extensions/tools/tool-a/) | `<registry>/tool-a` | a \\| b | `1.2` (upstream) | amd64, arm64 | core | c-build | libz |"),
            "{text}"
        );
        assert!(text.contains("| [tool-b](extensions/tools/tool-b/) |") && text.contains("| tool-a |"), "{text}");
        let talos = talos_ext_model::Pin::load(root).unwrap().talos.tag;
        assert!(text.contains(&format!("`{talos}` (talos)")), "{text}");
        // Library stages separately, never with an image.
        let internal = text.find("### Internal library stages").unwrap();
        assert!(internal > tools, "{text}");
        assert!(text[internal..].contains("| [libz](extensions/internal/libz/) | zlib, static | `1.3` (upstream) | amd64, arm64 | core |  | tool-a |"), "{text}");
        assert!(!text.contains("<registry>/libz"), "{text}");
        assert!(text.contains("4 extensions in 3 categories and 1 internal library stages"), "{text}");

        // Current now: checking passes, updating writes nothing, no temporary file is left.
        assert!(readme::update(root, true).unwrap());
        assert!(readme::update(root, false).unwrap());
        assert_eq!(names_in(root), ["Cargo.toml", "README.md", "extensions", "toolchain"]);

        // A metadata change makes it stale again.
        let manifest = root.join("extensions/tools/tool-b/Cargo.toml");
        fs::write(&manifest, fs::read_to_string(&manifest).unwrap().replace("\"layered\"", "\"layered on a\""))
            .unwrap();
        let err = readme::update(root, true).unwrap_err().to_string();
        assert!(err.contains("stale") && err.contains("layered on a"), "{err}");
    }

    #[test]
    fn markers_that_are_missing_or_misplaced_are_errors() {
        let section = "new\n";
        let err = |text: &str| readme::splice("README.md", text, section).unwrap_err().to_string();
        let hint = format!(
            "hint: put a `{BEGIN}` line and a `{END}` line where the catalog goes, then run `cargo xtask catalog`"
        );
        for (text, want) in [
            ("# t\n".to_string(), format!("README.md: no `{BEGIN}` line")),
            (format!("{BEGIN}\nx\n"), format!("README.md: no `{END}` line")),
            (format!("{END}\n{BEGIN}\n"), format!("README.md: `{END}` (line 1) comes before `{BEGIN}` (line 2)")),
            (format!("{BEGIN}\n{END}\n{BEGIN}\n{END}\n"), format!("README.md: `{BEGIN}` appears 2 times (lines 1, 3)")),
        ] {
            let e = err(&text);
            assert!(e.starts_with(&want) && e.ends_with(&hint), "{text:?}: {e}");
        }
        // The update names the README too, and leaves it alone.
        let ws = workspace();
        fs::write(ws.path().join("README.md"), "# no markers\n").unwrap();
        let e = readme::update(ws.path(), false).unwrap_err().to_string();
        assert!(e.starts_with(&format!("README.md: no `{BEGIN}` line")), "{e}");
        assert_eq!(fs::read_to_string(ws.path().join("README.md")).unwrap(), "# no markers\n");

        // Markers with surrounding spaces, at the end of a file without a final newline.
        assert_eq!(
            readme::splice("R", &format!("a\n  {BEGIN}\nold\n{END}"), section).unwrap(),
            format!("a\n  {BEGIN}\nnew\n{END}")
        );
        assert_eq!(readme::splice("R", &format!("{BEGIN}\n{END}\n"), "").unwrap(), format!("{BEGIN}\n{END}\n"));
    }

    #[test]
    fn json_records_have_every_field_in_a_fixed_order() {
        let ws = workspace();
        let catalog = Catalog::load(ws.path()).unwrap();
        let keys = [
            "name",
            "category",
            "internal",
            "tier",
            "kind",
            "description",
            "author",
            "version",
            "version_format",
            "talos",
            "arches",
            "compatibility",
            "image",
            "dir",
            "uses",
            "used_by",
            "kernel_toolchain",
            "license",
            "cpes",
            "purl",
            "sbom_exempt",
            "sources",
            "modules",
        ];
        let pin = talos_ext_model::Pin::load(ws.path()).unwrap();
        for e in &catalog.entries {
            let line = serde_json::to_string(&Record::new(&catalog, e)).unwrap();
            let mut at = 0;
            for key in keys {
                let pos =
                    line[at..].find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("{key} after {at} in {line}"));
                at += pos + key.len();
            }
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(v.as_object().unwrap().len(), keys.len(), "{line}");
            let name = e.meta.name.as_str();
            assert_eq!(v["dir"], format!("extensions/{}/{name}", e.meta.category), "relative: {line}");
            match name {
                "libz" => {
                    assert_eq!(v["image"], serde_json::Value::Null);
                    assert_eq!(v["internal"], true);
                    assert_eq!(v["used_by"], serde_json::json!(["tool-a"]));
                }
                "tool-b" => {
                    assert_eq!(v["image"], "<registry>/tool-b:1.2");
                    assert_eq!(v["uses"], serde_json::json!(["tool-a"]));
                    assert_eq!(v["kernel_toolchain"], serde_json::Value::Null);
                }
                "drv" => {
                    assert_eq!(v["kernel_toolchain"], pin.toolchains.default.clone().unwrap());
                    assert_eq!(v["version"], pin.talos.tag);
                    assert_eq!(v["version_format"], "talos");
                    assert_eq!(v["modules"]["amd64"][0], "kernel/drivers/x/drv.ko");
                }
                "hello-kmod" => assert_eq!(v["kernel_toolchain"], pin.toolchains.examples.clone().unwrap()),
                _ => {}
            }
        }
        // The README documents the same keys in the same order.
        let text = fs::read_to_string(xtask::workspace_root().join("README.md")).unwrap();
        let mut at = text.find("with these keys in this order").expect("README documents list --json");
        for key in keys {
            at += text[at..]
                .find(&format!("`{key}`"))
                .unwrap_or_else(|| panic!("README.md: `{key}` not documented in order"));
        }
        // Markdown without --internal leaves the library stages out.
        let md = markdown(&catalog, false);
        assert!(!md.contains("[libz]") && !md.contains("Internal library stages") && md.contains("| libz |"), "{md}");
    }

    #[test]
    fn the_graph_has_every_kind_of_node_and_edge_and_is_checked() {
        let ws = workspace();
        let root = ws.path();
        let catalog = Catalog::load(root).unwrap();
        let toolchains = graph::toolchains(&catalog).unwrap();
        let dot = graph::dot(&catalog, &toolchains, &graph::pinned(&catalog).unwrap());
        assert_eq!(dot, graph::workspace_dot(root).unwrap(), "the same text every time");
        let pin = talos_ext_model::Pin::load(root).unwrap();
        let (talos, debian) = (pin.toolchains.default.unwrap(), pin.toolchains.examples.unwrap());
        for needle in [
            "subgraph \"cluster_drivers\"",
            "subgraph \"cluster_examples\"",
            "subgraph \"cluster_tools\"",
            "subgraph cluster_internal",
            "subgraph cluster_toolchains",
            "subgraph cluster_inputs",
            "\"lib/libz\" -> \"ext/tool-a\" [color=\"#b45309\"];",
            "\"ext/tool-a\" -> \"ext/tool-b\" [style=bold, color=\"#1d4ed8\"];",
            &format!("\"toolchain/{talos}\" -> \"ext/drv\" [style=dashed, color=\"#15803d\"];"),
            &format!("\"toolchain/{debian}\" -> \"ext/hello-kmod\" [style=solid, color=\"#15803d\"];"),
            "\"toolchain/musl\" -> \"ext/tool-a\"",
            "\"toolchain/musl\" -> \"lib/libz\" [lhead=cluster_internal",
            "\"image/ghcr.io/siderolabs/kernel:",
            "label=\"signed in-tree modules\", style=dashed",
        ] {
            assert!(dot.contains(needle), "{needle} in:\n{dot}");
        }
        // Not layered: the kmod recipes use no musl; tool-b is not in the last rank with the others.
        assert!(!dot.contains("\"toolchain/musl\" -> \"ext/drv\""), "{dot}");
        let last_rank = dot.lines().rfind(|l| l.contains("rank=same")).unwrap();
        assert!(last_rank.contains("\"ext/tool-a\"") && !last_rank.contains("\"ext/tool-b\""), "{last_rank}");

        // Nothing committed yet, then current, then stale.
        let stale = graph::stale(root, &dot).unwrap();
        assert!(
            stale.starts_with("docs/deps.dot: cannot read it") && stale.contains("run `cargo xtask graph`"),
            "{stale}"
        );
        fs::create_dir_all(root.join("docs")).unwrap();
        fs::write(root.join(DOT_PATH), &dot).unwrap();
        let svg = format!("<?xml?>\n{}\n<svg></svg>\n", graph::stamp(&dot));
        fs::write(root.join(SVG_PATH), &svg).unwrap();
        assert_eq!(graph::stale(root, &dot), None);
        // A rendering of another graph: the DOT text is current, the SVG is not.
        fs::write(root.join(SVG_PATH), svg.replace(&graph::fingerprint(dot.as_bytes()), &graph::fingerprint(b"x")))
            .unwrap();
        let why = graph::stale(root, &dot).unwrap();
        assert!(why.starts_with("docs/deps.svg was not rendered from the current docs/deps.dot"), "{why}");
        fs::write(root.join(SVG_PATH), &svg).unwrap();
        // A recipe changes: the committed DOT text is stale.
        let manifest = root.join("extensions/tools/tool-b/Cargo.toml");
        fs::write(
            &manifest,
            fs::read_to_string(&manifest).unwrap().replace("upstream = \"1.2\"", "upstream = \"1.3\""),
        )
        .unwrap();
        let why = graph::stale(root, &graph::workspace_dot(root).unwrap()).unwrap();
        assert!(why.starts_with("docs/deps.dot is stale") && why.contains("1.3"), "{why}");
    }

    /// Graphviz renders the DOT text (ci/setup.sh installs it); the SVG carries the stamp.
    #[test]
    fn graphviz_renders_the_graph_and_a_missing_dot_says_how_to_install_it() {
        let ws = workspace();
        let dot = graph::workspace_dot(ws.path()).unwrap();
        let svg = graph::render_svg(&dot).unwrap();
        assert!(svg.contains(&format!("{}\n<svg", graph::stamp(&dot))), "{svg}");
        for title in ["<title>ext/tool&#45;b</title>", "<title>lib/libz</title>", "<title>cluster_internal</title>"] {
            assert!(svg.contains(title), "{title} in the SVG");
        }
        let err = format!("{:#}", graph::render_svg_with("/nonexistent/dot", &dot).unwrap_err());
        assert!(err.contains("rendering the dependency graph with Graphviz"), "{err}");
        assert!(err.contains("apt-get install graphviz"), "{err}");
    }
}
