//! `cargo xtask export`: an extension image's contents as a directory (`manifest.yaml` +
//! `rootfs/`), for inspection, from the local layout (`<out>/oci/<name>/`, after the build step
//! unless `--no-build`), a `--layout` directory, or a registry (`--from <ref>`, pulled into a
//! temporary layout with every digest verified).
//!
//! The image is treated as hostile: the layout's blobs are verified against their digests, and
//! the layer is unpacked by `talos_ext_archive::unpack_layer` (no absolute names or `..`, no
//! link escaping the destination, nothing written through a symlink, no device nodes; modes kept)
//! into a temporary directory beside `--dest`, which must then hold exactly `manifest.yaml` and
//! `rootfs/`. Only then is it renamed to `--dest`; a non-empty `--dest` is refused unless
//! `--force`, and replaced only at that last step.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use indicatif::HumanBytes;
use talos_ext_image::{Layout, MANIFEST_FILE, ROOTFS_DIR};
use talos_ext_model::Arch;
use talos_ext_registry::Reference;
use xshell::Shell;
use xtask::catalog::Catalog;
use xtask::flags::{ArchArg, BuildCmd, ExportCmd, Verbosity};

use crate::progress::Bars;

pub fn run(sh: &Shell, cmd: ExportCmd, verbosity: Verbosity) -> Result<ExitCode> {
    let root = sh.current_dir();
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let arch = cmd.arch.arch();
    let dest = cwd.join(&cmd.dest);
    check_dest(&dest, cmd.force)?;

    // Keeps a pulled layout alive until the export is done.
    let mut _pulled = None;
    let layout_dir: PathBuf = if let Some(text) = &cmd.from {
        let reference: Reference = text.parse().with_context(|| format!("`{text}` is not an image reference"))?;
        let tmp =
            tempfile::Builder::new().prefix("talos-ext-export-").tempdir().context("creating a temporary directory")?;
        let dir = tmp.path().join("layout");
        if !verbosity.is_quiet() {
            eprintln!("pulling {reference}");
        }
        crate::publish::client(&cmd.registry_args)?
            .pull_layout(&reference, &dir, &Bars::new(verbosity))
            .with_context(|| format!("pulling {reference}"))?;
        _pulled = Some(tmp);
        dir
    } else if let Some(layout) = &cmd.layout {
        cwd.join(layout)
    } else {
        let name = cmd.extension.clone().context("name an extension, a `--layout` or a `--from` reference")?;
        Catalog::load(&root)?.select(std::slice::from_ref(&name))?;
        let out = root.join(&cmd.out);
        if !cmd.no_build {
            let arch_arg = match arch {
                Arch::Amd64 => ArchArg::Amd64,
                Arch::Arm64 => ArchArg::Arm64,
            };
            let build = BuildCmd { arch: arch_arg, ..BuildCmd::new(vec![name.clone()], out.clone()) };
            xtask::build::run(sh, build, verbosity, &crate::pack::InProcess)?;
        }
        out.join("oci").join(name)
    };

    let (entries, bytes) = export(&layout_dir, arch, &dest)?;
    if !verbosity.is_quiet() {
        eprintln!("exported the {arch} image of {} ({entries} entries, {}):", layout_dir.display(), HumanBytes(bytes));
    }
    println!("{}", dest.display());
    Ok(ExitCode::SUCCESS)
}

/// `dest` must not exist, be an empty directory, or (with `force`) a directory.
fn check_dest(dest: &Path, force: bool) -> Result<()> {
    match fs::symlink_metadata(dest) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("reading {}", dest.display())),
        Ok(meta) if !meta.is_dir() => bail!("--dest {} exists and is not a directory", dest.display()),
        Ok(_) => {
            let empty = fs::read_dir(dest).with_context(|| format!("reading {}", dest.display()))?.next().is_none();
            if !empty && !force {
                bail!(
                    "--dest {} is not empty\nhint: choose another directory, or pass --force to replace it",
                    dest.display()
                );
            }
            Ok(())
        }
    }
}

/// Unpacks the `arch` layer of the layout at `layout_dir` to `dest` (see the module docs);
/// returns the entries and bytes written.
pub fn export(layout_dir: &Path, arch: Arch, dest: &Path) -> Result<(u64, u64)> {
    let layout =
        Layout::open(layout_dir).with_context(|| format!("opening the image layout {}", layout_dir.display()))?;
    layout.verify().with_context(|| format!("{}: blobs do not match their digests", layout_dir.display()))?;
    if !layout.platforms().contains(&arch) {
        let have: Vec<String> = layout.platforms().iter().map(|a| a.to_string()).collect();
        bail!("{} has no {arch} image (it has: {})\nhint: pass --arch", layout_dir.display(), have.join(", "));
    }
    let layer = &layout.manifest(arch)?.layers;
    let origin = match layer.as_slice() {
        [one] => layout.blob_path(one)?,
        _ => layout_dir.to_path_buf(),
    };
    let reader = layout.layer_reader(arch)?;

    let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "export".into());
    let work = tempfile::Builder::new()
        .prefix(&format!(".{name}.export-"))
        .tempdir_in(parent)
        .with_context(|| format!("creating a temporary directory in {}", parent.display()))?;
    let tree = work.path().join("tree");
    let summary = talos_ext_archive::unpack_layer(reader, &origin, &tree)
        .with_context(|| format!("unpacking the {arch} layer of {}", layout_dir.display()))?;
    let mut top: Vec<String> = fs::read_dir(&tree)
        .with_context(|| format!("reading {}", tree.display()))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading {}", tree.display()))?;
    top.sort();
    let shaped = top == [MANIFEST_FILE, ROOTFS_DIR]
        && fs::symlink_metadata(tree.join(MANIFEST_FILE)).is_ok_and(|m| m.is_file())
        && fs::symlink_metadata(tree.join(ROOTFS_DIR)).is_ok_and(|m| m.is_dir());
    if !shaped {
        bail!(
            "the {arch} layer of {} is not an extension: it must hold exactly the file `{MANIFEST_FILE}` and the directory `{ROOTFS_DIR}/`, found [{}]",
            layout_dir.display(),
            top.join(", ")
        );
    }
    // Move the old destination (empty, or replaced with --force) into the work directory, which
    // is deleted on return, and the new tree into place.
    if fs::symlink_metadata(dest).is_ok() {
        fs::rename(dest, work.path().join("old")).with_context(|| format!("moving away {}", dest.display()))?;
    }
    if let Err(e) = fs::rename(&tree, dest) {
        let _ = fs::rename(work.path().join("old"), dest);
        return Err(e).with_context(|| format!("moving the export to {}", dest.display()));
    }
    Ok((summary.entries, summary.bytes))
}
