//! `cargo xtask ci generate [--check]`: the GitHub Actions pipeline, generated from the catalog.
//!
//! [`workflow`] turns [`Catalog::load`] (cargo metadata) into `.github/workflows/catalog.yml`:
//!
//! - `shared`: the tests of every crate but the recipes (engine crates, xtask), tier `full`;
//! - `lib-<name>`: one job per internal library stage, its tests (tier `full`), after the jobs of
//!   the libraries it links; its `.cache/talos-ext` (sources, and the library stages tests share
//!   in `test-stages/`) is saved under a key hashed from the library's crate and what it builds
//!   with, and restored by every job that needs it;
//! - `ext-<name>-<arch>`: one job per extension and arch, after its libraries' jobs: the
//!   extension's tests (tier `full`; they stage every arch, so they run in the job of its first
//!   arch only) and `cargo xtask build <name> --arch <arch>`, whose layout is kept as an artifact;
//! - `release`: on tags only, after every other job: `cargo xtask publish --all` (builds, pushes
//!   every extension and the `extensions:<talos tag>` index image, signs them all with `--key`).
//!
//! The text depends only on the metadata, the Talos pin and the workspace's `rust-version`
//! (sorted, no environment), so `--check` can compare it with the committed file (a test does).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use xshell::Shell;

use crate::catalog::{Catalog, Entry};
use crate::flags::{CiCmd, CiWhat, Verbosity};
use crate::readme::{first_difference, write_atomically};

/// The workflow file, relative to the workspace root.
pub const WORKFLOW: &str = ".github/workflows/catalog.yml";
/// The runner every job runs on (a container runs the job, see [`container`]).
pub const RUNNER: &str = "ubuntu-24.04";
/// Pinned actions.
const CHECKOUT: &str = "actions/checkout@v4";
const CACHE: &str = "actions/cache@v4";
const CACHE_RESTORE: &str = "actions/cache/restore@v4";
const UPLOAD: &str = "actions/upload-artifact@v4";
const SETUP_GO: &str = "actions/setup-go@v5";
/// The Go the `shared` job installs for `ci/setup.sh` to build actionlint with.
const GO_VERSION: &str = "1.26.x";
/// Hashed into every cache key: what any build or test depends on besides a recipe's own crate.
const COMMON_INPUTS: &[&str] = &["Cargo.lock", "shared/**", "toolchain/**", "extensions/test-overrides.toml"];

/// The container jobs run in: Debian bookworm (what `ci/setup.sh` sets up) with the workspace's
/// Rust (`rust-version` of its packages), as root.
pub fn container(rust_version: &str) -> String {
    format!("rust:{rust_version}-bookworm")
}

/// The container's options: privileged, as the README's test command runs on a machine (root
/// with every capability): some tests make a private network namespace with a TAP interface
/// (revpi-firmware sets a MAC address there), which Docker's default profile refuses.
pub const CONTAINER_OPTIONS: &str = "--privileged";

/// A YAML single-quoted scalar.
fn q(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A job id for a catalog name: `<prefix>-<name>[-<arch>]` (names are lowercase letters,
/// digits and `-`, so this is a valid id).
fn job_id(prefix: &str, name: &str, arch: Option<&str>) -> String {
    match arch {
        Some(arch) => format!("{prefix}-{name}-{arch}"),
        None => format!("{prefix}-{name}"),
    }
}

/// The internal libraries `entry` links, directly or through other libraries (sorted).
fn libraries<'a>(catalog: &'a Catalog, entry: &Entry) -> Vec<&'a Entry> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = entry.uses.clone();
    while let Some(name) = todo.pop() {
        if let Some(e) = catalog.entries.iter().find(|e| e.meta.name == name)
            && seen.insert(name.clone())
        {
            todo.extend(e.uses.iter().cloned());
        }
    }
    catalog.libraries().filter(|l| seen.contains(&l.meta.name)).collect()
}

/// The cache key of a library job's `.cache/talos-ext`.
fn library_key(catalog: &Catalog, lib: &Entry) -> String {
    let mut patterns: Vec<String> = COMMON_INPUTS.iter().map(|p| p.to_string()).collect();
    for l in std::iter::once(lib).chain(libraries(catalog, lib)) {
        patterns.push(format!("{}/**", catalog.relative_dir(l)));
    }
    let quoted: Vec<String> = patterns.iter().map(|p| q(p)).collect();
    format!("talos-ext-{}-${{{{ hashFiles({}) }}}}", job_id("lib", &lib.meta.name, None), quoted.join(", "))
}

/// The opening steps of every job: checkout, git's ownership check (the container runs as
/// root on a checkout owned by the runner), the libraries' caches.
fn opening_steps(out: &mut String, catalog: &Catalog, libs: &[&Entry]) {
    let _ = writeln!(out, "      - uses: {CHECKOUT}");
    out.push_str("      - name: Trust the checkout (the container runs as another user)\n");
    out.push_str("        run: git config --global --add safe.directory \"$GITHUB_WORKSPACE\"\n");
    for lib in libs {
        let _ = writeln!(out, "      - name: {}", q(&format!("Restore the {} library stage", lib.meta.name)));
        let _ = writeln!(out, "        uses: {CACHE_RESTORE}");
        out.push_str("        with:\n");
        out.push_str("          path: .cache/talos-ext\n");
        let _ = writeln!(out, "          key: {}", library_key(catalog, lib));
        out.push_str("          fail-on-cache-miss: true\n");
    }
}

/// The shell lines (inside a `run: |` block) that set the bash array `cache` to the registry
/// build cache options: `--cache-from "$REGISTRY/cache"` when the repository variable
/// `TALOS_EXT_REGISTRY` is set, and `--cache-to` too on pushes (pull requests from forks have no
/// credentials to push with).
const CACHE_ARGS_SCRIPT: &str = concat!(
    "          cache=()\n",
    "          if [ -n \"$REGISTRY\" ]; then\n",
    "            cache+=(--cache-from \"$REGISTRY/cache\")\n",
    "            if [ \"$GITHUB_EVENT_NAME\" != pull_request ]; then cache+=(--cache-to \"$REGISTRY/cache\"); fi\n",
    "          fi\n",
);

/// A step's (or job's) `env:` with the registry and its credentials, indented by `indent`.
fn registry_env(out: &mut String, indent: &str) {
    let _ = writeln!(out, "{indent}env:");
    let _ = writeln!(out, "{indent}  REGISTRY: ${{{{ vars.TALOS_EXT_REGISTRY }}}}");
    let _ = writeln!(out, "{indent}  TALOS_EXT_REGISTRY_USER: ${{{{ secrets.TALOS_EXT_REGISTRY_USER }}}}");
    let _ = writeln!(out, "{indent}  TALOS_EXT_REGISTRY_PASSWORD: ${{{{ secrets.TALOS_EXT_REGISTRY_PASSWORD }}}}");
}

fn needs(out: &mut String, ids: &[String]) {
    if !ids.is_empty() {
        let _ = writeln!(out, "    needs: [{}]", ids.join(", "));
    }
}

fn job_head(out: &mut String, id: &str, name: &str, rust_version: &str, timeout: u32) {
    let _ = writeln!(out, "  {id}:");
    let _ = writeln!(out, "    name: {}", q(name));
    let _ = writeln!(out, "    runs-on: {RUNNER}");
    let _ = writeln!(out, "    container:");
    let _ = writeln!(out, "      image: {}", container(rust_version));
    let _ = writeln!(out, "      options: {CONTAINER_OPTIONS}");
    let _ = writeln!(out, "    timeout-minutes: {timeout}");
}

/// The workflow for `catalog`, whose packages need Rust `rust_version`.
pub fn workflow(catalog: &Catalog, rust_version: &str) -> String {
    let mut out = String::new();
    out.push_str(
        "# Generated by `cargo xtask ci generate` from the catalog (the recipes' Cargo.toml metadata):\n\
         # edit those, or xtask/src/ci.rs, not this file. `cargo xtask ci generate --check` (a test)\n\
         # fails when it is stale. README.md (\"CI pipeline\") and ARCHITECTURE.md (\"Scaling out\")\n\
         # say what runs where.\n",
    );
    out.push_str("name: catalog\n");
    out.push_str("on:\n  push:\n    branches: [main]\n    tags: ['v*']\n  pull_request:\n  workflow_dispatch:\n");
    out.push_str("permissions:\n  contents: read\n");
    out.push_str("concurrency:\n  group: catalog-${{ github.ref }}\n  cancel-in-progress: true\n");
    out.push_str("env:\n  CARGO_TERM_COLOR: always\n");
    out.push_str("defaults:\n  run:\n    shell: bash\n");
    out.push_str("jobs:\n");

    let mut all_jobs = vec!["shared".to_string()];
    job_head(&mut out, "shared", "engine crates and xtask (test tier full)", rust_version, 240);
    out.push_str("    steps:\n");
    opening_steps(&mut out, catalog, &[]);
    let _ = writeln!(out, "      - uses: {CACHE}");
    out.push_str("        with:\n          path: |\n            .cache/talos-ext\n            target\n");
    let common: Vec<String> = COMMON_INPUTS.iter().chain(&["xtask/**"]).map(|p| q(p)).collect();
    let _ = writeln!(out, "          key: talos-ext-shared-${{{{ hashFiles({}) }}}}", common.join(", "));
    out.push_str("          restore-keys: talos-ext-shared-\n");
    out.push_str("      - name: Go, for ci/setup.sh to build actionlint (a tier-full test runs it)\n");
    let _ = writeln!(out, "        uses: {SETUP_GO}\n        with:\n          go-version: {}", q(GO_VERSION));
    out.push_str("      - name: Set up the machine\n        run: bash ci/setup.sh\n");
    out.push_str("      - name: Test every crate but the recipes (tier full)\n");
    out.push_str("        run: cargo xtask test --tier full --no-recipes\n");

    for lib in catalog.libraries() {
        let id = job_id("lib", &lib.meta.name, None);
        all_jobs.push(id.clone());
        let deps = libraries(catalog, lib);
        out.push('\n');
        job_head(&mut out, &id, &format!("{} (internal library, test tier full)", lib.meta.name), rust_version, 180);
        needs(&mut out, &deps.iter().map(|d| job_id("lib", &d.meta.name, None)).collect::<Vec<_>>());
        out.push_str("    steps:\n");
        opening_steps(&mut out, catalog, &deps);
        let _ = writeln!(out, "      - name: Cache the library stage\n        uses: {CACHE}");
        out.push_str("        with:\n          path: .cache/talos-ext\n");
        let _ = writeln!(out, "          key: {}", library_key(catalog, lib));
        out.push_str("      - name: Set up the machine\n        run: bash ci/setup.sh\n");
        let _ = writeln!(out, "      - name: {}", q(&format!("Test {} (tier full)", lib.meta.name)));
        let _ = writeln!(out, "        run: cargo xtask test --tier full -p {}", lib.meta.name);
    }

    for ext in catalog.extensions() {
        let libs = libraries(catalog, ext);
        let lib_jobs: Vec<String> = libs.iter().map(|d| job_id("lib", &d.meta.name, None)).collect();
        for (i, arch) in ext.meta.arches.iter().enumerate() {
            let id = job_id("ext", &ext.meta.name, Some(arch.as_str()));
            all_jobs.push(id.clone());
            out.push('\n');
            job_head(&mut out, &id, &format!("{} {}", ext.meta.name, arch.as_str()), rust_version, 180);
            needs(&mut out, &lib_jobs);
            out.push_str("    steps:\n");
            opening_steps(&mut out, catalog, &libs);
            let _ = writeln!(out, "      - name: Cache the build\n        uses: {CACHE}");
            out.push_str("        with:\n          path: target\n");
            let mut patterns: Vec<String> = COMMON_INPUTS.iter().map(|p| q(p)).collect();
            patterns.push(q(&format!("{}/**", catalog.relative_dir(ext))));
            let key_prefix = format!("talos-ext-{id}-");
            let _ = writeln!(out, "          key: {key_prefix}${{{{ hashFiles({}) }}}}", patterns.join(", "));
            let _ = writeln!(out, "          restore-keys: {key_prefix}");
            out.push_str("      - name: Set up the machine\n        run: bash ci/setup.sh\n");
            if i == 0 {
                let _ = writeln!(
                    out,
                    "      - name: {}",
                    q(&format!("Test {} (tier full; the tests stage every arch)", ext.meta.name))
                );
                let _ = writeln!(out, "        run: cargo xtask test --tier full -p {}", ext.meta.name);
            }
            let _ = writeln!(
                out,
                "      - name: {}",
                q(&format!(
                    "Build {} for {} (through the registry cache when there is one)",
                    ext.meta.name,
                    arch.as_str()
                ))
            );
            registry_env(&mut out, "        ");
            out.push_str("        run: |\n");
            out.push_str(CACHE_ARGS_SCRIPT);
            let _ = writeln!(
                out,
                "          cargo xtask build {} --arch {} \"${{cache[@]}}\"",
                ext.meta.name,
                arch.as_str()
            );
            let _ = writeln!(out, "      - uses: {UPLOAD}");
            out.push_str("        with:\n");
            let _ = writeln!(out, "          name: oci-{}-{}", ext.meta.name, arch.as_str());
            let _ = writeln!(out, "          path: _out/oci/{}", ext.meta.name);
            out.push_str("          if-no-files-found: error\n");
        }
    }

    out.push('\n');
    let tag = &catalog.pin.talos.tag;
    job_head(
        &mut out,
        "release",
        &format!("publish and sign every extension and the extensions:{tag} index image"),
        rust_version,
        360,
    );
    out.push_str("    if: startsWith(github.ref, 'refs/tags/')\n");
    needs(&mut out, &all_jobs);
    out.push_str("    env:\n");
    out.push_str("      TALOS_EXT_REGISTRY_USER: ${{ secrets.TALOS_EXT_REGISTRY_USER }}\n");
    out.push_str("      TALOS_EXT_REGISTRY_PASSWORD: ${{ secrets.TALOS_EXT_REGISTRY_PASSWORD }}\n");
    out.push_str("      COSIGN_PASSWORD: ${{ secrets.COSIGN_PASSWORD }}\n");
    out.push_str("      REGISTRY: ${{ vars.TALOS_EXT_REGISTRY }}\n");
    out.push_str("    steps:\n");
    let libs: Vec<&Entry> = catalog.libraries().collect();
    opening_steps(&mut out, catalog, &libs);
    out.push_str("      - name: Set up the machine\n        run: bash ci/setup.sh\n");
    out.push_str("      - name: Write the signing key\n");
    out.push_str("        env:\n          COSIGN_KEY: ${{ secrets.COSIGN_KEY }}\n");
    out.push_str("        run: |\n");
    out.push_str("          umask 077\n");
    out.push_str("          printf '%s\\n' \"$COSIGN_KEY\" > \"$RUNNER_TEMP/cosign.key\"\n");
    // The ext jobs' images are single-arch (their input hashes key one arch), so this job builds
    // the multi-arch images itself, through the cache: an extension unchanged since an earlier
    // release (same input hash) is pulled, not built.
    out.push_str("      - name: Build every extension for every arch (through the registry cache)\n");
    out.push_str("        run: |\n");
    out.push_str(CACHE_ARGS_SCRIPT);
    out.push_str("          cargo xtask build --all --arch all \"${cache[@]}\"\n");
    let _ = writeln!(
        out,
        "      - name: {}",
        q(&format!("Push and sign every extension, then the extensions:{tag} index image (signed)"))
    );
    out.push_str(
        "        run: cargo xtask publish --all --no-build --registry \"$REGISTRY\" --key \"$RUNNER_TEMP/cosign.key\"\n",
    );
    out
}

/// The highest `rust-version` of the workspace's packages (what the container must provide).
pub fn rust_version(root: &Path) -> Result<String> {
    let metadata = crate::metadata::workspace(root)?;
    let versions: BTreeSet<(u64, u64, u64)> = metadata
        .workspace_packages()
        .iter()
        .filter_map(|p| p.rust_version.as_ref())
        .map(|v| (v.major, v.minor, v.patch))
        .collect();
    let Some((major, minor, patch)) = versions.last() else {
        bail!("{}: no package declares a `rust-version`", root.join("Cargo.toml").display());
    };
    Ok(if *patch == 0 { format!("{major}.{minor}") } else { format!("{major}.{minor}.{patch}") })
}

/// Writes `want` to `path` (relative name `name` in messages), or under `check` compares:
/// `Ok(true)` when the file was (or is) current, `Ok(false)` when it was written; a stale or
/// missing file under `check` is an error naming it.
pub fn check_or_write(path: &Path, name: &str, want: &str, check: bool) -> Result<bool> {
    let got = match fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if got.as_deref() == Some(want) {
        return Ok(true);
    }
    if check {
        let why = match &got {
            Some(got) => format!("stale: {}", first_difference(want, got)),
            None => "missing".to_string(),
        };
        bail!("{name}: the generated pipeline is {why}\nhint: run `cargo xtask ci generate` and commit {name}");
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    write_atomically(path, want.as_bytes())?;
    Ok(false)
}

/// What `cargo xtask ci generate [--check]` does for the workspace at `root`.
pub fn update(root: &Path, check: bool) -> Result<bool> {
    let catalog = Catalog::load(root)?;
    let want = workflow(&catalog, &rust_version(root)?);
    check_or_write(&root.join(WORKFLOW), WORKFLOW, &want, check)
}

pub fn run(sh: &Shell, cmd: CiCmd, verbosity: Verbosity) -> Result<ExitCode> {
    match cmd.what {
        CiWhat::Generate { check } => {
            let current = update(&sh.current_dir(), check)?;
            if !verbosity.is_quiet() {
                match (current, check) {
                    (true, true) => eprintln!("{WORKFLOW}: current"),
                    (true, false) => eprintln!("{WORKFLOW}: current (nothing written)"),
                    (false, _) => eprintln!("{WORKFLOW}: written"),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
