//! Test tiers and the generated pipeline: `cargo xtask test` turns a tier into the `cargo test`
//! command line it prints and runs; `cargo xtask ci generate` writes
//! `.github/workflows/catalog.yml` from the catalog, which must be current (`--check`), valid
//! against GitHub's workflow schema (SchemaStore's, vendored in `tests/data/`) and, in the full
//! tier, clean under actionlint.

use std::path::{Path, PathBuf};

use talos_ext_process::{Command, Output};
use xtask::catalog::Catalog;
use xtask::flags::TestTier;
use xtask::test::{Selection, cargo_args, resolve_tier};

fn root() -> PathBuf {
    xtask::workspace_root()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `cargo xtask <args>` as a user runs it (without the variables cargo set for this test), with
/// these variables added.
fn xtask(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO")).arg("xtask").args(args).dir(root()).inherit_env();
    for name in xtask::cargo_run_vars() {
        cmd = cmd.env_remove(name.to_str().expect("cargo's variables have UTF-8 names"));
    }
    cmd = cmd.env_remove(xtask::test::ENV_TEST_TIER);
    for (name, value) in env {
        cmd = cmd.env(name, value);
    }
    let out = cmd.output_unchecked().expect("running cargo xtask");
    eprintln!("xtask {args:?}\n--- stdout\n{}--- stderr\n{}", text(&out.stdout), text(&out.stderr));
    out
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

#[test]
fn tiers_are_libtest_filters() {
    let ws = Selection::Workspace;
    assert_eq!(cargo_args(TestTier::Kinds, &ws, &[]), strings(&["test", "--workspace"]), "the README's command");
    assert_eq!(cargo_args(TestTier::Smoke, &ws, &[]), strings(&["test", "--workspace", "--", "--skip", "tier_kinds_"]));
    assert_eq!(
        cargo_args(TestTier::Full, &Selection::Packages(strings(&["nvme-cli"])), &strings(&["--list"])),
        strings(&["test", "-p", "nvme-cli", "--", "--include-ignored", "--skip", "run_by_parent_", "--list"])
    );
    assert_eq!(
        cargo_args(TestTier::Kinds, &Selection::WorkspaceExcept(strings(&["a", "b"])), &[]),
        strings(&["test", "--workspace", "--exclude", "a", "--exclude", "b"])
    );
}

#[test]
fn the_tier_comes_from_the_flag_then_the_environment_then_kinds() {
    assert_eq!(resolve_tier(None, None).unwrap(), TestTier::Kinds);
    assert_eq!(resolve_tier(None, Some("")).unwrap(), TestTier::Kinds);
    assert_eq!(resolve_tier(None, Some("smoke")).unwrap(), TestTier::Smoke);
    assert_eq!(resolve_tier(Some(TestTier::Full), Some("smoke")).unwrap(), TestTier::Full);
    let err = resolve_tier(None, Some("fast")).unwrap_err().to_string();
    assert!(err.contains("TALOS_EXT_TEST_TIER=`fast`") && err.contains("smoke, kinds, full"), "{err}");
}

/// `cargo xtask test` prints the command it runs and runs it: listing one crate's tests in the
/// full tier shows its ignored tier-full test, the smoke tier filters the other tier out.
#[test]
fn xtask_test_prints_and_runs_the_tiers_command() {
    let out = xtask(&["test", "-p", "talos-ext-kmod", "--", "--list"], &[("TALOS_EXT_TEST_TIER", "full")]);
    assert!(out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "test tier `full`: cargo test -p talos-ext-kmod -- --include-ignored --skip run_by_parent_ --list"
        ),
        "{stderr}"
    );
    assert!(text(&out.stdout).contains("symvers::tier_full_recovers_the_module_symvers"), "listed");

    let bad = xtask(&["test"], &[("TALOS_EXT_TEST_TIER", "everything")]);
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("TALOS_EXT_TEST_TIER=`everything` is not a test tier"));
}

/// The committed pipeline is what the catalog says (`--check`, through the user's command).
#[test]
fn the_committed_pipeline_is_current() {
    let out = xtask(&["ci", "generate", "--check"], &[]);
    assert!(
        out.status.success(),
        "the committed {} is stale: run `cargo xtask ci generate` and commit it\n{}",
        xtask::ci::WORKFLOW,
        text(&out.stderr)
    );
}

#[test]
fn check_names_a_stale_or_missing_file_and_writing_makes_it_current() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join(".github/workflows/catalog.yml");
    let name = ".github/workflows/catalog.yml";
    let err = xtask::ci::check_or_write(&path, name, "a: 1\n", true).unwrap_err().to_string();
    assert!(err.contains(name) && err.contains("missing") && err.contains("cargo xtask ci generate"), "{err}");
    assert!(!path.exists(), "--check writes nothing");
    assert!(!xtask::ci::check_or_write(&path, name, "a: 1\n", false).unwrap(), "written");
    assert!(xtask::ci::check_or_write(&path, name, "a: 1\n", true).unwrap(), "current");
    let err = xtask::ci::check_or_write(&path, name, "a: 2\n", true).unwrap_err().to_string();
    assert!(err.contains("stale") && err.contains("line 1: expected `a: 2`, found `a: 1`"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "a: 1\n");
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
}

/// The workflow as JSON (what the schema describes).
fn workflow_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()))
}

fn generated() -> serde_json::Value {
    let catalog = Catalog::load(&root()).unwrap();
    let text = xtask::ci::workflow(&catalog, &xtask::ci::rust_version(&root()).unwrap());
    serde_norway::from_str(&text).expect("the generated workflow is YAML")
}

fn run_lines(job: &serde_json::Value) -> Vec<String> {
    job["steps"].as_array().unwrap().iter().filter_map(|s| s["run"].as_str()).map(str::to_string).collect()
}

/// One job per internal library and per extension × arch, each after the jobs of the libraries
/// it links; tests of the full tier; a release job on tags after all of them.
#[test]
fn the_pipeline_has_a_job_per_library_and_per_extension_and_arch() {
    let catalog = Catalog::load(&root()).unwrap();
    let wf = generated();
    let jobs = wf["jobs"].as_object().unwrap();
    let mut want = vec!["shared".to_string()];
    for lib in catalog.libraries() {
        let id = format!("lib-{}", lib.meta.name);
        let runs = run_lines(&jobs[&id]);
        assert!(runs.contains(&format!("cargo xtask test --tier full -p {}", lib.meta.name)), "{id}: {runs:?}");
        want.push(id);
    }
    for ext in catalog.extensions() {
        for (i, arch) in ext.meta.arches.iter().enumerate() {
            let id = format!("ext-{}-{}", ext.meta.name, arch.as_str());
            let job = &jobs[&id];
            let runs = run_lines(job);
            assert!(runs.contains(&"bash ci/setup.sh".to_string()), "{id}: {runs:?}");
            let build = format!("cargo xtask build {} --arch {} \"${{cache[@]}}\"", ext.meta.name, arch.as_str());
            assert!(runs.iter().any(|r| r.contains(&build) && r.contains("--cache-from \"$REGISTRY/cache\"")), "{id}");
            let test = format!("cargo xtask test --tier full -p {}", ext.meta.name);
            assert_eq!(runs.contains(&test), i == 0, "{id}: the tests run in the first arch's job only");
            for lib in &ext.uses {
                if catalog.libraries().any(|l| &l.meta.name == lib) {
                    let needs: Vec<&str> = job["needs"].as_array().unwrap().iter().filter_map(|n| n.as_str()).collect();
                    assert!(needs.contains(&format!("lib-{lib}").as_str()), "{id} needs lib-{lib}: {needs:?}");
                }
            }
            want.push(id);
        }
    }
    // json-c is linked by libnvme: its job comes first, and nvme-cli restores both caches.
    if jobs.contains_key("lib-libnvme") {
        assert_eq!(jobs["lib-libnvme"]["needs"], serde_json::json!(["lib-json-c"]));
    }
    let release = &jobs["release"];
    assert_eq!(release["if"], "startsWith(github.ref, 'refs/tags/')");
    let needs: Vec<String> =
        release["needs"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_string()).collect();
    assert_eq!(needs, want, "the release job needs every other job");
    want.push("release".into());
    let mut ids: Vec<&String> = jobs.keys().collect();
    let mut sorted_want: Vec<&String> = want.iter().collect();
    ids.sort();
    sorted_want.sort();
    assert_eq!(ids, sorted_want, "no other jobs");
    let runs = run_lines(release);
    let build =
        runs.iter().position(|r| r.contains("cargo xtask build --all --arch all \"${cache[@]}\"")).expect("build");
    let publish = runs.iter().position(|r| r.starts_with("cargo xtask publish")).expect("publish");
    assert!(build < publish, "the release job builds (through the cache) before it publishes");
    let publish = &runs[publish];
    assert!(
        publish.contains("--all --no-build")
            && publish.contains("--registry \"$REGISTRY\"")
            && publish.contains("--key")
    );
    assert_eq!(run_lines(&jobs["shared"]).last().unwrap(), "cargo xtask test --tier full --no-recipes");
}

fn schema_validator() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/github-workflow.json");
    let schema: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("GitHub's workflow schema compiles")
}

fn schema_errors(validator: &jsonschema::Validator, value: &serde_json::Value) -> Vec<String> {
    validator.iter_errors(value).map(|e| format!("{}: {e}", e.instance_path)).collect()
}

/// The committed workflow is valid against GitHub's workflow schema; the validator is live: a
/// job without `runs-on`, or with a key GitHub does not know, is not.
#[test]
fn the_pipeline_is_valid_against_githubs_workflow_schema() {
    let validator = schema_validator();
    let wf = workflow_json(&root().join(xtask::ci::WORKFLOW));
    let errors = schema_errors(&validator, &wf);
    assert!(errors.is_empty(), "{}:\n{}", xtask::ci::WORKFLOW, errors.join("\n"));

    let mut no_runner = wf.clone();
    no_runner["jobs"]["shared"].as_object_mut().unwrap().remove("runs-on");
    assert!(!schema_errors(&validator, &no_runner).is_empty(), "a job without runs-on");
    let mut unknown = wf.clone();
    unknown["jobs"]["shared"]["run-on"] = serde_json::json!("ubuntu-24.04");
    assert!(!schema_errors(&validator, &unknown).is_empty(), "an unknown job key");
    let mut bad_trigger = wf;
    bad_trigger["on"]["push"]["tag"] = serde_json::json!(["v*"]);
    assert!(!schema_errors(&validator, &bad_trigger).is_empty(), "an unknown trigger filter");
}

/// actionlint (expressions, `needs`, runner labels, action inputs) finds nothing in the committed
/// workflow. `ci/setup.sh` installs actionlint when a Go toolchain is there; without it this
/// test fails saying so.
#[test]
#[ignore = "tier full: needs actionlint, which ci/setup.sh builds with Go (the pipeline installs Go first)"]
fn tier_full_the_pipeline_passes_actionlint() {
    let out = Command::new("actionlint")
        .args(["-no-color", xtask::ci::WORKFLOW])
        .dir(root())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output_unchecked()
        .unwrap_or_else(|e| panic!("{e}\nhint: run `bash ci/setup.sh` with Go on PATH to install actionlint"));
    assert!(out.status.success(), "actionlint:\n{}{}", text(&out.stdout), text(&out.stderr));
}
