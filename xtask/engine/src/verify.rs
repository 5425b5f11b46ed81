//! `cargo xtask verify <ext>... --registry R --tag T` (or `--all`): are the published images
//! reproducible from this repository?
//!
//! The references come from the index image `<prefix>/extensions:<tag>`. Each published image is
//! pulled (into a temporary directory) for what it says it was built from: the revision and
//! `created` annotations, its platforms and layer compression. The repository is cloned (`git
//! clone` of this checkout: committed state only, nothing of `target/`, `_out/` or `.cache/`),
//! checked out at that revision (HEAD, with a warning, when the clone does not have it), and the
//! extensions are built there with `cargo xtask build` in a fresh cargo target directory and a
//! fresh `TALOS_EXT_CACHE`, with `SOURCE_DATE_EPOCH` set to the image's `created` time. The
//! pinned sources come from this checkout's source cache as a mirror (content-addressed and
//! verified, so it cannot change what is built). Then the index digests are compared; when they
//! differ, both layers are read as trees (`ImageTree`, `diff_trees`) and the first differing file
//! of each arch is printed with a short list, or the annotations that differ when the files are
//! the same. A table sums up; any mismatch exits 1.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use talos_ext_image::spec::{ANNOTATION_CREATED, ANNOTATION_REVISION, MEDIA_TYPE_LAYER_ZSTD};
use talos_ext_image::{ImageTree, Layout, diff_trees};
use talos_ext_model::handoff::{ENV_SOURCE_DATE_EPOCH, ENV_SOURCE_OVERRIDES, SOURCE_DATE_EPOCH};
use talos_ext_model::{Arch, Reference, parse_rfc3339_utc};
use talos_ext_process::Log;
use talos_ext_publish::{ANNOTATION_INPUT_HASH, RegistryPrefix, read_index};
use xshell::{Shell, cmd};
use xtask::catalog::Catalog;
use xtask::flags::{Verbosity, VerifyCmd};
use xtask::list::print_table;

use crate::progress::Bars;

/// One published extension to rebuild.
struct Published {
    name: String,
    reference: Reference,
    layout: Layout,
    revision: String,
    epoch: u64,
    arches: Vec<Arch>,
    zstd: bool,
}

pub fn run(sh: &Shell, cmd: VerifyCmd, verbosity: Verbosity) -> Result<ExitCode> {
    let root = sh.current_dir();
    let catalog = Catalog::load(&root)?;
    let prefix: RegistryPrefix = cmd.registry.parse()?;
    let tag = cmd.tag.clone().unwrap_or_else(|| catalog.pin.talos.tag.clone());
    let client = crate::publish::client(&cmd.registry_args)?;
    let bars = Bars::new(verbosity);
    let index = read_index(&client, &prefix, &tag, None)?;
    let mut listed = BTreeMap::new();
    for line in &index.files.lines {
        let reference: Reference =
            line.parse().with_context(|| format!("{}: `{line}` is not an image reference", index.reference))?;
        let name = reference.repository.name.rsplit('/').next().unwrap_or_default().to_string();
        listed.insert(name, reference);
    }
    let names: Vec<String> = if cmd.all {
        catalog.extensions().map(|e| e.meta.name.clone()).filter(|n| listed.contains_key(n)).collect()
    } else {
        catalog.select(&cmd.extensions)?.iter().map(|e| e.meta.name.clone()).collect()
    };
    if names.is_empty() {
        bail!("{} lists no extension of this catalog", index.reference);
    }

    let temporary = match &cmd.work_dir {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new().prefix("talos-ext-verify-").tempdir().context("creating a temporary directory")?,
        ),
    };
    let dir = match (&cmd.work_dir, &temporary) {
        (Some(d), _) => root.join(d),
        (None, Some(t)) => t.path().to_path_buf(),
        (None, None) => unreachable!("a temporary directory when no --work-dir"),
    };
    // Nothing of an earlier verify but the clone and its compiled crates.
    for old in ["published", "cache", "out"] {
        talos_ext_fs::remove_dir_if_exists(&dir.join(old))?;
    }
    if cmd.keep || cmd.work_dir.is_some() {
        eprintln!("verify: working in {} (kept)", dir.display());
    }
    let mut published = Vec::new();
    for name in &names {
        let reference = listed.get(name).with_context(|| {
            format!(
                "{name} is not in {}\nhint: it lists {}",
                index.reference,
                listed.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?;
        let dest = dir.join("published").join(name);
        client.pull_layout(reference, &dest, &bars).with_context(|| format!("pulling {reference}"))?;
        published.push(read_published(name, reference, &dest)?);
    }

    // One clone; the extensions are built in groups of equal revision, epoch, arches, compression.
    let clone = dir.join("src");
    let (root_s, clone_s) = (root.as_os_str(), clone.as_os_str());
    if clone.join(".git").is_dir() {
        let _in = sh.push_dir(&clone);
        cmd!(sh, "git fetch --quiet {root_s}").quiet().run().context("fetching into the clone")?;
    } else {
        if !verbosity.is_quiet() {
            eprintln!("verify: cloning {} into {}", root.display(), clone.display());
        }
        cmd!(sh, "git clone --quiet --no-hardlinks {root_s} {clone_s}")
            .quiet()
            .run()
            .context("cloning the repository")?;
    }
    let head = cmd!(sh, "git rev-parse HEAD").quiet().read().context("reading HEAD")?;
    let mut groups: BTreeMap<(String, u64, Vec<Arch>, bool), Vec<&Published>> = BTreeMap::new();
    for p in &published {
        groups.entry((p.revision.clone(), p.epoch, p.arches.clone(), p.zstd)).or_default().push(p);
    }
    let target_dir = dir.join("target");
    // Recipes restart from scratch even when the clone's crates were compiled by an earlier verify.
    if target_dir.is_dir() {
        let libraries: Vec<&str> = catalog.libraries().map(|e| e.meta.name.as_str()).collect();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut clean = xtask::user_command(sh, &cargo).dir(&clone).arg("clean").env("CARGO_TARGET_DIR", &target_dir);
        for name in names.iter().map(String::as_str).chain(libraries) {
            clean = clean.args(["-p", name]);
        }
        clean.output().context("cleaning the recipes' stages in the clone's target directory")?;
    }
    let cache = talos_ext_model::handoff::default_cache_dir(&root);
    let env_cache = std::env::var_os(talos_ext_fetch::ENV_CACHE).map(PathBuf::from).unwrap_or(cache);
    let mut rebuilt = BTreeMap::new();
    for (n, ((revision, epoch, arches, zstd), members)) in groups.into_iter().enumerate() {
        let at = checkout(sh, &clone, &revision, &head)?;
        let out = dir.join("out").join(n.to_string());
        let names: Vec<&str> = members.iter().map(|p| p.name.as_str()).collect();
        if !verbosity.is_quiet() {
            eprintln!("verify: rebuilding {} at {at} (SOURCE_DATE_EPOCH={epoch}) from scratch", names.join(", "));
        }
        let arch = match arches.as_slice() {
            [Arch::Amd64] => "amd64",
            [Arch::Arm64] => "arm64",
            _ => "all",
        };
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = xtask::user_command(sh, &cargo)
            .dir(&clone)
            .name("verify-build")
            .arg("xtask")
            .args(verbosity.flag())
            .arg("build")
            .args(&names)
            .args(["--arch", arch, "--compression", if zstd { "zstd" } else { "gzip" }])
            .arg("--out")
            .arg(&out)
            .env("CARGO_TARGET_DIR", &target_dir)
            .env(talos_ext_fetch::ENV_CACHE, dir.join("cache"))
            .env(SOURCE_DATE_EPOCH, epoch.to_string())
            .env_remove(ENV_SOURCE_DATE_EPOCH)
            .env_remove(ENV_SOURCE_OVERRIDES)
            .env_remove(talos_ext_model::toolchain::ENV_TOOLCHAIN)
            .log(Log::File(dir.join("out").join(format!("build-{n}.log"))))
            .stream_output(verbosity.is_verbose());
        for mirror in &cmd.sources.mirror {
            build = build.arg("--mirror").arg(mirror);
        }
        let sources = env_cache.join(talos_ext_fetch::SOURCES_BUCKET);
        if sources.is_dir() {
            build = build.arg("--mirror").arg(&sources);
        }
        if cmd.sources.offline {
            build = build.arg("--offline");
        }
        build.run().with_context(|| format!("rebuilding {} in {}", names.join(", "), clone.display()))?;
        for name in names {
            rebuilt.insert(name.to_string(), out.join("oci").join(name));
        }
    }

    let mut rows = Vec::new();
    let mut failed = 0;
    for p in &published {
        let layout = Layout::open(&rebuilt[&p.name]).with_context(|| format!("reading the rebuilt {}", p.name))?;
        let (theirs, ours) =
            (format!("sha256:{}", p.layout.index_digest()), format!("sha256:{}", layout.index_digest()));
        let result = if theirs == ours {
            if !verbosity.is_quiet() {
                eprintln!("verified: {} rebuilds to {theirs}", p.reference);
            }
            "equal".to_string()
        } else {
            failed += 1;
            println!("{}: published {theirs}, rebuilt {ours}", p.name);
            let first = explain(&p.layout, &layout, &p.arches, cmd.max_files)?;
            format!("DIFFERS: {first}")
        };
        rows.push([p.name.clone(), short(&theirs), short(&ours), result]);
    }
    print_table(&["NAME", "PUBLISHED", "REBUILT", "RESULT"], &rows);
    if let Some(t) = temporary
        && cmd.keep
    {
        let _kept = t.keep();
    }
    if failed > 0 {
        eprintln!("error: {failed} of {} extension(s) did not rebuild to the published image", rows.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// What a pulled image says it was built from.
fn read_published(name: &str, reference: &Reference, dir: &Path) -> Result<Published> {
    let layout = Layout::open(dir)?;
    layout.verify().with_context(|| format!("verifying the pulled {reference}"))?;
    let annotations = &layout.index().annotations;
    let revision = annotations.get(ANNOTATION_REVISION).cloned().unwrap_or_else(|| "unknown".into());
    let created = annotations
        .get(ANNOTATION_CREATED)
        .with_context(|| format!("{reference} has no `{ANNOTATION_CREATED}` annotation: its build time is unknown"))?;
    let epoch = parse_rfc3339_utc(created)
        .with_context(|| format!("{reference}: `{ANNOTATION_CREATED}` is `{created}`, not `YYYY-MM-DDTHH:MM:SSZ`"))?;
    let arches = layout.platforms();
    let first = arches.first().with_context(|| format!("{reference} lists no linux platform"))?;
    let manifest = layout.manifest(*first)?;
    let zstd = manifest.layers.iter().any(|l| l.media_type == MEDIA_TYPE_LAYER_ZSTD);
    Ok(Published { name: name.to_string(), reference: reference.clone(), layout, revision, epoch, arches, zstd })
}

/// Checks the clone out at `revision` when it has that commit; else at `head` (this checkout's
/// HEAD), with a warning. Returns what it is at.
fn checkout(sh: &Shell, clone: &Path, revision: &str, head: &str) -> Result<String> {
    let _dir = sh.push_dir(clone);
    let commit = format!("{revision}^{{commit}}");
    let known = revision != "unknown" && cmd!(sh, "git cat-file -e {commit}").quiet().ignore_stderr().run().is_ok();
    let at = if known {
        revision
    } else {
        eprintln!(
            "warning: the image names revision `{revision}`, which this repository does not have: rebuilding HEAD ({head})"
        );
        head
    };
    cmd!(sh, "git checkout --quiet --force --detach {at}")
        .quiet()
        .run()
        .with_context(|| format!("checking out {at}"))?;
    cmd!(sh, "git clean --quiet -fdx --exclude=/target").quiet().run().context("cleaning the clone")?;
    Ok(at.to_string())
}

/// Prints how the rebuilt image differs from the published one; returns the first difference.
fn explain(published: &Layout, rebuilt: &Layout, arches: &[Arch], max_files: usize) -> Result<String> {
    let mut first = None;
    let keep = |_: &str| false;
    for &arch in arches {
        let theirs = published.tree(arch, &keep).with_context(|| format!("reading the published {arch} layer"))?;
        let ours = match rebuilt.tree(arch, &keep) {
            Ok(t) => t,
            Err(_) => {
                println!("  {arch}: the rebuilt image has no {arch} layer");
                first.get_or_insert_with(|| format!("no {arch} image"));
                continue;
            }
        };
        let lines = differing_files(&theirs, &ours);
        if lines.is_empty() {
            continue;
        }
        println!("  {arch}: {} file(s) differ; first: {}", lines.len(), lines[0]);
        for line in lines.iter().take(max_files) {
            println!("    {line}");
        }
        if lines.len() > max_files {
            println!("    ... and {} more", lines.len() - max_files);
        }
        first.get_or_insert_with(|| format!("{arch} {}", lines[0].split_whitespace().next().unwrap_or_default()));
    }
    if let Some(first) = first {
        return Ok(first);
    }
    // Same files: the difference is in the metadata or the layer bytes.
    let (a, b) = (&published.index().annotations, &rebuilt.index().annotations);
    let keys: Vec<&String> = a.keys().chain(b.keys()).filter(|k| a.get(*k) != b.get(*k)).collect();
    if keys.is_empty() {
        println!("  same files and annotations: the layers differ in bytes (timestamps, owners, order or compression)");
        return Ok("layer bytes".into());
    }
    let mut keys: Vec<String> = keys.into_iter().cloned().collect();
    keys.sort();
    keys.dedup();
    for k in &keys {
        println!(
            "  annotation {k}: published `{}`, rebuilt `{}`",
            a.get(k).map_or("(none)", String::as_str),
            b.get(k).map_or("(none)", String::as_str)
        );
    }
    if keys.iter().any(|k| k == ANNOTATION_INPUT_HASH) {
        println!("  (a different input hash: the published image was built from other inputs than this revision's)");
    }
    Ok(format!("annotation {}", keys[0]))
}

/// `<path> published: <entry>, rebuilt: <entry>` for every path whose entry differs, sorted.
fn differing_files(published: &ImageTree, rebuilt: &ImageTree) -> Vec<String> {
    let diff = diff_trees(published, rebuilt);
    let mut lines: Vec<(String, String)> = Vec::new();
    for c in &diff.changed {
        lines.push((c.old.path.clone(), format!("published: {}, rebuilt: {}", c.old.describe(), c.new.describe())));
    }
    for e in &diff.removed {
        lines.push((e.path.clone(), format!("only published: {}", e.describe())));
    }
    for e in &diff.added {
        lines.push((e.path.clone(), format!("only rebuilt: {}", e.describe())));
    }
    lines.sort();
    lines.into_iter().map(|(p, d)| format!("{p} ({d})")).collect()
}

/// `sha256:` and the first 12 hex digits.
fn short(digest: &str) -> String {
    digest.chars().take(19).collect()
}
