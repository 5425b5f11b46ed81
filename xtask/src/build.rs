//! `cargo xtask build`: runs the extensions' build scripts for the requested arches through
//! cargo, then packs each staged tree into an OCI image layout under `<out>/oci/<name>/`.
//!
//! cargo does the scheduling and caching: the arch list reaches `build.rs` as
//! `TALOS_EXT_ARCHES`, and `SOURCE_DATE_EPOCH` comes from the last commit (or the environment).
//! Packing is skipped when the staged trees and packing options are those of the last pack
//! (a stamp beside the layout), so a no-op build is one `cargo build` and a few file reads.
//! Packing itself is a [`Packer`]: the engine's, in process or through the engine binary.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use cargo_metadata::Message;
use indicatif::HumanBytes;
use serde::{Deserialize, Serialize};
use talos_ext_model::Arch;
use talos_ext_model::handoff::{
    ENV_ARCHES, ENV_SOURCE_DATE_EPOCH, SOURCE_DATE_EPOCH, STAGE_DIR, STAGED_INFO, StagedInfo,
};
use xshell::{Shell, cmd};

use crate::catalog::{Catalog, Entry};
use crate::flags::{BuildCmd, CompressionArg, Verbosity};
use crate::list::print_table;

/// One extension to pack: its catalog entry, what its build script staged, and where the
/// build script wrote that (`<OUT_DIR>/talos-ext/staged.json`).
pub struct PackJob<'a> {
    pub entry: &'a Entry,
    pub info: &'a StagedInfo,
    pub staged_info: PathBuf,
    /// `<out>/oci/<name>/`.
    pub layout_dir: PathBuf,
}

/// What was packed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packed {
    pub name: String,
    /// `sha256:<hex>` of the layout's `index.json` (the multi-arch index digest).
    pub digest: String,
    /// Bytes of the layout.
    pub size: u64,
}

/// Packs staged trees into OCI image layouts, replacing an old layout only on success.
pub trait Packer {
    /// Packs every job, returning one [`Packed`] per job, in order.
    fn pack(&self, jobs: &[PackJob<'_>], facts: &SourceFacts, compression: CompressionArg) -> Result<Vec<Packed>>;
}

/// Facts about the checkout that end up in image annotations.
pub struct SourceFacts {
    pub source_date_epoch: u64,
    pub revision: String,
    pub source: String,
    /// The `--toolchain` override of the build, keyed into the images' input hash.
    pub toolchain: Option<String>,
}

impl SourceFacts {
    /// `SOURCE_DATE_EPOCH` from the environment, else the last commit's time; the revision from git.
    pub fn read(sh: &Shell) -> Result<SourceFacts> {
        // One git call for both (each costs a process start on every no-op build).
        let head = cmd!(sh, "git log -1 --format=%H%n%ct").quiet().ignore_stderr().read().unwrap_or_default();
        let (revision, git_epoch) = head.split_once('\n').unwrap_or(("unknown", "0"));
        let epoch_text = match std::env::var(SOURCE_DATE_EPOCH) {
            Ok(v) if !v.trim().is_empty() => v,
            _ => git_epoch.to_string(),
        };
        let source_date_epoch = epoch_text
            .trim()
            .parse()
            .with_context(|| format!("{SOURCE_DATE_EPOCH}=`{epoch_text}` is not a number of seconds"))?;
        Ok(SourceFacts {
            source_date_epoch,
            revision: revision.to_string(),
            source: Self::repository().to_string(),
            toolchain: None,
        })
    }

    /// The workspace's repository URL (the `source` annotation).
    pub fn repository() -> &'static str {
        env!("CARGO_PKG_REPOSITORY")
    }
}

pub fn run(sh: &Shell, cmd: BuildCmd, verbosity: Verbosity, packer: &dyn Packer) -> Result<ExitCode> {
    let catalog = Catalog::load(&sh.current_dir())?;
    let selected: Vec<&Entry> =
        if cmd.all { catalog.extensions().collect() } else { catalog.select(&cmd.extensions)? };
    if let Some(lib) = selected.iter().find(|e| e.meta.is_internal()) {
        bail!(
            "`{}` is an internal library: it is built as a dependency of {}",
            lib.meta.name,
            catalog.used_by(&lib.meta.name).join(", ")
        );
    }
    let fetch_cfg = cmd.sources.fetch_config(sh)?;
    let overrides = crate::sources::overrides(&cmd.source, &catalog)?;
    for o in &overrides {
        eprintln!(
            "warning: {}{} comes from {} instead of its pin; the image is marked as built from overridden sources",
            o.extension,
            o.source.as_deref().map(|s| format!("/{s}")).unwrap_or_default(),
            o.path.display()
        );
    }
    let source_env = cmd.sources.env(&fetch_cfg, &overrides);
    let requested = cmd.arch.arches();
    for e in &selected {
        let skipped = unsupported_arches(&e.meta.name, &e.meta.arches, &requested)?;
        if !skipped.is_empty() && !verbosity.is_quiet() {
            eprintln!("note: {} does not support {skipped}; building it for the others", e.meta.name);
        }
    }
    let mut env = source_env;
    if let Some(name) = &cmd.toolchain {
        talos_ext_model::Toolchain::load(&sh.current_dir(), name)?;
        env.push((talos_ext_model::toolchain::ENV_TOOLCHAIN, name.clone()));
    }
    let facts = SourceFacts { toolchain: cmd.toolchain.clone(), ..SourceFacts::read(sh)? };
    env.extend(staging_env(&requested, &facts));
    env.extend(verbose_env(verbosity));
    let staged = cargo_build(sh, &selected, cmd.release, verbosity, &env)?;

    for e in &selected {
        let (info, _) = staged
            .get(&e.meta.name)
            .with_context(|| format!("cargo did not run the build script of {}", e.meta.name))?;
        check_manifests(e, info, &catalog.pin.talos.tag)?;
    }
    let packed = pack_changed(&selected, &staged, &facts, &cmd.out, cmd.compression, packer)?;
    let rows: Vec<[String; 5]> = selected
        .iter()
        .zip(&packed)
        .map(|(e, p)| {
            let info = &staged[&e.meta.name].0;
            [
                e.meta.name.clone(),
                info.version.clone(),
                arch_list(&info.arches.iter().map(|a| a.arch).collect::<Vec<_>>()),
                HumanBytes(p.size).to_string(),
                p.digest.clone(),
            ]
        })
        .collect();
    print_table(&["NAME", "VERSION", "ARCHES", "SIZE", "DIGEST"], &rows);
    Ok(ExitCode::SUCCESS)
}

/// Arch lists as users type them: `amd64,arm64`.
pub fn arch_list(arches: &[Arch]) -> String {
    arches.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(",")
}

/// Which of the `requested` arches an extension that supports `supported` skips (as an arch
/// list, empty when none); an error when it supports none of them.
pub fn unsupported_arches(name: &str, supported: &[Arch], requested: &[Arch]) -> Result<String> {
    if !requested.iter().any(|a| supported.contains(a)) {
        bail!(
            "{name} supports only {}, none of the requested arches ({})\nhint: build it with `--arch {}`",
            arch_list(supported),
            arch_list(requested),
            supported.first().map_or("all", |a| a.as_str())
        );
    }
    let skipped: Vec<Arch> = requested.iter().copied().filter(|a| !supported.contains(a)).collect();
    Ok(arch_list(&skipped))
}

/// What `--verbose` adds to the environment of `cargo build`: build scripts stream the logs of
/// their steps (`talos_ext_process::ENV_VERBOSE`).
pub fn verbose_env(verbosity: Verbosity) -> Option<(&'static str, String)> {
    verbosity.is_verbose().then(|| (talos_ext_process::ENV_VERBOSE, "1".to_string()))
}

/// The arguments of the `cargo build` that stages `packages` (names or package id specs): `-vv` with `--verbose` (cargo shows
/// what build scripts print while they run), `--quiet` with `--quiet`.
pub fn cargo_build_args(packages: &[&str], release: bool, verbosity: Verbosity) -> Vec<String> {
    let mut args: Vec<String> = vec!["build".into(), "--message-format=json-render-diagnostics".into()];
    match verbosity {
        Verbosity::Quiet => args.push("--quiet".into()),
        Verbosity::Normal => {}
        Verbosity::Verbose => args.push("-vv".into()),
    }
    if release {
        args.push("--release".into());
    }
    for p in packages {
        args.push("-p".into());
        args.push(p.to_string());
    }
    args
}

/// What tells build scripts to stage: the arch list and the epoch.
fn staging_env(arches: &[Arch], facts: &SourceFacts) -> [(&'static str, String); 2] {
    [(ENV_ARCHES, arch_list(arches)), (ENV_SOURCE_DATE_EPOCH, facts.source_date_epoch.to_string())]
}

/// The environment `cargo xtask build --arch <arches>` gives its `cargo build` when no source
/// option or toolchain is given (for measuring a no-op build against a bare one in equal state).
pub fn default_env(sh: &Shell, arches: &[Arch]) -> Result<Vec<(&'static str, String)>> {
    let sources = crate::flags::SourceArgs::default();
    let mut env = sources.env(&sources.fetch_config(sh)?, &[]);
    env.extend(staging_env(arches, &SourceFacts::read(sh)?));
    Ok(env)
}

/// Runs `cargo build` for the selected extension crates with `env` (the arch list, where sources
/// come from, ...) and collects what each build script staged (and the path of its staged-info
/// file).
fn cargo_build(
    sh: &Shell,
    selected: &[&Entry],
    release: bool,
    verbosity: Verbosity,
    env: &[(&'static str, String)],
) -> Result<BTreeMap<String, (StagedInfo, PathBuf)>> {
    // Package id specs, not names: an extension may share its name with a crate of the
    // dependency graph (`spin`, the spinlock crate), which makes `-p <name>` ambiguous.
    let packages: Vec<&str> = selected.iter().map(|e| e.package_id.repr.as_str()).collect();
    let args = cargo_build_args(&packages, release, verbosity);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // stdout carries cargo's JSON messages; stderr (progress, diagnostics, a failed build
    // script's output) goes straight to the user while the build runs.
    let mut command = crate::user_command(sh, &cargo).args(&args);
    for (name, value) in env {
        command = command.env(name, value);
    }
    let mut command = command.std_command();
    command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::inherit());
    let output = command.output().with_context(|| format!("running {cargo} build"))?;
    let mut out_dirs = BTreeMap::new();
    for message in Message::parse_stream(&output.stdout[..]) {
        if let Message::BuildScriptExecuted(script) = message.context("reading cargo's JSON messages")? {
            out_dirs.insert(script.package_id, script.out_dir.into_std_path_buf());
        }
    }
    if !output.status.success() {
        bail!("cargo build failed (see the errors above)");
    }
    let mut staged = BTreeMap::new();
    for e in selected {
        let out_dir =
            out_dirs.get(&e.package_id).with_context(|| format!("no build script output for {}", e.meta.name))?;
        let path = out_dir.join(STAGE_DIR).join(STAGED_INFO);
        let text = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let info: StagedInfo = serde_json::from_slice(&text).with_context(|| format!("parsing {}", path.display()))?;
        staged.insert(e.meta.name.clone(), (info, path));
    }
    Ok(staged)
}

/// The staged `manifest.yaml` must be what the model says now (a stale stage is an error).
fn check_manifests(e: &Entry, info: &StagedInfo, talos_tag: &str) -> Result<()> {
    let want = e.meta.manifest(talos_tag).to_yaml();
    for a in &info.arches {
        let path = a.dir.join("manifest.yaml");
        let got = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        if got != want {
            bail!(
                "{} does not match the extension's metadata; rebuild with `cargo clean -p {}`",
                path.display(),
                e.meta.name
            );
        }
    }
    Ok(())
}

/// Inputs of the last pack, to skip re-packing an unchanged stage.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct PackStamp {
    stamps: Vec<(Arch, String)>,
    compression: String,
    source_date_epoch: u64,
    revision: String,
    #[serde(default)]
    toolchain: Option<String>,
    digest: String,
    size: u64,
}

impl PackStamp {
    fn same_inputs(&self, other: &PackStamp) -> bool {
        (&self.stamps, &self.compression, self.source_date_epoch, &self.revision, &self.toolchain)
            == (&other.stamps, &other.compression, other.source_date_epoch, &other.revision, &other.toolchain)
    }
}

/// Where `build` remembers what it packed an extension's layout from: `<out>/oci/.<name>.stamp.json`.
pub fn pack_stamp_path(out: &Path, name: &str) -> PathBuf {
    out.join("oci").join(format!(".{name}.stamp.json"))
}

/// Packs the extensions whose stage or packing options changed since their last pack (in one
/// call of the packer), and returns what every one of them is packed as, in `selected` order.
fn pack_changed(
    selected: &[&Entry],
    staged: &BTreeMap<String, (StagedInfo, PathBuf)>,
    facts: &SourceFacts,
    out: &Path,
    compression: CompressionArg,
    packer: &dyn Packer,
) -> Result<Vec<Packed>> {
    let mut results: Vec<Option<Packed>> = Vec::with_capacity(selected.len());
    let mut jobs = Vec::new();
    // (index in `results`, the stamp to write once packed, its path)
    let mut pending = Vec::new();
    for (i, e) in selected.iter().enumerate() {
        let (info, staged_info) = &staged[&e.meta.name];
        let layout_dir = out.join("oci").join(&e.meta.name);
        let stamp_path = pack_stamp_path(out, &e.meta.name);
        let stamp = PackStamp {
            stamps: info.arches.iter().map(|a| (a.arch, a.stamp.clone())).collect(),
            compression: format!("{compression:?}"),
            source_date_epoch: facts.source_date_epoch,
            revision: facts.revision.clone(),
            toolchain: facts.toolchain.clone(),
            digest: String::new(),
            size: 0,
        };
        let old = fs::read(&stamp_path).ok().and_then(|t| serde_json::from_slice::<PackStamp>(&t).ok());
        match old {
            Some(old) if old.same_inputs(&stamp) && layout_dir.join("index.json").is_file() => {
                results.push(Some(Packed { name: e.meta.name.clone(), digest: old.digest, size: old.size }));
            }
            _ => {
                results.push(None);
                jobs.push(PackJob { entry: e, info, staged_info: staged_info.clone(), layout_dir });
                pending.push((i, stamp, stamp_path));
            }
        }
    }
    if !jobs.is_empty() {
        let packed = packer.pack(&jobs, facts, compression)?;
        if packed.len() != jobs.len() {
            bail!("internal: packed {} of {} extensions", packed.len(), jobs.len());
        }
        for ((i, mut stamp, stamp_path), p) in pending.into_iter().zip(packed) {
            if p.name != selected[i].meta.name {
                bail!("internal: packed {} where {} was asked for", p.name, selected[i].meta.name);
            }
            stamp.digest.clone_from(&p.digest);
            stamp.size = p.size;
            let tmp = stamp_path.with_extension("tmp");
            fs::write(&tmp, serde_json::to_vec(&stamp)?).with_context(|| format!("writing {}", tmp.display()))?;
            fs::rename(&tmp, &stamp_path).with_context(|| format!("writing {}", stamp_path.display()))?;
            results[i] = Some(p);
        }
    }
    Ok(results.into_iter().flatten().collect())
}
