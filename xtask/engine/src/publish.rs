//! `cargo xtask publish | find | sign | verify-signature`: the command-line side of
//! `talos-ext-publish`. `publish` runs the build step first (a no-op when nothing changed, so a
//! stale layout is never pushed), pushes each `<out>/oci/<name>/`, merges the pushed lines into
//! the index image `<prefix>/extensions:<talos tag>` (lines of other extensions already there are
//! kept) and pushes it, optionally signing everything, then prints a table of references.

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;
use indicatif::HumanBytes;
use talos_ext_publish::{
    Description, IndexEntry, IndexMeta, PublishError, RegistryPrefix, find, publish_extension, publish_index,
    read_index, sign_reference, verify_reference,
};
use talos_ext_registry::{Client, ClientConfig, Reference};
use talos_ext_sign::{PublicKey, SigningKey};
use xshell::Shell;

use crate::progress::Bars;
use xtask::build::SourceFacts;
use xtask::catalog::Catalog;
use xtask::flags::{FindCmd, FindFormat, PublishCmd, RegistryArgs, SignCmd, VerifySignatureCmd};
use xtask::list::print_table;

fn client(args: &RegistryArgs) -> Result<Client> {
    let config = ClientConfig::from_env().context("reading registry credentials")?;
    Ok(Client::new(ClientConfig { insecure: args.insecure, ..config }))
}

fn parse_reference(text: &str) -> Result<Reference> {
    text.parse::<Reference>().with_context(|| format!("`{text}` is not an image reference"))
}

pub fn run_publish(sh: &Shell, cmd: PublishCmd) -> Result<ExitCode> {
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
    let key = match (&cmd.sign, &cmd.key) {
        (true, Some(path)) => {
            Some(SigningKey::load(path).with_context(|| format!("loading the signing key {}", path.display()))?)
        }
        _ => None,
    };

    if !cmd.no_build {
        // The build step is cheap when nothing changed and repacks a stale layout otherwise.
        let mut argv = vec!["cargo xtask".to_string(), "build".into(), "--out".into(), cmd.out.display().to_string()];
        argv.extend(names.iter().cloned());
        let flags = xtask::flags::Xtask::try_parse_from(argv).context("preparing the build step")?;
        let xtask::flags::Command::Build(build) = flags.command else { bail!("internal: not a build command") };
        eprintln!("building {} (a no-op when up to date)", names.join(", "));
        xtask::build::run(sh, build, &crate::pack::InProcess)?;
    }

    let client = client(&cmd.registry_args)?;
    let bars = Bars::new();
    let mut published = Vec::new();
    for name in &names {
        let layout = cmd.out.join("oci").join(name);
        if !layout.join("index.json").is_file() {
            bail!("no image layout for {name} at {}\nhint: run `cargo xtask build {name}`", layout.display());
        }
        eprintln!("pushing {name} to {prefix}/{name}");
        let p = publish_extension(&client, &layout, &prefix, cmd.allow_overridden, &bars)
            .with_context(|| format!("publishing {name}"))?;
        let s = &p.summary;
        eprintln!(
            "  {}: {} blobs uploaded ({}), {} already there, {} mounted, {} retries",
            s.reference,
            s.blobs_uploaded,
            HumanBytes(s.bytes_uploaded),
            s.blobs_skipped,
            s.blobs_mounted,
            s.retries
        );
        published.push(p);
    }

    // The index lists every extension of this Talos tag: keep the lines of the others.
    let mut entries: Vec<IndexEntry> = published.iter().map(|p| p.entry.clone()).collect();
    let replaced: BTreeSet<String> = entries.iter().map(|e| e.reference.repository.to_string()).collect();
    match read_index(&client, &prefix, &talos_tag, None) {
        Ok(old) => {
            for line in &old.files.lines {
                let Ok(reference) = line.parse::<Reference>() else { continue };
                if reference.digest.is_none() || replaced.contains(&reference.repository.to_string()) {
                    continue;
                }
                let d = old.files.descriptions.get(line).cloned();
                let Description { author, description } =
                    d.unwrap_or(Description { author: String::new(), description: String::new() });
                entries.push(IndexEntry { reference, author, description });
            }
        }
        Err(PublishError::IndexNotFound { .. }) => {}
        Err(e) => return Err(e).context("reading the current index image to merge with"),
    }
    let facts = SourceFacts::read(sh)?;
    let meta = IndexMeta {
        talos_tag: talos_tag.clone(),
        source: facts.source.clone(),
        revision: facts.revision.clone(),
        source_date_epoch: facts.source_date_epoch,
    };
    let index_layout = cmd.out.join("index").join(format!("extensions-{talos_tag}"));
    eprintln!("pushing the index image {prefix}/extensions:{talos_tag} ({} extensions)", entries.len());
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

pub fn run_find(_sh: &Shell, cmd: FindCmd) -> Result<ExitCode> {
    let prefix: RegistryPrefix = cmd.registry.parse()?;
    let client = client(&cmd.registry_args)?;
    let key = match (&cmd.verify, &cmd.key) {
        (true, Some(path)) => {
            Some(PublicKey::load(path).with_context(|| format!("loading the public key {}", path.display()))?)
        }
        _ => None,
    };
    let found = find(&client, &prefix, &cmd.talos, &cmd.extensions, key.as_ref())?;
    for f in &found {
        match cmd.format {
            FindFormat::Plain => println!("{}", f.line),
            FindFormat::Imager => println!("--system-extension-image {}", f.line),
        }
    }
    if key.is_some() {
        eprintln!("signatures verified: the index image and {} extension(s)", found.len());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_sign(_sh: &Shell, cmd: SignCmd) -> Result<ExitCode> {
    let key = SigningKey::load(&cmd.key).with_context(|| format!("loading the signing key {}", cmd.key.display()))?;
    let client = client(&cmd.registry_args)?;
    let bars = Bars::new();
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
