//! Go builds from a pinned source tree (`[go] source = ..., dir = ...`) instead of a wrapper
//! module, with generated trees pinned by the test and served through a directory mirror:
//!
//! - the module proxy case (`-mod=readonly`): a nested `cmd` module whose `replace` line points at
//!   the tree's root module, with one real dependency (`github.com/google/uuid` v1.6.0) from the
//!   module proxy (or the workspace's module cache), its graph hash pinned; the program runs;
//! - the vendored case (`vendor = true`, `-mod=vendor`): nothing downloaded (`GOPROXY=off`, the
//!   fetch configuration offline), the graph hash over the tree's declared `go.sum` line;
//! - the refusals: a `go.mod` declaring another module, a changed graph, `vendor = true` without
//!   `vendor/modules.txt` (a local replacement outside the tree: go.rs' unit tests).

use std::path::{Path, PathBuf};

use sha2::Digest as _;
use talos_ext_build::Arch;
use talos_ext_build::fetch::Mirror;
use talos_ext_build::prelude::*;
use talos_ext_build::testing::{Staged, TestOptions, check_static_program, mode, stage_meta_with, write_tar_gz};

const ROOT_GO_MOD: &str = "module example.com/tree\n\ngo 1.22\n";
const GREET_GO: &str = "package greet\n\nfunc Hello() string { return \"hello from the tree\" }\n";
const MAIN_GO: &str = "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/tree/greet\"\n\t\"github.com/google/uuid\"\n)\n\n\
var version = \"unset\"\n\nfunc main() { fmt.Println(greet.Hello(), version, uuid.NewSHA1(uuid.Nil, []byte(\"x\")).Version()) }\n";
const UUID_H1: &str = "h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=";
const UUID_MOD_H1: &str = "h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=";

/// `cmd/go.mod` requiring the root module through `replace => <to>`, and uuid.
fn cmd_go_mod(module: &str, to: &str) -> String {
    format!(
        "module {module}\n\ngo 1.22\n\nrequire (\n\texample.com/tree v0.0.0\n\tgithub.com/google/uuid v1.6.0\n)\n\n\
         replace example.com/tree => {to}\n"
    )
}

fn go_sum() -> String {
    format!("github.com/google/uuid v1.6.0 {UUID_H1}\ngithub.com/google/uuid v1.6.0/go.mod {UUID_MOD_H1}\n")
}

/// A vendored copy of a small module standing in for uuid (go does not check vendored code
/// against `go.sum` hashes; the graph hash takes the declared line).
fn vendored() -> Vec<(String, Vec<u8>, u32)> {
    let uuid = "package uuid\n\nvar Nil UUID\n\ntype UUID [16]byte\n\n\
                func NewSHA1(space UUID, data []byte) UUID { var u UUID; u[6] = 0x50; return u }\n\n\
                func (u UUID) Version() string { return \"VERSION_5\" }\n";
    vec![
        (
            "tree/cmd/vendor/modules.txt".into(),
            b"# example.com/tree v0.0.0 => ../\n## explicit; go 1.22\nexample.com/tree/greet\n# github.com/google/uuid v1.6.0\n## explicit\ngithub.com/google/uuid\n# example.com/tree => ../\n".to_vec(),
            0o644,
        ),
        ("tree/cmd/vendor/github.com/google/uuid/uuid.go".into(), uuid.as_bytes().to_vec(), 0o644),
        // `go mod vendor` copies the locally replaced module's packages too.
        ("tree/cmd/vendor/example.com/tree/greet/greet.go".into(), GREET_GO.as_bytes().to_vec(), 0o644),
    ]
}

/// The tree `tree/` as a `.tar.gz` in `dir`, with `cmd/go.mod` as given and extra members.
fn tarball(dir: &Path, name: &str, cmd_mod: &str, extra: Vec<(String, Vec<u8>, u32)>) -> PathBuf {
    let mut members = vec![
        ("tree/go.mod".to_string(), ROOT_GO_MOD.as_bytes().to_vec(), 0o644),
        ("tree/greet/greet.go".to_string(), GREET_GO.as_bytes().to_vec(), 0o644),
        ("tree/cmd/go.mod".to_string(), cmd_mod.as_bytes().to_vec(), 0o644),
        ("tree/cmd/go.sum".to_string(), go_sum().into_bytes(), 0o644),
        ("tree/cmd/hello/main.go".to_string(), MAIN_GO.as_bytes().to_vec(), 0o644),
    ];
    members.extend(extra);
    let file = dir.join(name);
    write_tar_gz(&file, &members).unwrap();
    file
}

/// The graph hash of uuid v1.6.0 alone (the tree's own modules are covered by its pin).
fn uuid_graph_hash() -> String {
    hex::encode(sha2::Sha256::digest(format!("github.com/google/uuid v1.6.0 {UUID_H1}\n")))
}

/// Metadata of a go-build recipe pinning `file` as source `tree`, with the `[go]` table's extra
/// keys `go_extra`.
fn meta(file: &Path, go_extra: &str, graph_hash: &str) -> String {
    let bytes = std::fs::read(file).unwrap();
    format!(
        "category = \"container-runtime\"\ntier = \"extra\"\nkind = \"go-build\"\nauthor = \"talos-ext-build tests\"\n\
         description = \"Go source tree test recipe\"\ncompatibility = \">= v1.8.0\"\narches = [\"amd64\", \"arm64\"]\n\
         version = {{ format = \"upstream\", upstream = \"v1.0.0\" }}\nlicense = \"Apache-2.0\"\n\
         purl = \"pkg:generic/go-tree@v1.0.0\"\n\
         sources = [{{ name = \"tree\", url = \"https://example.invalid/tree.tar.gz\", sha256 = \"{}\", sha512 = \"{}\" }}]\n\
         [go]\nmodule = \"example.com/tree/cmd\"\nversion = \"v1.0.0\"\nsource = \"tree\"\ndir = \"cmd\"\n{go_extra}\
         packages = [\"example.com/tree/cmd/hello\"]\nldflags = [\"-X=main.version=v1.0.0\"]\ngraph_hash = \"{graph_hash}\"\n",
        hex::encode(sha2::Sha256::digest(&bytes)),
        hex::encode(sha2::Sha512::digest(&bytes)),
    )
}

fn recipe(s: &mut Stage) -> Result<()> {
    for (name, program) in s.go_build()? {
        s.install(&program, &format!("usr/local/bin/{name}"), 0o755)?;
    }
    Ok(())
}

/// The workspace's cache (the Go toolchain, the module cache) plus a mirror holding `files`.
fn options(tmp: &Path, files: &[&Path], offline: bool) -> TestOptions {
    let mirror = tmp.join("mirror");
    std::fs::create_dir_all(mirror.join("sha256")).unwrap();
    for f in files {
        let bytes = std::fs::read(f).unwrap();
        std::fs::write(mirror.join("sha256").join(hex::encode(sha2::Sha256::digest(&bytes))), bytes).unwrap();
    }
    let mut opts = TestOptions::from_env().unwrap();
    opts.fetch.mirrors.insert(0, Mirror::Dir(mirror));
    opts.fetch.offline = offline;
    opts.work_dir = Some(tmp.join("out"));
    opts
}

fn check_hello(s: &Staged, arch: Arch) {
    let program = s.rootfs("usr/local/bin/hello");
    assert_eq!(mode(&program), 0o755);
    check_static_program(arch, &program).unwrap_or_else(|e| panic!("{e:#}"));
    s.check_no_build_paths("usr/local/bin/hello").unwrap();
    let out = talos_ext_build::testing::target_command(arch, &program).read().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.trim(), "hello from the tree v1.0.0 VERSION_5");
}

#[test]
fn a_nested_module_builds_from_the_pinned_tree_with_its_dependencies_from_the_proxy() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tarball(tmp.path(), "tree.tar.gz", &cmd_go_mod("example.com/tree/cmd", "../"), Vec::new());
    let opts = options(tmp.path(), &[&file], false);
    let s = stage_meta_with("go-tree", &meta(&file, "", &uuid_graph_hash()), recipe, Arch::Amd64, &opts)
        .unwrap_or_else(|e| panic!("{e:#}"));
    check_hello(&s, Arch::Amd64);
    let names = s.sbom_packages("go-tree").unwrap();
    assert!(names.contains(&("github.com/google/uuid".to_string(), "v1.6.0".to_string())), "{names:?}");
    assert!(!names.iter().any(|(n, _)| n == "example.com/tree"), "the tree's own module is no graph line: {names:?}");
}

#[test]
fn a_vendored_tree_builds_with_nothing_downloaded() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tarball(tmp.path(), "tree.tar.gz", &cmd_go_mod("example.com/tree/cmd", "../"), vendored());
    // Offline: GOPROXY is `off` for both resolving and building.
    let opts = options(tmp.path(), &[&file], true);
    let text = meta(&file, "vendor = true\n", &uuid_graph_hash());
    let s = stage_meta_with("go-tree", &text, recipe, Arch::Arm64, &opts).unwrap_or_else(|e| panic!("{e:#}"));
    check_hello(&s, Arch::Arm64);
    // The same tree without vendor/modules.txt is refused, naming it.
    let bare = tarball(tmp.path(), "bare.tar.gz", &cmd_go_mod("example.com/tree/cmd", "../"), Vec::new());
    let opts = options(&tmp.path().join("bare"), &[&bare], true);
    let e = stage_meta_with("go-tree", &meta(&bare, "vendor = true\n", &uuid_graph_hash()), recipe, Arch::Amd64, &opts)
        .unwrap_err();
    assert!(format!("{e:#}").contains("cmd/vendor/modules.txt does not exist"), "{e:#}");
}

#[test]
fn refusals_name_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            "other",
            cmd_go_mod("example.com/other/cmd", "../"),
            uuid_graph_hash(),
            "declares module `example.com/other/cmd`",
        ),
        ("changed", cmd_go_mod("example.com/tree/cmd", "../"), "0".repeat(64), "a dependency changed"),
    ];
    for (name, gomod, hash, expect) in cases {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let file = tarball(&dir, "tree.tar.gz", &gomod, Vec::new());
        let opts = options(&dir, &[&file], false);
        let e = stage_meta_with("go-tree", &meta(&file, "", &hash), recipe, Arch::Amd64, &opts).unwrap_err();
        assert!(format!("{e:#}").contains(expect), "{name}: {e:#}");
    }
}
