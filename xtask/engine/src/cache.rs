//! `cargo xtask build --cache-from <registry/prefix> --cache-to <registry/prefix>`: the registry as
//! a content-addressed build cache, keyed by each image's input hash
//! (`talos_ext_publish::cache`, the one definition of it).
//!
//! For each selected extension the hash is computed first (a few file reads); with
//! `--cache-from`, `<prefix>/<name>:cache-<hash>` is looked up and, when it is there (and its
//! cosign signature verifies with `--cache-key`), pulled into `<out>/oci/<name>/`: no cargo
//! build and no build script runs for it. The rest are built as `cargo xtask build` builds them
//! (packed in process), and with `--cache-to` pushed under their cache tag (signed with
//! `--cache-sign-key`).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use indicatif::HumanBytes;
use talos_ext_image::Layout;
use talos_ext_model::{Arch, Digest};
use talos_ext_publish::{
    ANNOTATION_INPUT_HASH, BuildKey, InputGraph, RecipeNode, RegistryPrefix, cache_tag, resolve_digest, sign_reference,
    verify_reference,
};
use talos_ext_registry::{Client, PushOptions, Reference};
use talos_ext_sign::{PublicKey, SigningKey};
use xshell::Shell;
use xtask::catalog::{Catalog, Entry};
use xtask::flags::{BuildCmd, CompressionArg, RegistryArgs, Verbosity};
use xtask::list::print_table;

use crate::progress::Bars;

/// The input graph of the catalog: every recipe (extensions and internal libraries) with the
/// libraries it uses, and the workspace's shared inputs.
pub fn input_graph(catalog: &Catalog) -> Result<InputGraph> {
    let recipes: BTreeMap<String, RecipeNode> = catalog
        .entries
        .iter()
        .map(|e| (e.meta.name.clone(), RecipeNode { dir: e.dir.clone(), uses: e.uses.clone() }))
        .collect();
    InputGraph::new(&catalog.root, recipes).context("hashing the workspace's shared inputs")
}

/// The parts of an input hash that come from the command line.
pub fn build_key(arches: Vec<Arch>, compression: CompressionArg, toolchain: Option<String>) -> BuildKey {
    BuildKey { arches, compression: compression.as_str().to_string(), toolchain }
}

/// The arches an extension is built for when `requested` are asked for.
fn built_arches(e: &Entry, requested: &[Arch]) -> Vec<Arch> {
    requested.iter().copied().filter(|a| e.meta.arches.contains(a)).collect()
}

/// The input hash of `e` as `cmd` builds it.
pub fn input_hash(graph: &InputGraph, e: &Entry, cmd: &BuildCmd) -> Result<Digest> {
    let key = build_key(built_arches(e, &cmd.arch.arches()), cmd.compression, cmd.toolchain.clone());
    graph.input_hash(&e.meta.name, &key).with_context(|| format!("hashing the inputs of {}", e.meta.name))
}

/// The input hash an image layout carries (`None` when it has none).
pub fn layout_input_hash(layout: &Layout) -> Option<String> {
    layout.index().annotations.get(ANNOTATION_INPUT_HASH).cloned()
}

/// `cargo xtask build` in the engine: with the cache when asked for, else the usual build.
pub fn run_build(sh: &Shell, cmd: BuildCmd, verbosity: Verbosity) -> Result<ExitCode> {
    if !cmd.cache.is_used() {
        return xtask::build::run(sh, cmd, verbosity, &crate::pack::InProcess);
    }
    if !cmd.source.is_empty() {
        bail!(
            "`--cache-from`/`--cache-to` cannot be used with `--source`: an image built from overridden sources \
             is not what its inputs say\nhint: build without the cache options"
        );
    }
    let catalog = Catalog::load(&sh.current_dir())?;
    let selected: Vec<&Entry> =
        if cmd.all { catalog.extensions().collect() } else { catalog.select(&cmd.extensions)? };
    if let Some(lib) = selected.iter().find(|e| e.meta.is_internal()) {
        bail!(
            "`{}` is an internal library: it is built (and cached) only inside the extensions using it",
            lib.meta.name
        );
    }
    let from: Option<RegistryPrefix> = cmd.cache.cache_from.as_deref().map(str::parse).transpose()?;
    let to: Option<RegistryPrefix> = cmd.cache.cache_to.as_deref().map(str::parse).transpose()?;
    let verify_key = match &cmd.cache.cache_key {
        Some(p) => Some(PublicKey::load(p).with_context(|| format!("loading the public key {}", p.display()))?),
        None => None,
    };
    let sign_key = match &cmd.cache.cache_sign_key {
        Some(p) => Some(SigningKey::load(p).with_context(|| format!("loading the signing key {}", p.display()))?),
        None => None,
    };
    let client = crate::publish::client(&RegistryArgs { insecure: cmd.cache.insecure })?;
    let bars = Bars::new(verbosity);
    let graph = input_graph(&catalog)?;

    let mut hashes = BTreeMap::new();
    let mut misses = Vec::new();
    let mut hits: Vec<[String; 4]> = Vec::new();
    for e in &selected {
        let name = &e.meta.name;
        xtask::build::unsupported_arches(name, &e.meta.arches, &cmd.arch.arches())?;
        let hash = input_hash(&graph, e, &cmd)?;
        if verbosity.is_verbose() {
            eprintln!("{name}: input hash {hash}");
        }
        hashes.insert(name.clone(), hash.clone());
        let Some(from) = &from else {
            misses.push(name.clone());
            continue;
        };
        let reference = from.reference(name, &cache_tag(&hash))?;
        match lookup(&client, &reference, verify_key.as_ref())? {
            Lookup::Missing => {
                if !verbosity.is_quiet() {
                    eprintln!("cache miss: {name} ({reference} is not there): building");
                }
                misses.push(name.clone());
            }
            Lookup::Untrusted(why) => {
                eprintln!("warning: cache: not using {reference}: {why}; building {name}");
                misses.push(name.clone());
            }
            Lookup::Found(digest) => {
                let pinned = Reference { digest: Some(digest.clone()), ..reference.clone() };
                let layout_dir = cmd.out.join("oci").join(name);
                let size = pull_into(&client, &pinned, &layout_dir, &cmd.out, name, &bars)?;
                let layout = Layout::open(&layout_dir)?;
                if layout_input_hash(&layout).as_deref() != Some(hash.to_string().as_str()) {
                    bail!(
                        "cache: {pinned} carries input hash {}, not {hash}: the cache at {from} is corrupt",
                        layout_input_hash(&layout).unwrap_or_else(|| "(none)".into())
                    );
                }
                if !verbosity.is_quiet() {
                    eprintln!("cache hit: {name}: {pinned} pulled into {} (no build ran)", layout_dir.display());
                }
                hits.push([name.clone(), "cache hit".into(), HumanBytes(size).to_string(), digest.to_string()]);
            }
        }
    }

    if !misses.is_empty() {
        // Always repack what is built here: the pack stamp does not know the shared inputs, and
        // the layout pushed must carry the input hash computed above.
        for name in &misses {
            remove_pack_stamp(&cmd.out, name)?;
        }
        let build = BuildCmd { extensions: misses.clone(), all: false, ..cmd.clone() };
        xtask::build::run(sh, build, verbosity, &crate::pack::InProcess)?;
        for name in &misses {
            let layout_dir = cmd.out.join("oci").join(name);
            let layout = Layout::open(&layout_dir)?;
            let want = hashes[name].to_string();
            if layout_input_hash(&layout).as_deref() != Some(want.as_str()) {
                bail!(
                    "internal: {} carries input hash {}, expected {want}",
                    layout_dir.display(),
                    layout_input_hash(&layout).unwrap_or_else(|| "(none)".into())
                );
            }
            let Some(to) = &to else { continue };
            let target = to.reference(name, &cache_tag(&hashes[name]))?;
            let summary = client
                .push_layout(&layout_dir, &target, &PushOptions::default(), &bars)
                .with_context(|| format!("pushing {name} to the cache {to}"))?;
            if !verbosity.is_quiet() {
                eprintln!("cache: pushed {name} as {}", summary.reference);
            }
            if let Some(key) = &sign_key {
                let (_, sig) = sign_reference(&client, key, &summary.reference, &bars)
                    .with_context(|| format!("signing {}", summary.reference))?;
                if !verbosity.is_quiet() {
                    eprintln!("cache: signed {name} ({sig})");
                }
            }
        }
    }
    if !hits.is_empty() {
        print_table(&["NAME", "FROM", "SIZE", "DIGEST"], &hits);
    }
    Ok(ExitCode::SUCCESS)
}

/// What the cache holds for a reference.
enum Lookup {
    Missing,
    /// There, but its signature does not verify with the key given.
    Untrusted(String),
    Found(Digest),
}

fn lookup(client: &Client, reference: &Reference, key: Option<&PublicKey>) -> Result<Lookup> {
    let Some(head) = client.head_manifest(reference).with_context(|| format!("looking up {reference}"))? else {
        return Ok(Lookup::Missing);
    };
    let digest = match head.digest {
        Some(d) => d,
        None => resolve_digest(client, reference).with_context(|| format!("resolving {reference}"))?,
    };
    let pinned = Reference { digest: Some(digest.clone()), ..reference.clone() };
    if let Some(key) = key
        && let Err(e) = verify_reference(client, key, &pinned)
    {
        return Ok(Lookup::Untrusted(format!("{e:#}")));
    }
    Ok(Lookup::Found(digest))
}

/// Pulls `reference` into `layout_dir` (replacing what is there only once the pull is complete)
/// and drops the extension's pack stamp, so that a later plain build repacks its own stage.
/// Returns the layer bytes pulled.
fn pull_into(
    client: &Client,
    reference: &Reference,
    layout_dir: &Path,
    out: &Path,
    name: &str,
    bars: &Bars,
) -> Result<u64> {
    let oci = out.join("oci");
    fs::create_dir_all(&oci).with_context(|| format!("creating {}", oci.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".cache-{name}-"))
        .tempdir_in(&oci)
        .with_context(|| format!("creating a temporary directory in {}", oci.display()))?;
    let pulled_dir = tmp.path().join("layout");
    let pulled = client.pull_layout(reference, &pulled_dir, bars).with_context(|| format!("pulling {reference}"))?;
    remove_pack_stamp(out, name)?;
    talos_ext_fs::remove_dir_if_exists(layout_dir)?;
    fs::rename(&pulled_dir, layout_dir)
        .with_context(|| format!("moving {} to {}", pulled_dir.display(), layout_dir.display()))?;
    Ok(pulled.layer_bytes)
}

/// Removes `<out>/oci/.<name>.stamp.json` (what `build` packed last), if any.
fn remove_pack_stamp(out: &Path, name: &str) -> Result<()> {
    Ok(talos_ext_fs::remove_if_exists(&xtask::build::pack_stamp_path(out, name))?)
}
