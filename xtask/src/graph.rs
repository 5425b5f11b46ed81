//! `cargo xtask graph`: what every extension is built from, as a Graphviz graph.
//!
//! Nodes: the published extensions (a cluster per category), the internal library stages, the
//! toolchains (each kernel toolchain a module recipe uses, from `toolchain/toolchains/`, and the
//! musl C toolchain of C builds, the Go toolchain of Go builds) and what the kernel toolchains draw from (the Talos kernel image
//! and source, Debian's kernel packages). Edges point from what is used to its user, left to
//! right: inputs → toolchains → library stages → extensions, and extension → extension for one
//! layered on another. Everything comes from [`Catalog::load`] and the toolchain files, sorted, so
//! the DOT text is the same on every machine.
//!
//! The committed `docs/deps.dot` is that text; `docs/deps.svg` is Graphviz's rendering of it,
//! stamped with a fingerprint of the DOT text it was rendered from ([`stamp`]). `--check`
//! compares the DOT text and the stamp, never the SVG bytes (they differ between Graphviz
//! versions), so it needs no Graphviz.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use talos_ext_model::{Kind, Toolchain, ToolchainSpec};
use xshell::Shell;

use crate::catalog::{Catalog, Entry};
use crate::flags::{GraphCmd, GraphFormat, Verbosity};
use crate::list::kernel_toolchain;
use crate::readme::{first_difference, write_atomically};

/// The committed DOT text, relative to the workspace root.
pub const DOT_PATH: &str = "docs/deps.dot";
/// The committed rendering.
pub const SVG_PATH: &str = "docs/deps.svg";

/// The node of the musl C toolchain (`talos_ext_build::toolchain`).
const MUSL: &str = "toolchain/musl";
/// The node of the pinned Go toolchain (`toolchain/go.toml`).
const GO: &str = "toolchain/go";

/// The label of an edge from what a toolchain takes signed in-tree modules from.
const IN_TREE: &str = "signed in-tree modules";

/// Edge colours, by what is used (the graph's label says so).
const KERNEL_COLOR: &str = "\"#15803d\"";
const MUSL_COLOR: &str = "\"#9ca3af\"";
const LIBRARY_COLOR: &str = "\"#b45309\"";
const LAYERED_COLOR: &str = "\"#1d4ed8\"";
const GO_COLOR: &str = "\"#0e7490\"";

/// Whether an entry compiles C for Talos' userland with the musl toolchain: C builds and
/// library stages (kernel modules build with their kernel toolchain's compiler instead).
fn uses_musl(e: &Entry) -> bool {
    matches!(e.meta.kind, Kind::CBuild | Kind::Library)
}

fn node_id(e: &Entry) -> String {
    format!("{}/{}", if e.meta.is_internal() { "lib" } else { "ext" }, e.meta.name)
}

/// Text inside a DOT string.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `"text"` as a DOT string.
fn quote(text: &str) -> String {
    format!("\"{}\"", escape(text))
}

/// Lines as a DOT string, each left-justified (`\l`).
fn left_lines(lines: &[&str]) -> String {
    format!("\"{}\"", lines.iter().map(|l| format!("{}\\l", escape(l))).collect::<String>())
}

/// Text inside an HTML-like DOT label.
fn html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A two-line HTML-like label: the name, then smaller grey details.
fn label(name: &str, details: &str) -> String {
    format!("<{}<BR/><FONT POINT-SIZE=\"9\" COLOR=\"#555555\">{}</FONT>>", html(name), html(details))
}

/// The toolchain files the catalog uses, loaded, by name.
pub fn toolchains(catalog: &Catalog) -> Result<BTreeMap<String, Toolchain>> {
    let mut out = BTreeMap::new();
    for e in &catalog.entries {
        if let Some(name) = kernel_toolchain(catalog, e)
            && !out.contains_key(&name)
        {
            let tc = Toolchain::load(&catalog.root, &name)
                .with_context(|| format!("the kernel toolchain of `{}`", e.meta.name))?;
            out.insert(name, tc);
        }
    }
    Ok(out)
}

/// The workspace-wide pins besides the kernel toolchains that recipes of the catalog draw from.
#[derive(Debug, Default)]
pub struct Pinned {
    /// The Go release (`toolchain/go.toml`), when a recipe builds Go.
    pub go: Option<String>,
    /// The linux-firmware release (`toolchain/firmware.toml`), when a recipe ships firmware.
    pub linux_firmware: Option<talos_ext_model::LinuxFirmware>,
}

/// The [`Pinned`] releases the catalog's recipes use.
pub fn pinned(catalog: &Catalog) -> Result<Pinned> {
    let uses = |kind: Kind| catalog.entries.iter().any(|e| e.meta.kind == kind);
    Ok(Pinned {
        go: uses(Kind::GoBuild)
            .then(|| talos_ext_model::GoToolchain::load(&catalog.root))
            .transpose()?
            .map(|g| g.version),
        linux_firmware: catalog
            .entries
            .iter()
            .any(|e| e.meta.uses_linux_firmware())
            .then(|| talos_ext_model::LinuxFirmware::load(&catalog.root))
            .transpose()?,
    })
}

/// The DOT text of the catalog's graph; `pinned` is [`pinned`]'s answer.
pub fn dot(catalog: &Catalog, toolchains: &BTreeMap<String, Toolchain>, pinned: &Pinned) -> String {
    let go = pinned.go.as_deref();
    let tag = &catalog.pin.talos.tag;
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "// Generated by `cargo xtask graph` from the recipes' metadata and toolchain/: do not edit.");
    let _ = writeln!(w, "digraph deps {{");
    let _ = writeln!(
        w,
        "  graph [rankdir=LR, newrank=true, compound=true, nodesep=0.2, ranksep=0.7, fontname=\"Helvetica\", \
         fontsize=12, labelloc=t, labeljust=l, label={}];",
        left_lines(&[
            &format!("Talos extensions for {tag}: what each is built from (arrows point to the user)"),
            "green: kernel toolchain (dashed: signed in-tree modules taken from its kernel); grey: musl C toolchain; \
             teal: Go toolchain; amber: links a library stage; blue: layered on another extension; \
             grey dashed: files selected from the linux-firmware release",
        ])
    );
    let _ = writeln!(
        w,
        "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", color=\"#6b7280\", \
         fontname=\"Helvetica\", fontsize=11, margin=\"0.12,0.04\"];"
    );
    let _ = writeln!(
        w,
        "  edge [color=\"#6b7280\", arrowsize=0.6, fontname=\"Helvetica\", fontsize=9, fontcolor=\"#555555\"];"
    );

    // What the kernel toolchains draw from, and the toolchains.
    let mut inputs: Vec<(String, String, &'static str, String)> = Vec::new(); // (id, label, edge label, toolchain node)
    for (name, tc) in toolchains {
        let id = format!("toolchain/{name}");
        match &tc.spec {
            ToolchainSpec::Talos(t) => {
                inputs.push((
                    format!("image/{}", t.kernel.image),
                    label(&t.kernel.image, "Talos kernel image"),
                    IN_TREE,
                    id.clone(),
                ));
                let configs: Vec<&str> = t.kernel.config.keys().map(|a| a.as_str()).collect();
                inputs.push((
                    format!("source/{}", t.kernel.source.url),
                    label(
                        t.kernel.source.url.rsplit('/').next().unwrap_or_default(),
                        &format!("kernel source + pkgs config ({})", configs.join(", ")),
                    ),
                    "kbuild tree",
                    id.clone(),
                ));
            }
            ToolchainSpec::Debian(d) => {
                let k = &d.debian;
                let fill = |template: &str| template.replace("{abi}", &k.abi);
                let suites = k.suites.join(", ");
                inputs.push((
                    format!("debian/{}", fill(&k.packages.image)),
                    label(&fill(&k.packages.image), &format!("Debian ({suites})")),
                    IN_TREE,
                    id.clone(),
                ));
                inputs.push((
                    format!("debian/{}", fill(&k.packages.headers)),
                    label(
                        &format!("{}, {}", fill(&k.packages.headers), fill(&k.packages.kbuild)),
                        &format!("Debian ({suites})"),
                    ),
                    "kbuild tree",
                    id.clone(),
                ));
            }
        }
    }
    let firmware = pinned.linux_firmware.as_ref().map(|f| {
        let file = f.url.rsplit('/').next().unwrap_or_default();
        (format!("source/{}", f.url), label(file, &format!("linux-firmware {}, files selected per recipe", f.version)))
    });
    if !inputs.is_empty() || firmware.is_some() {
        let _ = writeln!(w, "\n  subgraph cluster_inputs {{");
        let _ = writeln!(
            w,
            "    label=\"kernel images, firmware, sources and packages\"; style=\"rounded,dashed\"; color=\"#9ca3af\";"
        );
        for (id, l) in inputs.iter().map(|(id, l, _, _)| (id, l)).chain(firmware.iter().map(|(id, l)| (id, l))) {
            let _ = writeln!(w, "    {} [label={l}, shape=folder, style=filled, fillcolor=\"#f3f4f6\"];", quote(id));
        }
        let _ = writeln!(w, "  }}");
    }
    let musl_users: Vec<&Entry> = catalog.entries.iter().filter(|e| uses_musl(e)).collect();
    if !toolchains.is_empty() || !musl_users.is_empty() || go.is_some() {
        let _ = writeln!(w, "\n  subgraph cluster_toolchains {{");
        let _ = writeln!(w, "    label=\"toolchains\"; style=\"rounded,dashed\"; color=\"#9ca3af\";");
        for (name, tc) in toolchains {
            let compiler = match &tc.spec {
                ToolchainSpec::Talos(t) => format!("kernel {}, clang/LLVM {}", t.kernel.release, t.compiler.version),
                ToolchainSpec::Debian(d) => format!("kernel {}, gcc {}", d.debian.abi, d.compiler.version),
            };
            let _ = writeln!(
                w,
                "    {} [label={}, shape=box, style=filled, fillcolor=\"#dcfce7\"];",
                quote(&format!("toolchain/{name}")),
                label(name, &compiler)
            );
        }
        if !musl_users.is_empty() {
            let _ = writeln!(
                w,
                "    {} [label={}, shape=box, style=filled, fillcolor=\"#dcfce7\"];",
                quote(MUSL),
                label("musl C toolchain", "gcc + musl, static, per arch")
            );
        }
        if let Some(version) = go {
            let _ = writeln!(
                w,
                "    {} [label={}, shape=box, style=filled, fillcolor=\"#dcfce7\"];",
                quote(GO),
                label("Go toolchain", &format!("{version}, from the module proxy"))
            );
        }
        let _ = writeln!(w, "  }}");
    }

    // Library stages, then the extensions by category.
    let libraries: Vec<&Entry> = catalog.libraries().collect();
    if !libraries.is_empty() {
        let _ = writeln!(w, "\n  subgraph cluster_internal {{");
        let _ = writeln!(
            w,
            "    label=\"internal library stages (never published)\"; style=\"rounded,filled\"; fillcolor=\"#fef9c3\"; color=\"#ca8a04\";"
        );
        for e in &libraries {
            let _ = writeln!(
                w,
                "    {} [label={}, fillcolor=\"#fffbeb\"];",
                quote(&node_id(e)),
                label(&e.meta.name, &e.meta.version_string(tag))
            );
        }
        let _ = writeln!(w, "  }}");
    }
    let mut by_category: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for e in catalog.extensions() {
        by_category.entry(e.meta.category.as_str()).or_default().push(e);
    }
    for (category, entries) in &by_category {
        let _ = writeln!(w, "\n  subgraph {} {{", quote(&format!("cluster_{category}")));
        let _ = writeln!(
            w,
            "    label={}; style=\"rounded,filled\"; fillcolor=\"#eff6ff\"; color=\"#60a5fa\";",
            quote(category)
        );
        for e in entries {
            let details = format!("{} · {}", e.meta.version_string(tag), e.meta.kind);
            let _ = writeln!(w, "    {} [label={}];", quote(&node_id(e)), label(&e.meta.name, &details));
        }
        let _ = writeln!(w, "  }}");
    }

    // Edges, sorted by (from, to).
    let mut edges: BTreeSet<(String, String, String)> = BTreeSet::new();
    for (id, _, edge_label, toolchain) in &inputs {
        let style = if *edge_label == IN_TREE { "dashed" } else { "solid" };
        edges.insert((id.clone(), toolchain.clone(), format!("label={}, style={style}", quote(edge_label))));
    }
    for e in &catalog.entries {
        if let Some(name) = kernel_toolchain(catalog, e) {
            let style = if e.meta.kind == Kind::KmodOutOfTree { "solid" } else { "dashed" };
            edges.insert((format!("toolchain/{name}"), node_id(e), format!("style={style}, color={KERNEL_COLOR}")));
        }
        if uses_musl(e) && !e.meta.is_internal() {
            edges.insert((MUSL.to_string(), node_id(e), format!("color={MUSL_COLOR}")));
        }
        if go.is_some() && e.meta.kind == Kind::GoBuild {
            edges.insert((GO.to_string(), node_id(e), format!("color={GO_COLOR}")));
        }
        if let Some((id, _)) = &firmware
            && e.meta.uses_linux_firmware()
        {
            edges.insert((id.clone(), node_id(e), "style=dashed".to_string()));
        }
        for used in &e.uses {
            let Some(u) = catalog.entries.iter().find(|x| &x.meta.name == used) else { continue };
            let attrs = if u.meta.is_internal() {
                format!("color={LIBRARY_COLOR}")
            } else {
                format!("style=bold, color={LAYERED_COLOR}")
            };
            edges.insert((node_id(u), node_id(e), attrs));
        }
    }
    // Every library stage compiles with musl: one edge into their cluster, not one per stage.
    if let Some(first) = libraries.iter().find(|e| uses_musl(e)) {
        edges.insert((MUSL.to_string(), node_id(first), format!("lhead=cluster_internal, color={MUSL_COLOR}")));
    }
    let _ = writeln!(w);
    for (from, to, attrs) in &edges {
        let _ = writeln!(w, "  {} -> {} [{attrs}];", quote(from), quote(to));
    }

    // Ranks: the toolchains in one column, and the extensions that are not layered on another
    // in the last one (layered ones go further right by their edges), whatever their cluster.
    let same_rank = |ids: Vec<String>| {
        (!ids.is_empty())
            .then(|| format!("  {{ rank=same; {}; }}\n", ids.iter().map(|i| quote(i)).collect::<Vec<_>>().join("; ")))
    };
    let mut tool_ids: Vec<String> = toolchains.keys().map(|n| format!("toolchain/{n}")).collect();
    if !musl_users.is_empty() {
        tool_ids.push(MUSL.to_string());
    }
    if go.is_some() {
        tool_ids.push(GO.to_string());
    }
    let base: Vec<String> = catalog
        .extensions()
        .filter(|e| !e.uses.iter().any(|u| catalog.extensions().any(|x| &x.meta.name == u)))
        .map(node_id)
        .collect();
    let _ = writeln!(w);
    for line in [same_rank(tool_ids), same_rank(base)].into_iter().flatten() {
        w.push_str(&line);
    }
    let _ = writeln!(w, "}}");
    out
}

/// FNV-1a (64 bits) of `bytes`: a fingerprint that ties a rendering to the DOT text it came
/// from. Not a content address (those are sha256, in talos-ext-model's `hash` feature, which the
/// front leaves out): only a changed graph has to change it, which any hash does.
pub fn fingerprint(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The comment line an SVG rendered from `dot` carries.
pub fn stamp(dot: &str) -> String {
    format!("<!-- cargo xtask graph: rendered from DOT text with fnv1a-64 {} -->", fingerprint(dot.as_bytes()))
}

/// Renders `dot` as SVG with Graphviz's `dot` (through the runner) and adds [`stamp`] before
/// the `<svg` element.
pub fn render_svg(dot: &str) -> Result<String> {
    render_svg_with("dot", dot)
}

/// [`render_svg`] with this `dot` program.
pub fn render_svg_with(program: &str, dot: &str) -> Result<String> {
    let out = talos_ext_process::Command::new(program)
        .arg("-Tsvg")
        .stdin_bytes(dot.as_bytes().to_vec())
        .hint("install Graphviz (`apt-get install graphviz`; ci/setup.sh installs it)")
        .output()
        .context("rendering the dependency graph with Graphviz")?;
    let svg = String::from_utf8(out.stdout).context("Graphviz wrote SVG that is not UTF-8")?;
    let Some(at) = svg.find("<svg") else { bail!("Graphviz wrote no `<svg` element:\n{svg}") };
    Ok(format!("{}{}\n{}", &svg[..at], stamp(dot), &svg[at..]))
}

/// Why the committed files at `root` are not what `dot` says, if they are not.
pub fn stale(root: &Path, dot: &str) -> Option<String> {
    let hint = "hint: run `cargo xtask graph` and commit docs/";
    match fs::read_to_string(root.join(DOT_PATH)) {
        Err(e) => return Some(format!("{DOT_PATH}: cannot read it ({e})\n{hint}")),
        Ok(text) if text != dot => {
            return Some(format!(
                "{DOT_PATH} is stale (not what the recipes' metadata says; {})\n{hint}",
                first_difference(dot, &text)
            ));
        }
        Ok(_) => {}
    }
    match fs::read_to_string(root.join(SVG_PATH)) {
        Err(e) => Some(format!("{SVG_PATH}: cannot read it ({e})\n{hint}")),
        Ok(svg) if !svg.contains(&stamp(dot)) => {
            Some(format!("{SVG_PATH} was not rendered from the current {DOT_PATH} (its stamp differs)\n{hint}"))
        }
        Ok(_) => None,
    }
}

/// The workspace's graph as DOT text.
pub fn workspace_dot(root: &Path) -> Result<String> {
    let catalog = Catalog::load(root)?;
    let toolchains = toolchains(&catalog)?;
    Ok(dot(&catalog, &toolchains, &pinned(&catalog)?))
}

pub fn run(sh: &Shell, cmd: GraphCmd, verbosity: Verbosity) -> Result<ExitCode> {
    let root = sh.current_dir();
    let dot = workspace_dot(&root)?;
    if cmd.check {
        if let Some(why) = stale(&root, &dot) {
            bail!("{why}");
        }
        if !verbosity.is_quiet() {
            eprintln!("{DOT_PATH} and {SVG_PATH} are current");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if cmd.format.is_some() || cmd.output.is_some() {
        let text = match cmd.format.unwrap_or_default() {
            GraphFormat::Dot => dot,
            GraphFormat::Svg => render_svg(&dot)?,
        };
        match &cmd.output {
            Some(path) => write_atomically(path, text.as_bytes())?,
            None => print!("{text}"),
        }
        return Ok(ExitCode::SUCCESS);
    }
    // Render first: without Graphviz nothing is written.
    let svg = render_svg(&dot)?;
    if let Some(parent) = root.join(DOT_PATH).parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    write_atomically(&root.join(DOT_PATH), dot.as_bytes())?;
    write_atomically(&root.join(SVG_PATH), svg.as_bytes())?;
    if !verbosity.is_quiet() {
        eprintln!("wrote {DOT_PATH} and {SVG_PATH}");
    }
    Ok(ExitCode::SUCCESS)
}
