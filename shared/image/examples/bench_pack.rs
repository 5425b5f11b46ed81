//! Benchmark of the layer writers against shell pipelines on the same tree: our gzip-6 writer
//! next to `tar -c | gzip -6 | sha256sum` and `tar -c | pigz -6 | sha256sum`, our zstd-3 writer
//! next to `tar -c | zstd -3 -T0 | sha256sum`.
//!
//! Generates (once, deterministically, reused on later runs) a staged extension of about
//! `--size-mib` MiB: ~62% in many small files of 1-64 KiB, the rest in two large files, with
//! content mixing text-like words, code-like low-entropy bytes, structured records and some
//! incompressible blocks. Then runs each of the five `--rounds` times (interleaved, so that all
//! see the same machine), reports the best time, MB/s of input and output size of each, and
//! checks that our runs produced the same digest every time. It measures; it asserts nothing
//! about speed. The pipelines' output is counted with `tee` into `wc -c` beside `sha256sum`.
//!
//! `cargo run --release -p talos-ext-image --example bench_pack -- [--size-mib 1024] [--rounds 2]
//! [--dir <scratch>] [--threads N]` (`--threads` only for diagnosis; the default is the available
//! parallelism).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use talos_ext_image::{Compression, PackOptions, write_layer};
use talos_ext_process::Command;

const SMALL_SHARE: f64 = 0.62;
const LARGE_FILES: u64 = 2;
const EPOCH: u64 = 1_700_000_000;

/// One measured way of packing the tree.
enum Packer {
    /// Our layer writer.
    Ours(Compression),
    /// `tar -c | <compressor> | sha256sum`.
    Shell(&'static str),
}

impl Packer {
    fn label(&self) -> String {
        match self {
            Packer::Ours(Compression::Gzip { level }) => format!("ours gzip -{level}"),
            Packer::Ours(Compression::Zstd { level }) => format!("ours zstd -{level}"),
            Packer::Shell(compressor) => format!("tar | {compressor} | sha256sum"),
        }
    }
}

/// The times, output bytes and (ours only) digests of one packer's rounds.
struct Results {
    secs: Vec<f64>,
    size: u64,
    digests: Vec<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut size_mib = 1024u64;
    let mut rounds = 2usize;
    let mut threads_arg = None;
    let mut dir = std::env::temp_dir().join("talos-ext-image-bench");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--size-mib" => size_mib = args.next().ok_or("--size-mib needs a value")?.parse()?,
            "--rounds" => rounds = args.next().ok_or("--rounds needs a value")?.parse()?,
            "--dir" => dir = PathBuf::from(args.next().ok_or("--dir needs a value")?),
            "--threads" => threads_arg = Some(args.next().ok_or("--threads needs a value")?.parse()?),
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    if rounds == 0 {
        return Err("--rounds must be at least 1".into());
    }
    let staged = dir.join(format!("staged-{size_mib}"));
    let (files, bytes) = generate(&staged, size_mib)?;
    let mb = bytes as f64 / 1e6;
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    println!(
        "tree: {files} files, {mb:.1} MB of content; {threads} threads available, load average {}",
        load.join(" ")
    );

    let packers = [
        Packer::Ours(Compression::GZIP),
        Packer::Shell("gzip -6"),
        Packer::Shell("pigz -6"),
        Packer::Ours(Compression::ZSTD),
        Packer::Shell("zstd -3 -T0"),
    ];
    let blobs = dir.join("blobs");
    let mut results: Vec<Results> =
        packers.iter().map(|_| Results { secs: Vec::new(), size: 0, digests: Vec::new() }).collect();
    for round in 1..=rounds {
        for (packer, result) in packers.iter().zip(&mut results) {
            let t = Instant::now();
            let (size, digest) = match packer {
                Packer::Ours(compression) => {
                    let _ = fs::remove_dir_all(&blobs);
                    fs::create_dir_all(&blobs)?;
                    let opts = PackOptions { compression: *compression, threads: threads_arg };
                    let info = write_layer(&staged, &blobs, EPOCH, &opts)?;
                    (info.size, info.digest.to_string())
                }
                Packer::Shell(compressor) => shell(&staged, compressor)?,
            };
            let secs = t.elapsed().as_secs_f64();
            println!(
                "round {round}: {:<28} {secs:7.2} s {:7.1} MB/s  output {:7.1} MB  sha256:{digest}",
                packer.label(),
                mb / secs,
                size as f64 / 1e6
            );
            result.secs.push(secs);
            result.size = size;
            if matches!(packer, Packer::Ours(_)) {
                result.digests.push(digest);
            }
        }
    }
    let _ = fs::remove_dir_all(&blobs);
    println!("best of {rounds}:");
    for (packer, result) in packers.iter().zip(&results) {
        let best = result.secs.iter().copied().fold(f64::INFINITY, f64::min);
        let deterministic = match packer {
            Packer::Ours(_) if result.digests.windows(2).all(|w| w[0] == w[1]) => "  (same digest every round)",
            Packer::Ours(_) => "  (DIGESTS DIFFER between rounds)",
            Packer::Shell(_) => "",
        };
        println!(
            "  {:<28} {best:7.2} s {:7.1} MB/s  output {:7.1} MB ({:.1}% of the input){deterministic}",
            packer.label(),
            mb / best,
            result.size as f64 / 1e6,
            result.size as f64 * 100.0 / bytes as f64
        );
    }
    Ok(())
}

/// Runs `tar -c -C <staged> . | <compressor> | sha256sum`, counting the compressed bytes with
/// `tee` into `wc -c` on the side; returns (bytes, hex digest).
fn shell(staged: &Path, compressor: &str) -> Result<(u64, String), Box<dyn std::error::Error>> {
    let script =
        format!("set -o pipefail; (tar -c -C \"$1\" . | {compressor} | tee /dev/fd/3 | sha256sum >&2) 3>&1 | wc -c");
    let out = Command::new("bash")
        .args(["-c", &script, "bench", &staged.display().to_string()])
        .hint("apt-get install tar gzip pigz zstd (bash ci/setup.sh installs them)")
        .output()?;
    let size = String::from_utf8_lossy(&out.stdout).trim().parse()?;
    let digest = String::from_utf8_lossy(&out.stderr).split_whitespace().next().unwrap_or_default().to_string();
    Ok((size, digest))
}

/// Creates the tree unless a complete one exists; returns (file count, content bytes).
fn generate(staged: &Path, size_mib: u64) -> Result<(u64, u64), Box<dyn std::error::Error>> {
    let done = staged.with_extension("done");
    let total = size_mib << 20;
    let small_budget = (total as f64 * SMALL_SHARE) as u64;
    let large_size = (total - small_budget) / LARGE_FILES;
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut plan = Vec::new();
    let mut used = 0;
    while used < small_budget {
        let size = 1024 + rng.next() % (63 * 1024);
        let dir = rng.next() % 400;
        plan.push((format!("rootfs/usr/lib/d{:03}/sub{}/f{}.so", dir, dir % 7, plan.len()), size));
        used += size;
    }
    for i in 0..LARGE_FILES {
        plan.push((format!("rootfs/usr/lib/firmware/large{i}.bin"), large_size));
    }
    let bytes: u64 = plan.iter().map(|p| p.1).sum();
    let count = plan.len() as u64 + 1;
    if done.exists() {
        return Ok((count, bytes));
    }
    let _ = fs::remove_dir_all(staged);
    fs::create_dir_all(staged.join("rootfs"))?;
    fs::write(staged.join("manifest.yaml"), "version: v1alpha1\nmetadata:\n  name: bench\n  version: 1.0.0\n")?;
    let mut buf = Vec::new();
    for (i, (path, size)) in plan.iter().enumerate() {
        let p = staged.join(path);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent)?;
        }
        buf.clear();
        fill(&mut buf, *size as usize, &mut Rng(i as u64 * 0x9e37_79b9 + 17));
        fs::write(&p, &buf)?;
    }
    fs::write(&done, "")?;
    Ok((count, bytes))
}

/// Fills `out` with `len` bytes of mixed content, in 4 KiB blocks of four kinds.
fn fill(out: &mut Vec<u8>, len: usize, rng: &mut Rng) {
    const WORDS: &[&str] = &[
        "the", "kernel", "module", "return", "static", "struct", "error", "device", "config", "value", "int",
        "unsigned", "buffer", "length", "if", "else", "for", "while", "(", ")", "{", "}", ";", "0x00", "NULL",
    ];
    while out.len() < len {
        let block_end = (out.len() + 4096).min(len);
        match rng.next() % 10 {
            0..=3 => {
                while out.len() < block_end {
                    let r = rng.next();
                    out.extend_from_slice(WORDS[(r % WORDS.len() as u64) as usize].as_bytes());
                    out.push(if r & 0x700 == 0 { b'\n' } else { b' ' });
                }
            }
            4..=6 => {
                // Code-like: a skewed alphabet, with short repeats.
                while out.len() < block_end {
                    let r = rng.next();
                    for k in 0..8 {
                        let b = (r >> (k * 8)) as u8;
                        out.push(if b < 128 { b & 0x1f } else { b });
                    }
                    if r & 0xf == 0 && out.len() > 64 {
                        let start = out.len() - 64;
                        out.extend_from_within(start..start + 32);
                    }
                }
            }
            7..=8 => {
                let mut n = rng.next() % 100_000;
                while out.len() < block_end {
                    out.extend_from_slice(format!("sym_{n:08x} 0x{:016x} T {}\n", n * 48, n % 13).as_bytes());
                    n += 1 + rng.next() % 3;
                }
            }
            _ => {
                while out.len() < block_end {
                    out.extend_from_slice(&rng.next().to_le_bytes());
                }
            }
        }
        out.truncate(block_end);
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*; never zero.
        self.0 |= 1;
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}
