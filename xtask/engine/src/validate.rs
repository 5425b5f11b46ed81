//! `cargo xtask validate`: Talos' rules (and, by default, the strict ones) on an extension tree
//! directory or on every arch of an OCI image layout. Prints every finding; exit code 1 if any.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use talos_ext_image::Layout;
use talos_ext_kmod::symvers::Symvers;
use talos_ext_model::Pin;
use talos_ext_validate::{KernelExpectation, Options, Report, certificate_key_id, validate_dir, validate_tar};
use xshell::Shell;

use xtask::flags::{ValidateCmd, Verbosity};

pub fn run(sh: &Shell, cmd: ValidateCmd, verbosity: Verbosity) -> Result<ExitCode> {
    let talos_version = match cmd.talos_version {
        Some(v) => v,
        None => Pin::load(&sh.current_dir())?.talos.tag,
    };
    // Relative paths are relative to where the user ran the command, not the workspace root.
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let signer_key_id = match &cmd.module_cert {
        Some(cert) => {
            let cert = cwd.join(cert);
            let bytes = std::fs::read(&cert).with_context(|| format!("reading {}", cert.display()))?;
            Some(certificate_key_id(&bytes).with_context(|| format!("reading {}", cert.display()))?)
        }
        None => None,
    };
    let symvers = match &cmd.symvers {
        Some(path) => {
            let path = cwd.join(path);
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            Some(std::sync::Arc::new(Symvers::parse(&text, &path)?))
        }
        None => None,
    };
    let kernel = cmd.kernel.map(|release| KernelExpectation {
        release,
        signer_key_id,
        vermagic_flags: cmd.vermagic_flags,
        symvers,
        ..Default::default()
    });
    let opts = Options { strict: !cmd.talos_only, pkg_name: cmd.pkg_name, talos_version, kernel };
    let mode = if opts.strict { "strict" } else { "Talos rules only" };
    let path = cwd.join(&cmd.path);
    let reports = if path.join("oci-layout").is_file() {
        validate_layout(&path, &opts)?
    } else {
        vec![(String::new(), validate_dir(&path, &opts)?)]
    };
    let mut failed = false;
    for (label, report) in &reports {
        if report.is_ok() {
            if !verbosity.is_quiet() {
                eprintln!("{}{label}: ok ({mode})", path.display());
            }
        } else {
            failed = true;
            println!("{}{label}: {} finding(s) ({mode}):", path.display(), report.findings.len());
            println!("{report}");
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn validate_layout(path: &Path, opts: &Options) -> Result<Vec<(String, Report)>> {
    let layout = Layout::open(path)?;
    layout.verify().with_context(|| format!("{}: blobs do not match the index", path.display()))?;
    let mut out = Vec::new();
    for arch in layout.platforms() {
        let reader = layout.layer_reader(arch)?;
        let mut opts = opts.clone();
        if let Some(kernel) = &mut opts.kernel {
            kernel.arch = Some(arch);
        }
        let report = validate_tar(reader, &opts).with_context(|| format!("reading the {arch} layer"))?;
        out.push((format!(" [{arch}]"), report));
    }
    Ok(out)
}
