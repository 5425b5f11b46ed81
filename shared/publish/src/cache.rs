//! The registry as a content-addressed build cache: the **input hash** of an extension image, the
//! one definition of what keys it, and the tag it is cached under.
//!
//! An image's input hash is the sha256 of a small text (its "key text", [`InputGraph::key_text`])
//! listing, one line each, in this order:
//! - the scheme version ([`INPUT_HASH_SCHEME`]), the extension's name, the arches it is built
//!   for, the layer compression and the `--toolchain` override (`-` for none);
//! - `shared <digest>`: the digest of the workspace's shared inputs ([`SHARED_INPUTS`]: the root
//!   `Cargo.toml` and `Cargo.lock`, the sources of the `shared/` crates without their `tests/` and
//!   `benches/`, `toolchain/`, `ci/setup.sh` and the packer's annotations in
//!   `xtask/engine/src/pack.rs`), the same for every recipe of a checkout;
//! - `file <path> <mode> <sha256>` for every file of the recipe crate's
//!   [`RECIPE_INPUTS`](talos_ext_model::handoff::RECIPE_INPUTS) (`Cargo.toml` with its pins,
//!   `build.rs`, `native/`, `files/`, `patches/`), relative to the crate, sorted (`link <path>
//!   <target>` for a symlink; mode is `x` for an executable file, `-` otherwise);
//! - `library <name> <input hash>` for every internal library stage it depends on directly
//!   (cargo metadata's dependencies), each hashed the same way for the same arches, so a change
//!   anywhere below reaches every image above.
//!
//! Everything is walked in sorted order and named by relative paths, so the hash is the same in
//! every checkout of the same inputs (`git clone` anywhere, with or without `target/`). It does
//! not include the commit or `SOURCE_DATE_EPOCH`: an unchanged recipe hits the cache across
//! commits, and the image pulled carries the revision and timestamps of the build that pushed it.
//!
//! [`ANNOTATION_INPUT_HASH`] records the hash in every built image (index and manifests);
//! [`cache_tag`] is the tag the cache uses (`<prefix>/<name>:cache-<hex>`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use talos_ext_model::handoff::RECIPE_INPUTS;
use talos_ext_model::{Arch, Digest};

use crate::error::PublishError;

/// The annotation holding an image's input hash (`sha256:<hex>`), on the index and every manifest.
pub const ANNOTATION_INPUT_HASH: &str = "dev.talos-ext.input-hash";

/// The first line of every key text: a change of what is hashed changes this, so old cache entries
/// are never taken for new ones.
pub const INPUT_HASH_SCHEME: &str = "talos-ext input hash v1";

/// What every recipe of the workspace is built with, relative to the workspace root (files or
/// directories; a missing one is hashed as missing). The shared crates are keyed by their
/// sources rather than by crate versions: they are path crates whose version never changes, and
/// `Cargo.lock` pins every crate they use.
pub const SHARED_INPUTS: &[&str] =
    &["Cargo.toml", "Cargo.lock", "shared", "toolchain", "ci/setup.sh", "xtask/engine/src/pack.rs"];

/// Directories of a shared crate that are not built into what recipes run: `shared/<crate>/<dir>`.
const SHARED_SKIPPED: &[&str] = &["tests", "benches"];

/// How an image is built, besides its recipe: the parts of the key text that come from the
/// command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildKey {
    /// The arches the image holds (those requested that the recipe supports).
    pub arches: Vec<Arch>,
    /// The layer compression (`gzip`, `zstd`).
    pub compression: String,
    /// The kernel toolchain given with `--toolchain`, if any.
    pub toolchain: Option<String>,
}

/// One recipe crate of the graph.
#[derive(Debug, Clone)]
pub struct RecipeNode {
    /// The crate directory.
    pub dir: PathBuf,
    /// The internal libraries it depends on directly.
    pub uses: Vec<String>,
}

/// The recipes of a workspace and the digest of its shared inputs, ready to hash any of them.
#[derive(Debug, Clone)]
pub struct InputGraph {
    shared: Digest,
    recipes: BTreeMap<String, RecipeNode>,
}

impl InputGraph {
    /// Reads the shared inputs under `root` ([`shared_digest`]) for the recipes given by name.
    pub fn new(root: &Path, recipes: BTreeMap<String, RecipeNode>) -> Result<InputGraph, PublishError> {
        Ok(InputGraph { shared: shared_digest(root)?, recipes })
    }

    /// The digest of the shared inputs.
    pub fn shared(&self) -> &Digest {
        &self.shared
    }

    /// The input hash of recipe `name` built as `key`.
    pub fn input_hash(&self, name: &str, key: &BuildKey) -> Result<Digest, PublishError> {
        Ok(Digest::of(self.key_text(name, key)?.as_bytes()))
    }

    /// The text whose sha256 is the input hash (see the module docs), for `--verbose` and tests.
    pub fn key_text(&self, name: &str, key: &BuildKey) -> Result<String, PublishError> {
        self.key_text_inner(name, key, &mut Vec::new())
    }

    fn key_text_inner(&self, name: &str, key: &BuildKey, path: &mut Vec<String>) -> Result<String, PublishError> {
        if path.iter().any(|p| p == name) {
            path.push(name.to_string());
            return Err(PublishError::InputCycle { cycle: path.join(" -> ") });
        }
        let node = self.recipes.get(name).ok_or_else(|| PublishError::UnknownRecipe { name: name.to_string() })?;
        let arches: Vec<&str> = key.arches.iter().map(|a| a.as_str()).collect();
        let mut text = String::new();
        let _ = writeln!(text, "{INPUT_HASH_SCHEME}");
        let _ = writeln!(text, "name {name}");
        let _ = writeln!(text, "arches {}", arches.join(","));
        let _ = writeln!(text, "compression {}", key.compression);
        let _ = writeln!(text, "toolchain {}", key.toolchain.as_deref().unwrap_or("-"));
        let _ = writeln!(text, "shared {}", self.shared);
        let mut lines = Vec::new();
        for input in RECIPE_INPUTS {
            walk(&node.dir, Path::new(input), &|_: &Path| false, &mut lines)?;
        }
        for line in lines {
            let _ = writeln!(text, "{line}");
        }
        let mut uses = node.uses.clone();
        uses.sort();
        uses.dedup();
        path.push(name.to_string());
        for lib in &uses {
            let lib_text = self.key_text_inner(lib, key, path)?;
            let _ = writeln!(text, "library {lib} {}", Digest::of(lib_text.as_bytes()));
        }
        path.pop();
        Ok(text)
    }
}

/// The digest of the workspace's [`SHARED_INPUTS`] under `root`: the sha256 of their `file`/`link`
/// lines (as in the key text), sorted.
pub fn shared_digest(root: &Path) -> Result<Digest, PublishError> {
    let mut lines = Vec::new();
    let skip = |rel: &Path| {
        let parts: Vec<_> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        // shared/<crate>/tests, shared/<crate>/benches
        parts.len() == 3 && parts[0] == "shared" && SHARED_SKIPPED.contains(&parts[2].as_str())
    };
    for input in SHARED_INPUTS {
        walk(root, Path::new(input), &skip, &mut lines)?;
    }
    Ok(Digest::of(lines.join("\n").as_bytes()))
}

/// The tag an image with this input hash is cached under: `cache-<64 hex digits>`.
pub fn cache_tag(input_hash: &Digest) -> String {
    format!("cache-{}", input_hash.hex().as_str())
}

/// Appends the lines of `rel` (a file, symlink or directory under `base`, walked in sorted order)
/// to `lines`; `missing <rel>` when it does not exist. `skip` leaves out directories.
fn walk(base: &Path, rel: &Path, skip: &dyn Fn(&Path) -> bool, lines: &mut Vec<String>) -> Result<(), PublishError> {
    let path = base.join(rel);
    let shown = rel.to_string_lossy();
    let meta = match fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A recipe without `patches/` and one whose `patches/` is empty hash alike.
            return Ok(());
        }
        Err(e) => return Err(PublishError::io("read", &path)(e)),
    };
    if meta.file_type().is_symlink() {
        let target = fs::read_link(&path).map_err(PublishError::io("read the link", &path))?;
        lines.push(format!("link {shown} {}", target.to_string_lossy()));
    } else if meta.is_dir() {
        if skip(rel) {
            return Ok(());
        }
        let mut names: Vec<_> = fs::read_dir(&path)
            .map_err(PublishError::io("list", &path))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(PublishError::io("list", &path))?;
        names.sort();
        for name in names {
            walk(base, &rel.join(name), skip, lines)?;
        }
    } else {
        let bytes = fs::read(&path).map_err(PublishError::io("read", &path))?;
        let mode = if meta.permissions().mode() & 0o111 != 0 { "x" } else { "-" };
        lines.push(format!("file {shown} {mode} {}", Digest::of(&bytes).hex().as_str()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    /// A workspace with shared inputs, an extension `ext` using library `lib`.
    fn workspace() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(&root.join("Cargo.toml"), "[workspace]\n");
        write(&root.join("Cargo.lock"), "# lock\n");
        write(&root.join("shared/model/src/lib.rs"), "// model\n");
        write(&root.join("shared/model/tests/t.rs"), "// a test\n");
        write(&root.join("toolchain/pin.toml"), "[talos]\n");
        write(&root.join("ext/Cargo.toml"), "[package]\nname = \"ext\"\n");
        write(&root.join("ext/build.rs"), "fn main() {}\n");
        write(&root.join("ext/files/a.yaml"), "a: 1\n");
        write(&root.join("ext/src/lib.rs"), "// not an input\n");
        write(&root.join("lib/Cargo.toml"), "[package]\nname = \"lib\"\n");
        write(&root.join("lib/build.rs"), "fn main() {}\n");
        dir
    }

    fn graph(root: &Path) -> InputGraph {
        let recipes = BTreeMap::from([
            ("ext".to_string(), RecipeNode { dir: root.join("ext"), uses: vec!["lib".into()] }),
            ("lib".to_string(), RecipeNode { dir: root.join("lib"), uses: vec![] }),
        ]);
        InputGraph::new(root, recipes).unwrap()
    }

    fn key() -> BuildKey {
        BuildKey { arches: vec![Arch::Amd64, Arch::Arm64], compression: "gzip".into(), toolchain: None }
    }

    #[test]
    fn same_inputs_same_hash_anywhere() {
        let (a, b) = (workspace(), workspace());
        let ha = graph(a.path()).input_hash("ext", &key()).unwrap();
        assert_eq!(ha, graph(b.path()).input_hash("ext", &key()).unwrap());
        let text = graph(a.path()).key_text("ext", &key()).unwrap();
        assert!(text.starts_with(&format!("{INPUT_HASH_SCHEME}\nname ext\narches amd64,arm64\n")), "{text}");
        assert!(text.contains("\nfile files/a.yaml - "), "{text}");
        assert!(!text.contains("src/lib.rs"), "src/ is not an input: {text}");
        assert!(text.contains("\nlibrary lib sha256:"), "{text}");
        assert_eq!(cache_tag(&ha), format!("cache-{}", ha.hex().as_str()));
    }

    #[test]
    fn every_input_changes_the_hash() {
        let dir = workspace();
        let root = dir.path();
        let base = graph(root).input_hash("ext", &key()).unwrap();
        // Not inputs: the crate's src/, the shared crates' tests.
        write(&root.join("ext/src/lib.rs"), "// edited\n");
        write(&root.join("shared/model/tests/t.rs"), "// edited\n");
        assert_eq!(graph(root).input_hash("ext", &key()).unwrap(), base);

        let mut seen = vec![base.clone()];
        let mut changed = |what: &str, h: Digest| {
            assert!(!seen.contains(&h), "{what} did not change the hash");
            seen.push(h);
        };
        for key in [
            BuildKey { arches: vec![Arch::Amd64], ..key() },
            BuildKey { compression: "zstd".into(), ..key() },
            BuildKey { toolchain: Some("debian-6.12".into()), ..key() },
        ] {
            changed(&format!("{key:?}"), graph(root).input_hash("ext", &key).unwrap());
        }
        for (file, text) in [
            ("ext/files/a.yaml", "a: 2\n"),
            ("ext/patches/0001.patch", "--- a\n"),
            ("lib/build.rs", "fn main() { }\n"),
            ("shared/model/src/lib.rs", "// model 2\n"),
            ("Cargo.lock", "# lock 2\n"),
            ("toolchain/pin.toml", "[talos]\ntag = 1\n"),
        ] {
            write(&root.join(file), text);
            changed(file, graph(root).input_hash("ext", &key()).unwrap());
        }
        let build = root.join("ext/build.rs");
        fs::set_permissions(&build, fs::Permissions::from_mode(0o755)).unwrap();
        changed("the mode of build.rs", graph(root).input_hash("ext", &key()).unwrap());
    }

    #[test]
    fn unknown_recipes_and_cycles_are_errors() {
        let dir = workspace();
        let root = dir.path();
        let err = graph(root).input_hash("nope", &key()).unwrap_err();
        assert!(err.to_string().contains("`nope`"), "{err}");
        let recipes = BTreeMap::from([
            ("a".to_string(), RecipeNode { dir: root.join("ext"), uses: vec!["b".into()] }),
            ("b".to_string(), RecipeNode { dir: root.join("lib"), uses: vec!["a".into()] }),
        ]);
        let err = InputGraph::new(root, recipes).unwrap().input_hash("a", &key()).unwrap_err();
        assert!(err.to_string().contains("a -> b -> a"), "{err}");
    }
}
