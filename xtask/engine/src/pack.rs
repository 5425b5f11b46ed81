//! Packing staged trees into OCI image layouts with the image crate, with the annotations
//! `xtask build` knows about (source, revision, created, overridden sources, the input hash of
//! `talos_ext_publish::cache`): in process (for `publish`'s build step and the cached build) and
//! as the hidden `pack` command that `cargo xtask build` runs.

use std::collections::BTreeMap;
use std::fs;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use talos_ext_image::{ArchImage, Compression, ImageMeta, PackOptions, write_layout};
use talos_ext_model::handoff::StagedInfo;
use talos_ext_model::{Arch, Digest};
use talos_ext_publish::{ANNOTATION_INPUT_HASH, ANNOTATION_OVERRIDDEN, InputGraph};
use xshell::Shell;
use xtask::build::{PackJob, Packed, Packer, SourceFacts};
use xtask::catalog::Catalog;
use xtask::flags::{CompressionArg, PackCmd};

/// Packs in this process.
pub struct InProcess;

impl Packer for InProcess {
    fn pack(&self, jobs: &[PackJob<'_>], facts: &SourceFacts, compression: CompressionArg) -> Result<Vec<Packed>> {
        let Some(first) = jobs.first() else { return Ok(Vec::new()) };
        let root = xtask::workspace_root();
        let catalog = Catalog::load(&root).with_context(|| format!("packing {}", first.entry.meta.name))?;
        let graph = crate::cache::input_graph(&catalog)?;
        jobs.iter().map(|job| write(job, facts, compression, &graph)).collect()
    }
}

/// `pack --staged <staged.json> --layout <dir> ...`: prints one [`Packed`] JSON line per layout.
pub fn run(sh: &Shell, cmd: PackCmd) -> Result<ExitCode> {
    if cmd.staged.len() != cmd.layout.len() {
        bail!("pack: {} --staged but {} --layout", cmd.staged.len(), cmd.layout.len());
    }
    let catalog = Catalog::load(&sh.current_dir())?;
    let facts = SourceFacts {
        source_date_epoch: cmd.source_date_epoch,
        revision: cmd.revision,
        source: SourceFacts::repository().to_string(),
        toolchain: cmd.toolchain,
    };
    let graph = crate::cache::input_graph(&catalog)?;
    for (staged, layout_dir) in cmd.staged.iter().zip(cmd.layout) {
        let text = fs::read(staged).with_context(|| format!("reading {}", staged.display()))?;
        let info: StagedInfo =
            serde_json::from_slice(&text).with_context(|| format!("parsing {}", staged.display()))?;
        let entry = catalog.select(std::slice::from_ref(&info.name))?[0];
        let job = PackJob { entry, info: &info, staged_info: staged.clone(), layout_dir };
        println!("{}", serde_json::to_string(&write(&job, &facts, cmd.compression, &graph)?)?);
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `job.layout_dir` from the staged trees (replacing an old layout only on success).
fn write(job: &PackJob<'_>, facts: &SourceFacts, compression: CompressionArg, graph: &InputGraph) -> Result<Packed> {
    let (e, info) = (job.entry, job.info);
    let arches: Vec<Arch> = info.arches.iter().map(|a| a.arch).collect();
    let input_hash = graph
        .input_hash(&e.meta.name, &crate::cache::build_key(arches, compression, facts.toolchain.clone()))
        .with_context(|| format!("hashing the inputs of {}", e.meta.name))?;
    let mut annotations = annotations(e, info)?;
    annotations.insert(ANNOTATION_INPUT_HASH.to_string(), input_hash.to_string());
    let images: Vec<ArchImage<'_>> = info.arches.iter().map(|a| ArchImage { arch: a.arch, dir: &a.dir }).collect();
    let meta = ImageMeta {
        title: e.meta.name.clone(),
        version: info.version.clone(),
        source: facts.source.clone(),
        revision: facts.revision.clone(),
        description: e.meta.description.clone(),
        source_date_epoch: facts.source_date_epoch,
        annotations,
    };
    let opts = PackOptions {
        compression: match compression {
            CompressionArg::Gzip => Compression::GZIP,
            CompressionArg::Zstd => Compression::ZSTD,
        },
        threads: None,
    };
    let summary = write_layout(&job.layout_dir, &images, &meta, &opts)
        .with_context(|| format!("packing {} into {}", e.meta.name, job.layout_dir.display()))?;
    Ok(Packed {
        name: e.meta.name.clone(),
        digest: Digest::from(summary.index_digest).to_string(),
        size: summary.total_bytes,
    })
}

/// Annotations beyond the writer's own: the overridden sources (see [`overridden_annotation`])
/// and, for a Go recipe, the Go release it was built with ([`ANNOTATION_GO_TOOLCHAIN`], the
/// version `toolchain/go.toml` pins; the build fails when the toolchain reports another).
fn annotations(e: &xtask::catalog::Entry, info: &StagedInfo) -> Result<BTreeMap<String, String>> {
    let mut out = overridden_annotation(info);
    if e.meta.kind == talos_ext_model::Kind::GoBuild {
        let root = talos_ext_model::Pin::find_workspace_root(&e.dir)
            .with_context(|| format!("no workspace root above {}", e.dir.display()))?;
        let go = talos_ext_model::GoToolchain::load(&root)?;
        out.insert(ANNOTATION_GO_TOOLCHAIN.to_string(), go.version);
    }
    Ok(out)
}

/// The annotation naming the Go release a `go-build` image was built with (`go1.26.8`).
pub const ANNOTATION_GO_TOOLCHAIN: &str = "dev.talos-ext.go-toolchain";

/// The annotation marking an image built from `--source` overrides (`publish` refuses such
/// images unless told otherwise).
fn overridden_annotation(info: &StagedInfo) -> BTreeMap<String, String> {
    let mut names: Vec<&str> =
        info.arches.iter().flat_map(|a| a.overridden_sources.iter().map(String::as_str)).collect();
    names.sort();
    names.dedup();
    let mut out = BTreeMap::new();
    if !names.is_empty() {
        out.insert(ANNOTATION_OVERRIDDEN.to_string(), names.join(","));
    }
    out
}
