//! `cargo xtask publish | find | sign | verify-signature`: the command-line side of
//! `talos-ext-publish`. `publish` runs the build step first (a no-op when nothing changed, so a
//! stale layout is never pushed), pushes each `<out>/oci/<name>/`, then the index image
//! `<prefix>/extensions:<talos tag>` with the pushed lines merged in (the library keeps the lines
//! of other extensions already there), optionally signing everything, then prints a table of
//! references.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use indicatif::HumanBytes;
use talos_ext_publish::{
    IndexEntry, IndexMeta, RegistryPrefix, find, merged_index_entries, publish_extension, publish_index,
    sign_reference, verify_reference,
};
use talos_ext_registry::{Client, ClientConfig, Reference};
use talos_ext_sign::{PublicKey, SigningKey};
use xshell::Shell;

use crate::progress::Bars;
use xtask::build::SourceFacts;
use xtask::catalog::Catalog;
use xtask::flags::{BuildCmd, FindCmd, FindFormat, PublishCmd, RegistryArgs, SignCmd, Verbosity, VerifySignatureCmd};
use xtask::list::print_table;

/// A registry client with the command line's `--insecure` and the environment's credentials
/// (every command that reaches a registry uses this one).
pub fn client(args: &RegistryArgs) -> Result<Client> {
    let config = ClientConfig::from_env().context("reading registry credentials")?;
    Ok(Client::new(ClientConfig { insecure: args.insecure, ..config }))
}

fn parse_reference(text: &str) -> Result<Reference> {
    text.parse::<Reference>().with_context(|| format!("`{text}` is not an image reference"))
}

pub fn run_publish(sh: &Shell, cmd: PublishCmd, verbosity: Verbosity) -> Result<ExitCode> {
    let root = sh.current_dir();
    let catalog = Catalog::load(&root)?;
    let prefix: RegistryPrefix = cmd.registry.parse()?;
    let talos_tag = cmd.tag.clone().unwrap_or_else(|| catalog.pin.talos.tag.clone());
    let names: Vec<String> = if cmd.all {
        catalog.extensions().map(|e| e.meta.name.clone()).collect()
    } else {
        catalog.select(&cmd.extensions)?.iter().map(|e| e.meta.name.clone()).collect()
    };
    // Load the key before anything is pushed: a wrong password should not leave half a release.
    // (`--key` implies `--sign`, and `--sign` needs `--key`: the command line sees to both.)
    let key = match &cmd.key {
        Some(path) => {
            Some(SigningKey::load(path).with_context(|| format!("loading the signing key {}", path.display()))?)
        }
        None => None,
    };

    if !cmd.no_build {
        // The build step is cheap when nothing changed and repacks a stale layout otherwise.
        if !verbosity.is_quiet() {
            eprintln!("building {} (a no-op when up to date)", names.join(", "));
        }
        let build = BuildCmd::new(names.clone(), cmd.out.clone());
        xtask::build::run(sh, build, verbosity, &crate::pack::InProcess)?;
    }

    let client = client(&cmd.registry_args)?;
    let bars = Bars::new(verbosity);
    let mut published = Vec::new();
    for name in &names {
        let layout = cmd.out.join("oci").join(name);
        if !layout.join("index.json").is_file() {
            bail!("no image layout for {name} at {}\nhint: run `cargo xtask build {name}`", layout.display());
        }
        if !verbosity.is_quiet() {
            eprintln!("pushing {name} to {prefix}/{name}");
        }
        let p = publish_extension(&client, &layout, &prefix, cmd.allow_overridden, &bars)
            .with_context(|| format!("publishing {name}"))?;
        let s = &p.summary;
        if !verbosity.is_quiet() {
            eprintln!(
                "  {}: {} blobs uploaded ({}), {} already there, {} mounted, {} retries",
                s.reference,
                s.blobs_uploaded,
                HumanBytes(s.bytes_uploaded),
                s.blobs_skipped,
                s.blobs_mounted,
                s.retries
            );
        }
        published.push(p);
    }

    // The index lists every extension of this Talos tag: the library keeps the lines of the others.
    let pushed: Vec<IndexEntry> = published.iter().map(|p| p.entry.clone()).collect();
    let entries = merged_index_entries(&client, &prefix, &talos_tag, &pushed)
        .context("reading the current index image to merge with")?;
    let facts = SourceFacts::read(sh)?;
    let meta = IndexMeta {
        talos_tag: talos_tag.clone(),
        source: facts.source.clone(),
        revision: facts.revision.clone(),
        source_date_epoch: facts.source_date_epoch,
    };
    let index_layout = cmd.out.join("index").join(format!("extensions-{talos_tag}"));
    if !verbosity.is_quiet() {
        eprintln!("pushing the index image {prefix}/extensions:{talos_tag} ({} extensions)", entries.len());
    }
    let index = publish_index(&client, &prefix, &entries, &meta, &index_layout, &bars)
        .with_context(|| format!("publishing the index image {prefix}/extensions:{talos_tag}"))?;

    let mut rows: Vec<[String; 3]> =
        published.iter().map(|p| [p.name.clone(), p.summary.reference.to_string(), String::new()]).collect();
    rows.push(["(index)".into(), index.reference.to_string(), String::new()]);
    if let Some(key) = &key {
        for row in &mut rows {
            let reference = parse_reference(&row[1])?;
            let (_, sig) =
                sign_reference(&client, key, &reference, &bars).with_context(|| format!("signing {reference}"))?;
            row[2] = sig.tag.unwrap_or_default();
        }
    }
    print_table(&["NAME", "REFERENCE", "SIGNATURE"], &rows);
    Ok(ExitCode::SUCCESS)
}

pub fn run_find(_sh: &Shell, cmd: FindCmd, verbosity: Verbosity) -> Result<ExitCode> {
    let prefix: RegistryPrefix = cmd.registry.parse()?;
    let client = client(&cmd.registry_args)?;
    // `--key` implies `--verify` (the command line sees to it).
    let key = match &cmd.key {
        Some(path) => {
            Some(PublicKey::load(path).with_context(|| format!("loading the public key {}", path.display()))?)
        }
        None => None,
    };
    let found = find(&client, &prefix, &cmd.talos, &cmd.extensions, key.as_ref())?;
    for f in &found {
        match cmd.format {
            FindFormat::Plain => println!("{}", f.line),
            FindFormat::Imager => println!("--system-extension-image {}", f.line),
        }
    }
    if key.is_some() && !verbosity.is_quiet() {
        eprintln!("signatures verified: the index image and {} extension(s)", found.len());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_sign(_sh: &Shell, cmd: SignCmd, verbosity: Verbosity) -> Result<ExitCode> {
    let key = SigningKey::load(&cmd.key).with_context(|| format!("loading the signing key {}", cmd.key.display()))?;
    let client = client(&cmd.registry_args)?;
    let bars = Bars::new(verbosity);
    for text in &cmd.references {
        let reference = parse_reference(text)?;
        let (signed, sig) =
            sign_reference(&client, &key, &reference, &bars).with_context(|| format!("signing {reference}"))?;
        println!("signed {signed} -> {sig}");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_verify(_sh: &Shell, cmd: VerifySignatureCmd) -> Result<ExitCode> {
    let key = PublicKey::load(&cmd.key).with_context(|| format!("loading the public key {}", cmd.key.display()))?;
    let client = client(&cmd.registry_args)?;
    let reference = parse_reference(&cmd.reference)?;
    let ok = verify_reference(&client, &key, &reference)?;
    println!(
        "verified {}@{} (signed for {}, key {})",
        reference.repository, ok.image_digest, ok.docker_reference, ok.key_id
    );
    Ok(ExitCode::SUCCESS)
}
