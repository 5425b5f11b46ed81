//! Shared fixtures for the integration tests: the real `sign-file` (found or fetched), test modules
//! compiled with gcc, and RSA keys made once per test run with `openssl req` and with
//! [`SigningKey::generate`].
//!
//! Everything lands under cargo's `CARGO_TARGET_TMPDIR` (per-run files, overwritten next run),
//! except the fetched `sign-file`, which is cached under `<workspace>/target/talos-ext-test/kbuild`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use talos_ext_kmod::{SigningKey, Subject};
use talos_ext_process::{Command, Output};

/// Env var naming an explicit `sign-file` binary.
pub const SIGN_FILE_ENV: &str = "TALOS_EXT_SIGN_FILE";

pub const CN: &str = "Build time throw-away kernel key";
pub const ORG: &str = "Sidero Labs, Inc.";

pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A scratch directory for this test binary, shared by all tests in it.
pub fn scratch(sub: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("talos-ext-kmod").join(sub);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Run a command; panic with its command line and the last lines of its stderr when it fails.
#[track_caller]
pub fn run(cmd: Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("{e}"))
}

/// The kernel's `sign-file`: `$TALOS_EXT_SIGN_FILE`, else an installed `linux-kbuild-*`, else the
/// cached download, else downloaded now ([`fetch_kbuild`]).
pub fn sign_file() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(p) = std::env::var_os(SIGN_FILE_ENV) {
            return PathBuf::from(p);
        }
        let cache = workspace_root().join("target/talos-ext-test/kbuild");
        let globbed = |dir: &Path| -> Option<PathBuf> {
            let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
                .ok()?
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("linux-kbuild-"))
                .map(|e| e.path().join("scripts/sign-file"))
                .filter(|p| p.is_file())
                .collect();
            found.sort();
            found.pop()
        };
        if let Some(p) = globbed(Path::new("/usr/lib")).or_else(|| globbed(&cache.join("root/usr/lib"))) {
            return p;
        }
        fetch_kbuild(&cache);
        globbed(&cache.join("root/usr/lib")).expect("scripts/sign-file in the linux-kbuild package")
    })
}

/// Extracts the newest `linux-kbuild-6.12*` (amd64) of Debian bookworm(-security) into
/// `<cache>/root`, with talos-ext-debian (the kernel toolchain's suites, so its indexes are shared).
fn fetch_kbuild(cache: &Path) {
    use talos_ext_debian::{PackageSpec, Repo, compare_versions, extract_debs};
    let debian = talos_ext_debian::workspace_cache(&workspace_root());
    let repo = Repo::binaries(&debian, &["bookworm", "bookworm-security"], &["main"], &["amd64", "arm64"]);
    let prefix = "linux-kbuild-6.12";
    let names = repo.binary_names(prefix, "amd64").unwrap_or_else(|e| panic!("{e}"));
    let newest = names
        .iter()
        .max_by(|a, b| compare_versions(&a[prefix.len()..], &b[prefix.len()..]))
        .unwrap_or_else(|| panic!("no {prefix}* package in {}", repo.describe()));
    let spec = PackageSpec::parse(&format!("{newest}:amd64")).unwrap();
    let (_, deb) = repo.fetch_binary(&spec, &debian.join("pool")).unwrap_or_else(|e| panic!("{e}"));
    let tmp = cache.join(format!("root.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    extract_debs(&[deb], &tmp).unwrap_or_else(|e| panic!("{e}"));
    // Another test binary may have won the race; its copy is as good.
    if std::fs::rename(&tmp, cache.join("root")).is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
}

/// Which architecture a test module is compiled for.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    X86_64,
    Aarch64,
}

/// `tests/data/hello.c` compiled for `target` (cached per run).
pub fn module(target: Target) -> &'static [u8] {
    static X86: OnceLock<Vec<u8>> = OnceLock::new();
    static ARM: OnceLock<Vec<u8>> = OnceLock::new();
    let (cell, gcc, name) = match target {
        Target::X86_64 => (&X86, "gcc", "hello-x86_64.ko"),
        Target::Aarch64 => (&ARM, "aarch64-linux-gnu-gcc", "hello-aarch64.ko"),
    };
    cell.get_or_init(|| {
        let out = scratch("modules").join(name);
        run(Command::new(gcc).args(["-O2", "-c"]).arg(data("hello.c")).arg("-o").arg(&out));
        std::fs::read(&out).expect("read compiled module")
    })
}

/// Key files on disk plus the loaded key.
pub struct KeyFiles {
    pub key: PathBuf,
    pub cert: PathBuf,
    pub signing_key: SigningKey,
}

/// How a test key was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource {
    Openssl,
    Ours,
}

pub const X509_GENKEY: &str = "[ req ]
default_bits = BITS
distinguished_name = req_distinguished_name
prompt = no
string_mask = utf8only
x509_extensions = myexts

[ req_distinguished_name ]
O = Sidero Labs, Inc.
CN = Build time throw-away kernel key

[ myexts ]
basicConstraints=critical,CA:FALSE
keyUsage=digitalSignature
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
";

/// A key made once per run: with the kernel's `openssl req` recipe, or with our generator.
pub fn key(source: KeySource, bits: usize) -> &'static KeyFiles {
    static KEYS: [OnceLock<KeyFiles>; 4] = [OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let slot = match (source, bits) {
        (KeySource::Openssl, 2048) => 0,
        (KeySource::Openssl, 4096) => 1,
        (KeySource::Ours, 2048) => 2,
        (KeySource::Ours, 4096) => 3,
        other => panic!("no test key {other:?}"),
    };
    KEYS[slot].get_or_init(|| {
        let dir = scratch(&format!("keys/{source:?}-{bits}"));
        let (key, cert) = (dir.join("signing_key.pem"), dir.join("signing_key.x509.pem"));
        match source {
            KeySource::Openssl => {
                let genkey = dir.join("x509.genkey");
                std::fs::write(&genkey, X509_GENKEY.replace("BITS", &bits.to_string())).expect("write x509.genkey");
                run(Command::new("openssl")
                    .args(["req", "-new", "-nodes", "-utf8", "-sha512", "-days", "36500", "-batch", "-x509"])
                    .arg("-config")
                    .arg(&genkey)
                    .args(["-outform", "PEM", "-out"])
                    .arg(&cert)
                    .arg("-keyout")
                    .arg(&key));
            }
            KeySource::Ours => {
                let subject = Subject { common_name: CN.to_owned(), organization: Some(ORG.to_owned()) };
                let generated = SigningKey::generate(bits, &subject).expect("generate key");
                generated.write_pem(&key, &cert).expect("write key");
            }
        }
        let signing_key = SigningKey::load(&key, &cert).expect("load key");
        KeyFiles { key, cert, signing_key }
    })
}

/// Sign `module` with the real `sign-file` and return the signed bytes.
pub fn sign_with_sign_file(hash: &str, keys: &KeyFiles, module: &[u8], name: &str) -> Vec<u8> {
    let path = scratch("sign-file").join(name);
    std::fs::write(&path, module).expect("write module");
    run(Command::new(sign_file()).arg(hash).arg(&keys.key).arg(&keys.cert).arg(&path));
    std::fs::read(&path).expect("read signed module")
}
