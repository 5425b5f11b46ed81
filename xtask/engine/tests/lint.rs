//! `cargo xtask lint` on a small workspace of flawed recipes: each rule names the file, the
//! field and the problem; the check never writes; `--fix` rewrites only the metadata table,
//! into a form the check accepts, and a second fix changes nothing.

use std::path::Path;

use xtask_engine::lint::{Finding, fix, lint_workspace};

const ALPHA: &str = r#"[package]
name = "alpha"
version = "0.1.0"
edition = "2024"

# Facts: /work/shared/reference/upstream-catalog.toml, alpha.
[package.metadata.talos-extension]
tier = "extra"
category = "tools"
kind = "c-build"
author = "A"
description = "Alpha tool"
arches = ["amd64"]
version = { format = "upstream-talos", upstream = "1.0.0" }
license = "MIT"
purl = "pkg:github/x/alpha@2.0.0"
sources = [
  { url = "https://x.org/alpha-1.0.tar.gz", name = "alpha", sha256 = "abababababababababababababababababababababababababababababababab", sha512 = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd" },
]

[dependencies] # kept as it is
"#;

const BETA: &str = r#"[package]
name = "beta"
version = "0.1.0"
edition = "2024"

[package.metadata.talos-extension]
category = "drivers"
tier = "core"
kind = "kmod-in-tree"
author = "B"
description = "TODO: describe"
arches = ["amd64", "arm64"]
version = { format = "talos" }
license = "GPL-2.0-only"
sbom_exempt = "in-tree modules"

[package.metadata.talos-extension.modules]
amd64 = ["kernel/x.ko"]

[[package.metadata.talos-extension.sources]]
name = "alpha"
url = "https://x.org/alpha-1.0.tar.gz"
sha256 = "efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef"
sha512 = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"

[[package.metadata.talos-extension.sources]]
name = "beta"
url = "https://example.com/beta.tar.gz"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
sha512 = "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
"#;

const GAMMA: &str = r#"[package]
name = "gamma"
version = "0.1.0"
edition = "2024"

[package.metadata.talos-extension]
category = "storage"
tier = "contrib"
kind = "noop"
author = "C"
description = "Gamma placeholder"
arches = ["amd64"]
version = { format = "upstream", upstream = "1.0" }
"#;

/// A firmware recipe whose date is not the pinned linux-firmware release's.
const DELTA: &str = r#"[package]
name = "delta"
version = "0.1.0"
edition = "2024"

[package.metadata.talos-extension]
category = "firmware"
tier = "core"
kind = "firmware"
author = "D"
description = "Delta firmware"
arches = ["amd64"]
version = { format = "firmware", date = "20250410" }
license = "LicenseRef-linux-firmware"
purl = "pkg:generic/linux-firmware@20250410"
firmware = ["delta"]
"#;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The workspace: alpha (tools), beta (drivers, with a build script and a test), gamma (storage),
/// delta (firmware).
fn workspace() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        &root.join("toolchain/pin.toml"),
        &std::fs::read_to_string(xtask::workspace_root().join("toolchain/pin.toml")).unwrap(),
    );
    write(
        &root.join("toolchain/firmware.toml"),
        &std::fs::read_to_string(xtask::workspace_root().join("toolchain/firmware.toml")).unwrap(),
    );
    // A top-level directory of the repository, as `shared/` is.
    std::fs::create_dir_all(root.join("shared/build")).unwrap();
    write(&root.join("Cargo.toml"), "[workspace]\nresolver = \"3\"\nmembers = [\"extensions/*/*\"]\n");
    for (dir, manifest) in
        [("tools/alpha", ALPHA), ("drivers/beta", BETA), ("storage/gamma", GAMMA), ("firmware/delta", DELTA)]
    {
        let dir = root.join("extensions").join(dir);
        write(&dir.join("Cargo.toml"), manifest);
        write(&dir.join("src/lib.rs"), "//! A recipe.\n");
    }
    let beta = root.join("extensions/drivers/beta");
    write(&beta.join("build.rs"), "//! Checked against Debian (shared/env-notes.md 1).\nfn main() {}\n");
    write(
        &beta.join("tests/staged.rs"),
        "//! Tests.\n#[ignore = \"scaffold: fill in the pins\"]\n#[test]\nfn t() {}\n",
    );
    tmp
}

fn has(findings: &[Finding], file: &str, field: &str, message: &str) -> bool {
    findings.iter().any(|f| f.file == Path::new(file) && f.field == field && f.message.contains(message))
}

#[test]
fn every_rule_names_file_field_and_problem() {
    let ws = workspace();
    let root = ws.path();
    let before = std::fs::read_to_string(root.join("extensions/tools/alpha/Cargo.toml")).unwrap();
    let findings = lint_workspace(root).unwrap();
    let all: Vec<String> = findings.iter().map(|f| f.to_string()).collect();
    let all = all.join("\n");
    let (alpha, beta, gamma) = (
        "extensions/tools/alpha/Cargo.toml",
        "extensions/drivers/beta/Cargo.toml",
        "extensions/storage/gamma/Cargo.toml",
    );
    let t = "package.metadata.talos-extension";
    for (file, field, message) in [
        (
            alpha,
            format!("{t}.version.format"),
            "`upstream-talos` does not suit kind `c-build`: use `upstream` or `fixed`",
        ),
        (alpha, format!("{t}.purl"), "declares version `2.0.0`, but the upstream version is `1.0.0`"),
        (alpha, t.to_string(), "keys out of order: write them as `category`, `tier`, `kind`"),
        (alpha, format!("{t}.sources"), "write each source as a [[package.metadata.talos-extension.sources]] table"),
        (
            alpha,
            "line 6".into(),
            "comment names `/work/shared/reference/upstream-catalog.toml`, a path on a developer's machine",
        ),
        (beta, format!("{t}.description"), "placeholder `TODO`: fill in"),
        (beta, format!("{t}.modules.arm64"), "list them for arm64, or drop arm64 from `arches`"),
        (beta, format!("{t}.sources[1].url"), "placeholder URL `https://example.com/beta.tar.gz`"),
        (beta, format!("{t}.sources[1].sha256"), "placeholder pin"),
        (beta, format!("{t}.sources[1].sha512"), "placeholder pin"),
        (
            beta,
            format!("{t}.sources[0]"),
            "`https://x.org/alpha-1.0.tar.gz` is pinned with other sums in extensions/tools/alpha/Cargo.toml",
        ),
        (
            "extensions/drivers/beta/build.rs",
            "line 1".into(),
            "comment names `shared/env-notes.md`, which is not in the repository",
        ),
        ("extensions/drivers/beta/tests/staged.rs", "line 2".into(), "placeholder left by `cargo xtask new`"),
        (gamma, format!("{t}.version.format"), "`upstream` does not suit kind `noop`: use `fixed`"),
        (gamma, format!("{t}.license"), "missing: declare the SPDX license expression"),
        (gamma, format!("{t}.cpes, purl"), "declare at least one CPE 2.3 name or a purl"),
        (
            "extensions/firmware/delta/Cargo.toml",
            format!("{t}.version.date"),
            "`20250410` is not the pinned linux-firmware release `20260810` (toolchain/firmware.toml)",
        ),
    ] {
        assert!(has(&findings, file, &field, message), "no `{file}: {field}: {message}` in:\n{all}");
    }
    assert_eq!(findings.len(), 17, "{all}");
    // The check wrote nothing.
    assert_eq!(std::fs::read_to_string(root.join("extensions/tools/alpha/Cargo.toml")).unwrap(), before);
}

#[test]
fn fix_rewrites_only_the_table_and_is_idempotent() {
    let ws = workspace();
    let root = ws.path();
    let recipes = xtask::catalog::declared(root).unwrap();
    let alpha = root.join("extensions/tools/alpha/Cargo.toml");
    assert_eq!(fix(&recipes).unwrap(), std::slice::from_ref(&alpha));
    let fixed = std::fs::read_to_string(&alpha).unwrap();
    assert!(fixed.starts_with(&ALPHA[..ALPHA.find("tier =").unwrap()]), "{fixed}");
    assert!(fixed.ends_with("\n[dependencies] # kept as it is\n"), "{fixed}");
    assert!(
        fixed.contains("purl = \"pkg:github/x/alpha@2.0.0\"\n\n[[package.metadata.talos-extension.sources]]\nname = \"alpha\"\nurl = "),
        "{fixed}"
    );
    let findings = lint_workspace(root).unwrap();
    let style: Vec<String> = findings.iter().filter(|f| f.message.contains("--fix")).map(|f| f.to_string()).collect();
    assert!(style.is_empty(), "{style:?}");
    assert!(fix(&xtask::catalog::declared(root).unwrap()).unwrap().is_empty(), "a second fix changed something");
}
