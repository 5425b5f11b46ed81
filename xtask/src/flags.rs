//! The command line, declared once. Doc comments here are the `--help` text.

use std::path::PathBuf;

use clap::builder::ArgPredicate;
use clap::{Args, Parser, Subcommand, ValueEnum};
use talos_ext_model::Arch;

/// Build, validate and package Talos Linux system extensions.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, about, long_about = None)]
pub struct Xtask {
    /// Say more: cargo's full output, and the logs of build steps streamed as they are written
    /// (`TALOS_EXT_VERBOSE`).
    #[arg(long, short, global = true, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Say less: results, warnings and errors only (no progress bars, notes or cargo status).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

impl Xtask {
    /// What `--verbose` / `--quiet` ask for.
    pub fn verbosity(&self) -> Verbosity {
        match (self.verbose, self.quiet) {
            (true, _) => Verbosity::Verbose,
            (false, true) => Verbosity::Quiet,
            (false, false) => Verbosity::Normal,
        }
    }
}

/// How much a command says on stderr (the global `--verbose` / `--quiet`). What a command is for
/// (tables, references, findings) goes to stdout whatever this says, and so do warnings and
/// errors to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    /// `--quiet`: no progress bars, notes or cargo status lines.
    Quiet,
    #[default]
    Normal,
    /// `--verbose`: cargo's full output and streamed build logs.
    Verbose,
}

impl Verbosity {
    pub fn is_quiet(self) -> bool {
        self == Verbosity::Quiet
    }

    pub fn is_verbose(self) -> bool {
        self == Verbosity::Verbose
    }

    /// The flag that asks for this, for a command line passed on (`None` for the default).
    pub fn flag(self) -> Option<&'static str> {
        match self {
            Verbosity::Quiet => Some("--quiet"),
            Verbosity::Normal => None,
            Verbosity::Verbose => Some("--verbose"),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the catalog: name, category, tier, version, arches, kind.
    List(ListCmd),
    /// Write README.md's catalog section (between `<!-- catalog:begin -->` and
    /// `<!-- catalog:end -->`) from the recipes' metadata; `--check` only compares.
    Catalog(CatalogCmd),
    /// Write the dependency graph of extensions, library stages, toolchains and the images they
    /// draw from to docs/deps.dot and docs/deps.svg (Graphviz); `--format` prints it instead,
    /// `--check` only compares.
    Graph(GraphCmd),
    /// Build extensions for one or more arches and pack each into an OCI image layout under
    /// `_out/oci/<name>/`.
    Build(BuildCmd),
    /// Validate an extension tree (a directory holding `manifest.yaml` and `rootfs/`) or an OCI
    /// image layout, with Talos' rules plus strict checks. Exits non-zero on any finding.
    Validate(ValidateCmd),
    /// Download and verify the pinned sources of extensions into the shared cache; for Go
    /// recipes also the Go toolchain and their modules, checking the module graph hash.
    Fetch(FetchCmd),
    /// Fill a directory mirror (`<dir>/sha256/<hex>`) with the pinned sources of extensions, and
    /// the Go toolchain and modules of Go recipes (`<dir>/go/`, the module proxy's layout), for
    /// air-gapped builds (`--mirror <dir>`).
    Mirror(MirrorCmd),
    /// Run a benchmark (release build).
    Bench(BenchCmd),
    /// Prepare kernel toolchains and manage their module signing keys.
    Toolchain(ToolchainCmd),
    /// Build (a no-op when nothing changed) and push extensions to a registry as
    /// `<registry>/<prefix>/<name>:<version>`, then the index image `<prefix>/extensions:<talos tag>`.
    Publish(PublishCmd),
    /// Print the pinned reference of extensions for a Talos version, from the index image, after
    /// checking their compatibility constraint.
    Find(FindCmd),
    /// Sign images (by digest) with a cosign key and push the `sha256-<hex>.sig` signatures.
    Sign(SignCmd),
    /// Verify the cosign signature of an image with a public key.
    VerifySignature(VerifySignatureCmd),
    /// List the paths that two or more extensions ship with different contents (installed
    /// together, one would hide the other's file on the node), and the kernel modules of one name
    /// they ship at different paths (only one can load). Exits non-zero on a conflict the
    /// allow-list does not explain, or on an allow-list entry that no longer matches anything.
    Conflicts(ConflictsCmd),
    /// Write an extension image's contents (`manifest.yaml` + `rootfs/`) to a directory, for
    /// inspection: from the local layout, a `--layout` or a registry (`--from`).
    Export(ExportCmd),
    /// Rebuild published extensions from scratch in a temporary clone of this repository (at the
    /// revision their images name) and compare the image digests; on a difference, print the
    /// first differing file. Exits non-zero on any mismatch.
    Verify(VerifyCmd),
    /// Compare two releases (index images, extension images or local layouts): extensions added
    /// and removed, versions, digests, files, kernel module vermagic, SBOM components.
    Diff(DiffCmd),
    /// Check every recipe's metadata (pins, placeholders, SBOM fields, version format, description,
    /// arches, the table's normal form, comments pointing outside the repository). Prints each
    /// finding as `<file>: <field>: <problem>`; exits non-zero on any.
    Lint(LintCmd),
    /// Scaffold a recipe crate `extensions/<category>/<name>/` of a kind (metadata, build.rs, a
    /// test), optionally with facts from a reference catalog; `cargo xtask lint` then lists the
    /// placeholders to fill in.
    New(NewCmd),
    /// Run the workspace's tests of one tier (`smoke`, `kinds` or `full`; default
    /// `TALOS_EXT_TEST_TIER`, else `kinds`): prints the `cargo test` command line, then runs it.
    Test(TestCmd),
    /// The GitHub Actions pipeline generated from the catalog (`.github/workflows/catalog.yml`).
    Ci(CiCmd),
    /// Show what the workspace's cache (`.cache/talos-ext/`) holds, area by area with sizes;
    /// `cache prune` removes the tests' shared stages that no test is using.
    Cache(CacheCmd),
    /// Internal, run by `build`: pack staged trees into image layouts, one JSON line per layout.
    #[command(hide = true)]
    Pack(PackCmd),
}

/// A test tier: which tests `cargo xtask test` runs (README.md, "Test tiers").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum TestTier {
    /// The fast checks only: every test but the real upstream builds (`tier_kinds_*`, and the
    /// ignored `tier_full_*`).
    Smoke,
    /// The README's test command: the fast checks and the `tier_kinds_*` builds (at least one
    /// real recipe of every kind that has one).
    #[default]
    Kinds,
    /// Everything, the ignored `tier_full_*` builds included: what the generated pipeline runs.
    Full,
}

impl TestTier {
    /// The command-line spelling (also the value of `TALOS_EXT_TEST_TIER`).
    pub fn as_str(self) -> &'static str {
        match self {
            TestTier::Smoke => "smoke",
            TestTier::Kinds => "kinds",
            TestTier::Full => "full",
        }
    }
}

#[derive(Debug, Args)]
pub struct TestCmd {
    /// The tier to run (default: `TALOS_EXT_TEST_TIER`, else `kinds`).
    #[arg(long, value_enum)]
    pub tier: Option<TestTier>,
    /// Test only these packages (repeatable; default: the whole workspace).
    #[arg(long, short, value_name = "PACKAGE")]
    pub package: Vec<String>,
    /// Test every workspace package but the recipe crates (extensions and internal library
    /// stages), which the pipeline tests one job each.
    #[arg(long, conflicts_with = "package")]
    pub no_recipes: bool,
    /// More arguments for the test binaries, after the tier's own (`-- --list`, `-- --nocapture`).
    #[arg(last = true, value_name = "TEST_ARGS")]
    pub test_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CiCmd {
    #[command(subcommand)]
    pub what: CiWhat,
}

#[derive(Debug, Subcommand)]
pub enum CiWhat {
    /// Write `.github/workflows/catalog.yml` from the catalog: a job per internal library stage,
    /// one per extension and arch (tests of the full tier, `cargo xtask build`), and on tags a
    /// release job that publishes, signs and pushes the `extensions:<tag>` index image.
    Generate {
        /// Do not write: fail (naming the file) when it is not what the catalog says.
        #[arg(long)]
        check: bool,
    },
}

#[derive(Debug, Args)]
pub struct LintCmd {
    /// First rewrite each recipe's `[package.metadata.talos-extension]` table into the normal form
    /// (key order, `version` inline, `modules` and `sources` as tables; comments kept), then
    /// report what is left. Without it, lint never writes.
    #[arg(long)]
    pub fix: bool,
}

/// What `cargo xtask new` scaffolds: a metadata kind, and for C builds the build system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NewKind {
    /// In-tree kernel modules of the pinned kernel (the default recipe; needs `--module` or a
    /// reference with modules).
    KmodInTree,
    /// A kernel module built out of tree from a pinned source.
    KmodOutOfTree,
    /// Files of the pinned linux-firmware release (the default recipe: metadata only).
    Firmware,
    /// Upstream C built with autotools (`configure && make`).
    Autotools,
    /// Upstream C built with meson.
    Meson,
    /// Upstream C built with cmake.
    Cmake,
    /// Upstream C built with a plain Makefile.
    Make,
    /// Go programs built from a pinned module (a `[go]` table and the wrapper module `go/`).
    GoBuild,
    /// Files of a pinned upstream release archive installed by a recipe of its own (which files
    /// go where: a scaffold marker), tested from a generated stand-in archive.
    Tarball,
    /// Vendor-built binaries installed as pinned (`[[payloads]]`: per-arch file or archive
    /// member, mode), their ELF machine checked, tested from generated stand-ins.
    Prebuilt,
    /// An internal library stage (`extensions/internal/<name>`), built with autotools into a sysroot.
    Library,
    /// A placeholder image that ships nothing (the default recipe).
    Noop,
}

impl NewKind {
    /// The command-line spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            NewKind::KmodInTree => "kmod-in-tree",
            NewKind::KmodOutOfTree => "kmod-out-of-tree",
            NewKind::Firmware => "firmware",
            NewKind::Autotools => "autotools",
            NewKind::Meson => "meson",
            NewKind::Cmake => "cmake",
            NewKind::Make => "make",
            NewKind::GoBuild => "go-build",
            NewKind::Tarball => "tarball",
            NewKind::Prebuilt => "prebuilt",
            NewKind::Library => "library",
            NewKind::Noop => "noop",
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct NewCmd {
    /// Where the crate goes: `<category>/<name>` makes `extensions/<category>/<name>/`, package
    /// `<name>` (lowercase letters, digits and `-`).
    #[arg(value_name = "CATEGORY/NAME")]
    pub path: String,
    /// What the recipe builds.
    #[arg(long, value_enum)]
    pub kind: NewKind,
    /// Fill in pins, modules, firmware paths, version, author, description, license, CPE/purl,
    /// arches and compatibility from this entry of the `--reference` catalog.
    #[arg(long, value_name = "NAME", requires = "reference")]
    pub from_reference: Option<String>,
    /// A reference catalog in the upstream catalog format (`[[extension]]` and `[[internal]]`
    /// tables), for `--from-reference`. There is no default.
    #[arg(long, value_name = "FILE")]
    pub reference: Option<PathBuf>,
    /// The support tier (default: the reference entry's, else `contrib`).
    #[arg(long, value_parser = ["core", "extra", "contrib", "deprecated"])]
    pub tier: Option<String>,
    /// An in-tree module to ship, relative to the kernel's module directory
    /// (`kernel/drivers/input/misc/uinput.ko`; repeatable; for `--kind kmod-in-tree`, for every arch).
    #[arg(long = "module", value_name = "PATH")]
    pub modules: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PackCmd {
    /// A build script's `staged.json` (repeatable; each with a `--layout`).
    #[arg(long, required = true)]
    pub staged: Vec<PathBuf>,
    /// The layout directory of the `--staged` at the same position.
    #[arg(long, required = true)]
    pub layout: Vec<PathBuf>,
    #[arg(long, value_enum)]
    pub compression: CompressionArg,
    #[arg(long)]
    pub source_date_epoch: u64,
    #[arg(long)]
    pub revision: String,
    /// The `--toolchain` override of the build (part of the images' input hash).
    #[arg(long)]
    pub toolchain: Option<String>,
}

/// How to reach a registry (shared by `publish`, `find`, `sign`, `verify-signature`, `export` and
/// `diff`).
/// Credentials come from `TALOS_EXT_REGISTRY_USER`/`TALOS_EXT_REGISTRY_PASSWORD` or the Docker config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct RegistryArgs {
    /// Use plain HTTP for every registry (loopback registries always use it).
    #[arg(long)]
    pub insecure: bool,
}

#[derive(Debug, Args)]
pub struct PublishCmd {
    /// Extensions to publish, by name.
    #[arg(value_name = "EXT", required_unless_present = "all")]
    pub extensions: Vec<String>,
    /// Publish every extension in the catalog.
    #[arg(long, conflicts_with = "extensions")]
    pub all: bool,
    /// Where to push: `host[:port]/prefix` (each extension goes to `<prefix>/<name>`).
    #[arg(long, value_name = "HOST[:PORT]/PREFIX")]
    pub registry: String,
    /// The Talos tag of the index image (default: the pinned tag).
    #[arg(long, value_name = "TALOS_TAG")]
    pub tag: Option<String>,
    /// Sign every pushed image and the index image (needs `--key`; implied by it).
    #[arg(long, requires = "key", default_value_if("key", ArgPredicate::IsPresent, "true"))]
    pub sign: bool,
    /// Sign with this cosign private key (PKCS#8, SEC1 or cosign's encrypted format; password
    /// from `COSIGN_PASSWORD`). Implies `--sign`.
    #[arg(long, value_name = "KEY")]
    pub key: Option<PathBuf>,
    /// Publish images built from `--source` overrides too.
    #[arg(long)]
    pub allow_overridden: bool,
    /// Where image layouts are (`<out>/oci/<name>/`); the index image layout goes to
    /// `<out>/index/extensions-<tag>/`.
    #[arg(long, default_value = "_out")]
    pub out: PathBuf,
    /// Push the existing layouts without running the build first.
    #[arg(long)]
    pub no_build: bool,
    #[command(flatten)]
    pub registry_args: RegistryArgs,
}

/// Output format of `find`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FindFormat {
    /// One pinned reference per line.
    Plain,
    /// `--system-extension-image <ref>` flags for Talos' imager.
    Imager,
}

#[derive(Debug, Args)]
pub struct FindCmd {
    /// Extensions to look up.
    #[arg(value_name = "EXT", required = true)]
    pub extensions: Vec<String>,
    /// The Talos version (the index image tag), e.g. `v1.14.0`.
    #[arg(long, value_name = "VERSION")]
    pub talos: String,
    /// Where the index image is: `host[:port]/prefix` (`<prefix>/extensions:<version>`).
    #[arg(long, value_name = "HOST[:PORT]/PREFIX", default_value = "ghcr.io/siderolabs")]
    pub registry: String,
    /// Verify the cosign signatures of the index image and each extension first (needs `--key`;
    /// implied by it).
    #[arg(long, requires = "key", default_value_if("key", ArgPredicate::IsPresent, "true"))]
    pub verify: bool,
    /// Verify with this cosign public key. Implies `--verify`.
    #[arg(long, value_name = "PUB")]
    pub key: Option<PathBuf>,
    /// How to print what was found: `plain` (one pinned reference per line) or `imager`
    /// (`--system-extension-image <ref>` flags for Talos' imager).
    #[arg(long, value_enum, default_value = "plain")]
    pub format: FindFormat,
    #[command(flatten)]
    pub registry_args: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct SignCmd {
    /// Images to sign: `host/repo:tag` (resolved to its digest) or `host/repo@sha256:<hex>`.
    #[arg(value_name = "REF", required = true)]
    pub references: Vec<String>,
    /// The cosign private key.
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    #[command(flatten)]
    pub registry_args: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct VerifySignatureCmd {
    /// The image: `host/repo:tag` or `host/repo@sha256:<hex>`.
    #[arg(value_name = "REF")]
    pub reference: String,
    /// The cosign public key.
    #[arg(long, value_name = "PUB")]
    pub key: PathBuf,
    #[command(flatten)]
    pub registry_args: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct ConflictsCmd {
    /// Extensions to check, by name (default: the whole catalog, unless `--layout` is given).
    #[arg(value_name = "EXT")]
    pub extensions: Vec<String>,
    /// Also check these image layouts (repeatable; named by their title annotation), as built.
    #[arg(long, value_name = "DIR")]
    pub layout: Vec<PathBuf>,
    /// Which arches to check (each on its own: extensions are installed for one arch).
    #[arg(long, value_enum, default_value = "all")]
    pub arch: ArchArg,
    /// Where the catalog's image layouts are (`<out>/oci/<name>/`).
    #[arg(long, default_value = "_out")]
    pub out: PathBuf,
    /// Read the existing layouts without running the build first.
    #[arg(long)]
    pub no_build: bool,
    /// The kernel toolchain the build step uses (as `build --toolchain`).
    #[arg(long, value_name = "NAME")]
    pub toolchain: Option<String>,
    /// The allow-list of intended overlaps (`[[allow]]` entries: `extensions`, `path` glob,
    /// `reason`), relative to the workspace root.
    #[arg(long, value_name = "FILE", default_value = "extensions/conflicts-allow.toml")]
    pub allow: PathBuf,
}

/// One arch, as `export` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OneArch {
    #[default]
    Amd64,
    Arm64,
}

impl OneArch {
    pub fn arch(self) -> Arch {
        match self {
            OneArch::Amd64 => Arch::Amd64,
            OneArch::Arm64 => Arch::Arm64,
        }
    }
}

#[derive(Debug, Args)]
pub struct ExportCmd {
    /// The extension whose layout (`<out>/oci/<EXT>/`, built first unless `--no-build`) to export.
    #[arg(value_name = "EXT", required_unless_present_any = ["layout", "from"], conflicts_with_all = ["layout", "from"])]
    pub extension: Option<String>,
    /// Export this image layout directory instead.
    #[arg(long, value_name = "DIR", conflicts_with = "from")]
    pub layout: Option<PathBuf>,
    /// Export this image from a registry instead: `host/repo:tag` or `host/repo@sha256:<hex>`.
    #[arg(long, value_name = "REF")]
    pub from: Option<String>,
    /// Which arch's image to export.
    #[arg(long, value_enum, default_value = "amd64")]
    pub arch: OneArch,
    /// The directory to write (`manifest.yaml` + `rootfs/`); it must not exist or be empty.
    #[arg(long, value_name = "DIR")]
    pub dest: PathBuf,
    /// Replace a non-empty `--dest` (only once the export succeeded).
    #[arg(long)]
    pub force: bool,
    /// Where image layouts are (`<out>/oci/<name>/`).
    #[arg(long, default_value = "_out")]
    pub out: PathBuf,
    /// Export the existing layout without running the build first.
    #[arg(long)]
    pub no_build: bool,
    #[command(flatten)]
    pub registry_args: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct DiffCmd {
    /// The old release: an index image (`host/prefix/extensions:<tag>`), an extension image
    /// (`host/prefix/<name>:<tag>` or `@sha256:<hex>`), an image layout directory, or a directory
    /// of layouts (such as `_out/oci`).
    pub old: String,
    /// The new release, in the same forms.
    pub new: String,
    /// Print JSON instead of Markdown.
    #[arg(long)]
    pub json: bool,
    /// Which arches to compare files of.
    #[arg(long, value_enum, default_value = "all")]
    pub arch: ArchArg,
    #[command(flatten)]
    pub registry_args: RegistryArgs,
}

/// Where pinned sources come from (shared by `build`, `fetch` and `mirror`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct SourceArgs {
    /// A directory or URL prefix laid out as `<mirror>/sha256/<hex>` (and `<mirror>/go/` for Go
    /// modules), tried before upstream URLs and the module proxy (repeatable; tried in order,
    /// before those of `TALOS_EXT_MIRRORS`).
    #[arg(long, value_name = "DIR|URL")]
    pub mirror: Vec<String>,
    /// Use only the cache and mirrors; a missing source is an error naming it.
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct FetchCmd {
    /// Extensions whose sources to fetch, by name (or `--all`).
    #[arg(value_name = "EXT", required_unless_present = "all")]
    pub extensions: Vec<String>,
    /// Fetch the sources of every extension and internal library.
    #[arg(long, conflicts_with = "extensions")]
    pub all: bool,
    #[command(flatten)]
    pub sources: SourceArgs,
}

#[derive(Debug, Args)]
pub struct MirrorCmd {
    /// The mirror directory to fill.
    pub dir: PathBuf,
    /// Extensions whose sources to mirror, by name (or `--all`).
    #[arg(value_name = "EXT", required_unless_present = "all")]
    pub extensions: Vec<String>,
    /// Mirror the sources of every extension and internal library.
    #[arg(long, conflicts_with = "extensions")]
    pub all: bool,
    #[command(flatten)]
    pub sources: SourceArgs,
}

#[derive(Debug, Args)]
pub struct BenchCmd {
    #[command(subcommand)]
    pub what: BenchWhat,
}

#[derive(Debug, Subcommand)]
pub enum BenchWhat {
    /// Pack a generated rootfs with our gzip and zstd layer writers, next to `tar | gzip -6`,
    /// `tar | pigz -6` and `tar | zstd -3 -T0` (each `| sha256sum`): times and output sizes.
    Pack {
        /// Size of the generated tree in MiB.
        #[arg(long, default_value_t = 1024)]
        size_mib: u64,
        /// Rounds of each measurement; the best is reported.
        #[arg(long, default_value_t = 2)]
        rounds: usize,
    },
    /// Validate a generated valid tree end to end (`cargo xtask validate <dir>`) next to
    /// `find <dir> -printf '%m %s %p\n'`, with the parts of the end-to-end time (medians).
    Validate {
        /// Entries (directories, files, symlinks) in the generated tree.
        #[arg(long, default_value_t = 100_000)]
        entries: usize,
        /// Runs of each measurement (after one warm-up run each); the median is reported.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Publish the example layout to a local registry vs `skopeo copy` of the same layout: first
    /// push and unchanged re-push (medians).
    Publish {
        /// The extension whose layout (`_out/oci/<ext>/`, built if missing) is pushed.
        #[arg(default_value = "hello-world-service")]
        extension: String,
        /// Runs of each measurement; the median is reported.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Time a no-op `cargo xtask build` against a no-op `cargo build` of the same extension.
    Noop {
        /// The extension to build.
        #[arg(default_value = "hello-world-service")]
        extension: String,
        /// Runs of each command (after one warm-up run each); the median is reported.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
}

/// Output format of `list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ListFormat {
    /// Aligned columns for reading.
    #[default]
    Table,
    /// JSON Lines: one object per extension, every field always present, in a fixed order (the
    /// fields are described in README.md).
    Json,
    /// Markdown tables by category, as in README.md's catalog section.
    Markdown,
}

#[derive(Debug, Args)]
pub struct ListCmd {
    /// How to print the catalog: `table`, `json` (one object per line) or `markdown` (tables by
    /// category, as in README.md).
    #[arg(long, value_enum)]
    pub format: Option<ListFormat>,
    /// Print JSON: the same as `--format json`.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Also list internal library stages (never published) and what uses them.
    #[arg(long)]
    pub internal: bool,
}

impl ListCmd {
    /// The format asked for (`--json` is `--format json`).
    pub fn format(&self) -> ListFormat {
        if self.json { ListFormat::Json } else { self.format.unwrap_or_default() }
    }
}

#[derive(Debug, Args)]
pub struct CatalogCmd {
    /// Do not write: fail (naming README.md) when its catalog section is not what the metadata
    /// says.
    #[arg(long)]
    pub check: bool,
}

/// Output format of `graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT text.
    #[default]
    Dot,
    /// SVG, rendered by Graphviz `dot`.
    Svg,
}

#[derive(Debug, Args)]
pub struct GraphCmd {
    /// Print the graph in this format (to stdout, or to `--output`) instead of rewriting
    /// docs/deps.dot and docs/deps.svg.
    #[arg(long, value_enum)]
    pub format: Option<GraphFormat>,
    /// Write the graph to this file instead of stdout (DOT unless `--format svg`).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Do not write: fail when docs/deps.dot or docs/deps.svg is not what the metadata says.
    #[arg(long, conflicts_with_all = ["format", "output"])]
    pub check: bool,
}

/// An arch selection on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ArchArg {
    Amd64,
    Arm64,
    #[default]
    All,
}

impl ArchArg {
    /// The arches selected, in [`Arch::ALL`] order.
    pub fn arches(self) -> Vec<Arch> {
        match self {
            ArchArg::Amd64 => vec![Arch::Amd64],
            ArchArg::Arm64 => vec![Arch::Arm64],
            ArchArg::All => Arch::ALL.to_vec(),
        }
    }
}

/// Layer compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum CompressionArg {
    #[default]
    Gzip,
    Zstd,
}

impl CompressionArg {
    /// The command-line spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CompressionArg::Gzip => "gzip",
            CompressionArg::Zstd => "zstd",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct BuildCmd {
    /// Extensions to build, by name (see `cargo xtask list`).
    #[arg(value_name = "EXT", required_unless_present = "all")]
    pub extensions: Vec<String>,
    /// Build every extension in the catalog.
    #[arg(long, conflicts_with = "extensions")]
    pub all: bool,
    /// Which arches to build; an extension is built only for the arches it supports.
    #[arg(long, value_enum, default_value = "all")]
    pub arch: ArchArg,
    /// Layer compression.
    #[arg(long, value_enum, default_value = "gzip")]
    pub compression: CompressionArg,
    /// Where image layouts go (`<out>/oci/<name>/`).
    #[arg(long, default_value = "_out")]
    pub out: PathBuf,
    /// Build with `--release` (only the Rust build scripts; upstream code is always optimised).
    #[arg(long)]
    pub release: bool,
    #[command(flatten)]
    pub sources: SourceArgs,
    /// Build from a local directory or archive instead of the pinned source (pin not verified;
    /// the image is marked): `<ext>=<path>` for an extension's only source, or
    /// `<ext>/<source>=<path>` (repeatable). `linux=<archive>` is a stand-in kernel source for
    /// every kbuild step, `linux-firmware=<dir>` a stand-in linux-firmware tree for every firmware
    /// recipe.
    #[arg(long, value_name = "EXT[/SOURCE]=PATH")]
    pub source: Vec<String>,
    /// The kernel toolchain (`toolchain/toolchains/<name>.toml`) every selected extension builds
    /// or selects modules with, instead of its own or the pin's default (`TALOS_EXT_TOOLCHAIN`).
    #[arg(long, value_name = "NAME")]
    pub toolchain: Option<String>,
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// The registry as a build cache (`build --cache-from/--cache-to`), keyed by each image's input
/// hash (see `talos_ext_publish::cache`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct CacheArgs {
    /// Before building, look each extension up in this cache (`host[:port]/prefix`) under
    /// `<prefix>/<name>:cache-<input hash>` and pull it into `<out>/oci/<name>/` instead of
    /// building it when it is there.
    #[arg(long, value_name = "HOST[:PORT]/PREFIX")]
    pub cache_from: Option<String>,
    /// After building, push what was built to this cache (`host[:port]/prefix`) as
    /// `<prefix>/<name>:cache-<input hash>`.
    #[arg(long, value_name = "HOST[:PORT]/PREFIX")]
    pub cache_to: Option<String>,
    /// Take a cached image only when its cosign signature verifies with this public key (an
    /// unsigned or badly signed one is built instead, with a warning).
    #[arg(long, value_name = "PUB", requires = "cache_from")]
    pub cache_key: Option<PathBuf>,
    /// Sign what `--cache-to` pushes with this cosign private key (password from `COSIGN_PASSWORD`).
    #[arg(long, value_name = "KEY", requires = "cache_to")]
    pub cache_sign_key: Option<PathBuf>,
    /// Use plain HTTP for the cache registries (loopback registries always use it).
    #[arg(long = "cache-insecure")]
    pub insecure: bool,
}

impl CacheArgs {
    /// Whether the build uses the cache at all.
    pub fn is_used(&self) -> bool {
        self.cache_from.is_some() || self.cache_to.is_some()
    }
}

#[derive(Debug, Args)]
pub struct VerifyCmd {
    /// Extensions to verify, by name (or `--all`).
    #[arg(value_name = "EXT", required_unless_present = "all")]
    pub extensions: Vec<String>,
    /// Verify every extension of the catalog that the index image lists, with a summary table.
    #[arg(long, conflicts_with = "extensions")]
    pub all: bool,
    /// Where the published images are: `host[:port]/prefix` (their references come from the index
    /// image `<prefix>/extensions:<tag>`).
    #[arg(long, value_name = "HOST[:PORT]/PREFIX")]
    pub registry: String,
    /// The Talos tag of the index image (default: the pinned tag).
    #[arg(long, value_name = "TALOS_TAG")]
    pub tag: Option<String>,
    /// Clone and build in this directory instead of a temporary one, and keep it: a later verify
    /// with the same directory reuses the clone's compiled Rust crates (the workspace's tools),
    /// but never a recipe's stage (each selected extension and its libraries are `cargo clean`ed
    /// first, and the source cache and outputs are emptied).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Keep the temporary clone and its build (the path is printed).
    #[arg(long)]
    pub keep: bool,
    /// How many differing files to list per arch on a mismatch.
    #[arg(long, default_value_t = 10)]
    pub max_files: usize,
    #[command(flatten)]
    pub sources: SourceArgs,
    #[command(flatten)]
    pub registry_args: RegistryArgs,
}

impl BuildCmd {
    /// `cargo xtask build <extensions> --out <out>` with every other option at its default: the
    /// build step `publish` runs before pushing (a test checks it equals the parsed command line).
    pub fn new(extensions: Vec<String>, out: PathBuf) -> BuildCmd {
        BuildCmd {
            extensions,
            all: false,
            arch: ArchArg::default(),
            compression: CompressionArg::default(),
            out,
            release: false,
            sources: SourceArgs::default(),
            source: Vec::new(),
            toolchain: None,
            cache: CacheArgs::default(),
        }
    }
}

#[derive(Debug, Args)]
pub struct ValidateCmd {
    /// A directory holding `manifest.yaml` and `rootfs/`, or an OCI image layout directory.
    pub path: PathBuf,
    /// Apply exactly Talos' own rules, without the strict checks.
    #[arg(long)]
    pub talos_only: bool,
    /// The expected extension name (`metadata.name`).
    #[arg(long)]
    pub pkg_name: Option<String>,
    /// The Talos version the compatibility constraint is checked against (default: the pinned tag).
    #[arg(long)]
    pub talos_version: Option<String>,
    /// The kernel release modules must be built for and installed under, e.g. `6.18.45-talos`
    /// (strict mode). Without it, modules are only checked for well-formed signatures and a single
    /// release directory.
    #[arg(long, value_name = "RELEASE")]
    pub kernel: Option<String>,
    /// The module signing certificate (PEM or DER): modules must be signed with its key.
    #[arg(long, value_name = "CERT", requires = "kernel")]
    pub module_cert: Option<PathBuf>,
    /// The kernel's Module.symvers (e.g. from `cargo xtask toolchain symvers`): every CRC in a
    /// module's `__versions` must equal the kernel's.
    #[arg(long, value_name = "FILE", requires = "kernel")]
    pub symvers: Option<PathBuf>,
    /// What follows the release in the kernel's vermagic, e.g. `"SMP preempt mod_unload
    /// modversions "` (Talos amd64; mind the trailing space) or `"SMP mod_unload modversions
    /// aarch64"` (Talos arm64).
    #[arg(long, value_name = "FLAGS", requires = "kernel")]
    pub vermagic_flags: Option<String>,
}

#[derive(Debug, Args)]
pub struct CacheCmd {
    #[command(subcommand)]
    pub what: Option<CacheWhat>,
    /// The cache directory (default: the workspace's `.cache/talos-ext/`, where tests keep
    /// their stages).
    #[arg(long, value_name = "DIR", global = true)]
    pub cache: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum CacheWhat {
    /// Each area of the cache with its size and what it holds (the default).
    Show,
    /// Remove the tests' shared stages (`test-stages/`: library stages, layered extensions, the
    /// glibc stage) that no running test holds; they are rebuilt when a test needs them again.
    /// Sources, Go modules, Debian's packages and kernel toolchains are never removed.
    Prune {
        /// Only stages not used for this many days.
        #[arg(long, value_name = "DAYS")]
        unused_for: Option<u64>,
        /// Say what would be removed, remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Args)]
pub struct ToolchainCmd {
    #[command(subcommand)]
    pub what: ToolchainWhat,
}

#[derive(Debug, Subcommand)]
pub enum ToolchainWhat {
    /// List the kernel toolchains: kind, kernel releases, compiler, locked key.
    List,
    /// Prepare a toolchain's build tree (and signing key) in the cache; prints paths, time, size.
    Prepare {
        /// The toolchain (default: `[toolchains] default` of toolchain/pin.toml).
        #[arg(long)]
        toolchain: Option<String>,
        /// Which arches to prepare.
        #[arg(long, value_enum, default_value = "all")]
        arch: ArchArg,
        /// Also prepare the signed in-tree module tree.
        #[arg(long)]
        in_tree: bool,
        /// Talos: build vmlinux and all modules too, for Module.symvers (hours on 2 cores).
        #[arg(long)]
        full: bool,
        /// Talos: `linux=<archive>`, a stand-in kernel source (another Linux release, e.g.
        /// Debian's linux_6.18.15.orig.tar.xz) instead of the pinned tarball, for offline work.
        /// The tree gets that source's real release (6.18.15-talos, never the pinned one), the
        /// config check allows options that source does not define, and it is cached apart.
        #[arg(long, value_name = "linux=ARCHIVE")]
        source: Option<String>,
    },
    /// Record the fingerprint of the key builds will use in toolchain/keys.lock (deliberately:
    /// kernels built to trust the old key will reject modules signed with the new one).
    Rekey {
        /// The toolchain (default: `[toolchains] default` of toolchain/pin.toml).
        #[arg(long)]
        toolchain: Option<String>,
        /// Generate a new cached key first (instead of locking the current one).
        #[arg(long)]
        new_key: bool,
    },
    /// Recover a kernel's Module.symvers (every export's CRC, GPL flag and namespace) from its
    /// published files, without rebuilding it: DIR is an unpacked kernel package or image with
    /// `vmlinuz*` (bzImage, EFI zboot, arm64 Image; gzip, xz, lzma or zstd) and `System.map*` in it
    /// or in `boot/`, and one `lib/modules/<release>/` or `usr/lib/modules/<release>/` (`.ko`,
    /// `.ko.gz`, `.ko.xz`, `.ko.zst`). Needs a kernel built with CONFIG_MODVERSIONS.
    Symvers {
        /// The unpacked kernel.
        dir: PathBuf,
        /// Write Module.symvers here (default: stdout).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Compare with this Module.symvers (e.g. the one the kernel build wrote) and exit 1 on
        /// any difference, naming each symbol.
        #[arg(long, value_name = "FILE")]
        compare: Option<PathBuf>,
    },
}
