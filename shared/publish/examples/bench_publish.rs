//! Benchmark behind `cargo xtask bench publish`: pushes an OCI layout to a real local registry
//! (Debian's `docker-registry`, started here) with our client and with
//! `skopeo copy --dest-tls-verify=false --all oci:<layout> docker://<registry>/<repo>:<tag>`:
//! first push into a fresh repository each run, then an unchanged re-push; medians of N runs.
//!
//! skopeo 1.9 cannot pick an image from a layout whose `index.json` lists several manifests
//! (`oci:` with amd64 + arm64), so both tools are also compared on a single-arch (amd64) copy of
//! the layout; the output says which layout each line used.
//!
//! Usage: `bench_publish --layout <dir> [--runs N]`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use talos_ext_image::Layout;
use talos_ext_image::spec::{INDEX_FILE, ImageIndex, OCI_LAYOUT_FILE};
use talos_ext_model::Arch;
use talos_ext_process::Command;
use talos_ext_registry::testing::TestRegistry;
use talos_ext_registry::{Client, NoReporter, PushOptions};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let mut layout = None;
    let mut runs = 5usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--layout" => layout = args.next().map(PathBuf::from),
            "--runs" => runs = args.next().ok_or("--runs needs a value")?.parse()?,
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    let layout = layout.ok_or("--layout <dir> is required")?;
    if runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    let tmp = tempfile::tempdir()?;
    let single = tmp.path().join("single-arch");
    single_arch_copy(&layout, &single, Arch::Amd64)?;
    // skopeo's HOME: no user configuration or credentials count.
    let skopeo_home = tmp.path().join("skopeo-home");
    fs::create_dir_all(&skopeo_home)?;
    let registry = TestRegistry::start()?;
    let client = Client::new(registry.client_config());
    let size: u64 = walk_size(&layout)?;
    println!(
        "layout {} ({} KiB, {} platforms), registry {} (docker-registry on loopback), {runs} runs, medians",
        layout.display(),
        size / 1024,
        Layout::open(&layout)?.platforms().len(),
        registry.host()
    );

    let mut results = Vec::new();
    let platforms = Layout::open(&layout)?.platforms().len();
    let whole = if platforms > 1 { "multi-arch" } else { "as built" };
    for (label, dir) in [(whole, &layout), ("single-arch amd64", &single)] {
        let ours = measure(
            runs,
            |repo| {
                let target = registry.reference(&format!("{repo}:v1"));
                client.push_layout(dir, &target, &PushOptions::default(), &NoReporter)?;
                Ok(())
            },
            &format!("ours-{}", label.replace([' ', '-'], "")),
        )?;
        results.push((format!("ours   ({label})"), ours));
        let skopeo = measure(
            runs,
            |repo| {
                let dest = format!("docker://{}/{repo}:v1", registry.host());
                Command::new("skopeo")
                    .args(["copy", "--quiet", "--dest-tls-verify=false", "--all"])
                    .arg(format!("oci:{}", dir.display()))
                    .arg(&dest)
                    .env("HOME", &skopeo_home)
                    .hint("apt-get install skopeo")
                    .output()?;
                Ok(())
            },
            &format!("skopeo-{}", label.replace([' ', '-'], "")),
        );
        match skopeo {
            Ok(t) => results.push((format!("skopeo ({label})"), t)),
            Err(e) => println!("skopeo ({label}): not comparable: {e}"),
        }
    }
    println!("{:<32} {:>12} {:>12}", "", "first push", "re-push");
    for (label, (first, again)) in &results {
        println!("{label:<32} {:>9.1} ms {:>9.1} ms", ms(*first), ms(*again));
    }
    let get = |name: &str| results.iter().find(|(l, _)| l == name).map(|(_, t)| *t);
    if let (Some(ours), Some(skopeo)) = (get("ours   (single-arch amd64)"), get("skopeo (single-arch amd64)")) {
        println!(
            "ratio ours/skopeo on the single-arch layout: first push {:.2}, re-push {:.2} (target <= 0.5)",
            ms(ours.0) / ms(skopeo.0),
            ms(ours.1) / ms(skopeo.1)
        );
    }
    if let (Some(ours), Some(skopeo)) = (get(&format!("ours   ({whole})")), get(&format!("skopeo ({whole})"))) {
        println!(
            "ratio ours/skopeo on the {whole} layout: first push {:.2}, re-push {:.2} (target <= 0.5)",
            ms(ours.0) / ms(skopeo.0),
            ms(ours.1) / ms(skopeo.1)
        );
    } else {
        println!(
            "note: skopeo 1.9 cannot copy the multi-arch layout (`oci:` with two manifests), so the ratio is measured on a single-arch copy"
        );
    }
    Ok(())
}

/// Per run: a first push into a fresh repository, then an unchanged re-push to it.
fn measure(runs: usize, mut push: impl FnMut(&str) -> Result<()>, name: &str) -> Result<(Duration, Duration)> {
    let (mut first, mut again) = (Vec::new(), Vec::new());
    for i in 0..=runs {
        let repo = format!("bench/{name}-{i}");
        let start = Instant::now();
        push(&repo)?;
        let t1 = start.elapsed();
        let start = Instant::now();
        push(&repo)?;
        let t2 = start.elapsed();
        if i > 0 {
            // Run 0 warms caches (page cache, registry, skopeo's binary).
            first.push(t1);
            again.push(t2);
        }
    }
    Ok((median(first), median(again)))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A copy of `src` whose `index.json` lists only the `arch` manifest (blobs hard-linked).
fn single_arch_copy(src: &Path, dest: &Path, arch: Arch) -> Result<()> {
    let layout = Layout::open(src)?;
    let desc = layout.descriptor(arch)?.clone();
    let blobs = dest.join("blobs/sha256");
    fs::create_dir_all(&blobs)?;
    for entry in fs::read_dir(src.join("blobs/sha256"))? {
        let entry = entry?;
        fs::hard_link(entry.path(), blobs.join(entry.file_name()))
            .or_else(|_| fs::copy(entry.path(), blobs.join(entry.file_name())).map(|_| ()))?;
    }
    fs::copy(src.join(OCI_LAYOUT_FILE), dest.join(OCI_LAYOUT_FILE))?;
    let index = ImageIndex { manifests: vec![desc], ..layout.index().clone() };
    fs::write(dest.join(INDEX_FILE), serde_json::to_vec(&index)?)?;
    Ok(())
}

fn walk_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in fs::read_dir(dir.join("blobs/sha256"))? {
        total += entry?.metadata()?.len();
    }
    Ok(total)
}
