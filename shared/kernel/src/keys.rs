//! Module signing keys per toolchain, and `toolchain/keys.lock`.
//!
//! A key comes from the environment ([`ENV_MODULE_KEY`] + [`ENV_MODULE_CERT`], both or neither)
//! or from the toolchain cache, `<cache>/kernel/keys/<toolchain>/` (directory `0700`, key `0600`),
//! where it is generated once (RSA 4096, like the kernel's `certs/x509.genkey`). The key stays
//! there: it is never copied into a staged tree, a log or the source cache, and only its
//! certificate's sha256 fingerprint is printed.
//!
//! The lock maps each toolchain to that fingerprint. A build whose key has another fingerprint
//! fails ([`KernelError::KeyMismatch`]): a kernel built to trust the locked key would reject its
//! modules. A toolchain without an entry builds (with a note) until [`rekey`] records one; only
//! [`rekey`] (`cargo xtask toolchain rekey`) writes the lock. Build scripts never do.

use std::fmt;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use talos_ext_kmod::{SigningKey, Subject};
use talos_ext_model::KeysLock;

use crate::error::KernelError;

/// Path of a PEM private key to sign modules with, instead of the cached one.
pub const ENV_MODULE_KEY: &str = "TALOS_EXT_MODULE_KEY";
/// Path of the certificate (PEM or DER) belonging to [`ENV_MODULE_KEY`].
pub const ENV_MODULE_CERT: &str = "TALOS_EXT_MODULE_CERT";

/// Bits of generated keys (the kernel template's size).
pub const KEY_BITS: usize = 4096;

/// File names in a toolchain's key directory.
const KEY_FILE: &str = "signing_key.pem";
const CERT_FILE: &str = "signing_key.x509";

/// A key and certificate given by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFiles {
    pub key: PathBuf,
    pub cert: PathBuf,
}

impl KeyFiles {
    /// [`ENV_MODULE_KEY`] and [`ENV_MODULE_CERT`]: both set, or neither.
    pub fn from_env() -> Result<Option<KeyFiles>, KernelError> {
        Self::from_vars(|n| std::env::var_os(n).filter(|v| !v.is_empty()).map(PathBuf::from))
    }

    /// Like [`KeyFiles::from_env`], reading through `lookup`.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<PathBuf>) -> Result<Option<KeyFiles>, KernelError> {
        match (lookup(ENV_MODULE_KEY), lookup(ENV_MODULE_CERT)) {
            (Some(key), Some(cert)) => Ok(Some(KeyFiles { key, cert })),
            (None, None) => Ok(None),
            (key, _) => Err(KernelError::Key {
                toolchain: "*".into(),
                message: format!(
                    "{} is set but {} is not: give both the key and its certificate",
                    if key.is_some() { ENV_MODULE_KEY } else { ENV_MODULE_CERT },
                    if key.is_some() { ENV_MODULE_CERT } else { ENV_MODULE_KEY },
                ),
            }),
        }
    }
}

/// Where a key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// [`ENV_MODULE_KEY`] / [`ENV_MODULE_CERT`].
    Provided(KeyFiles),
    /// The toolchain cache, generated earlier.
    Cached(PathBuf),
    /// The toolchain cache, generated just now.
    Generated(PathBuf),
}

impl fmt::Display for KeyOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyOrigin::Provided(k) => write!(f, "{ENV_MODULE_KEY}={}", k.key.display()),
            KeyOrigin::Cached(d) => write!(f, "cached in {}", d.display()),
            KeyOrigin::Generated(d) => write!(f, "generated just now in {}", d.display()),
        }
    }
}

/// The key a toolchain's modules are signed with.
#[derive(Debug)]
pub struct ModuleKey {
    pub toolchain: String,
    pub key: SigningKey,
    /// sha256 of the DER certificate, lower-case hex.
    pub fingerprint: String,
    pub origin: KeyOrigin,
    /// The fingerprint in the lock, if it has one for this toolchain.
    pub locked: Option<String>,
}

/// `<kernel cache>/keys/<toolchain>`.
pub fn keys_dir(kernel_dir: &Path, toolchain: &str) -> PathBuf {
    kernel_dir.join("keys").join(toolchain)
}

/// The key to sign `toolchain`'s modules with, checked against the lock at `lock_path`.
pub fn module_key(
    toolchain: &str,
    provided: Option<&KeyFiles>,
    keys_dir: &Path,
    lock_path: &Path,
) -> Result<ModuleKey, KernelError> {
    let (key, origin) = load_or_generate(toolchain, provided, keys_dir, false)?;
    let fingerprint = key.cert_fingerprint();
    let locked = KeysLock::load(lock_path)?.keys.get(toolchain).cloned();
    if let Some(want) = &locked
        && *want != fingerprint
    {
        return Err(KernelError::KeyMismatch {
            toolchain: toolchain.to_string(),
            lock: lock_path.to_path_buf(),
            locked: want.clone(),
            actual: fingerprint,
            origin: origin.to_string(),
        });
    }
    Ok(ModuleKey { toolchain: toolchain.to_string(), key, fingerprint, origin, locked })
}

/// Records the fingerprint of the key builds will use in the lock: the provided key if any,
/// else the cached one (generated if missing; replaced by a new one when `new_key`).
pub fn rekey(
    toolchain: &str,
    provided: Option<&KeyFiles>,
    keys_dir: &Path,
    lock_path: &Path,
    new_key: bool,
) -> Result<ModuleKey, KernelError> {
    let (key, origin) = load_or_generate(toolchain, provided, keys_dir, new_key)?;
    let fingerprint = key.cert_fingerprint();
    let mut lock = KeysLock::load(lock_path)?;
    lock.keys.insert(toolchain.to_string(), fingerprint.clone());
    let dir = lock_path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(KernelError::io("create directory", dir))?;
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(KernelError::io("create a temp file in", dir))?;
    fs::write(tmp.path(), lock.to_toml()).map_err(KernelError::io("write", tmp.path()))?;
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o644)).map_err(KernelError::io("chmod", tmp.path()))?;
    tmp.persist(lock_path).map_err(|e| KernelError::io("write", lock_path)(e.error))?;
    Ok(ModuleKey {
        toolchain: toolchain.to_string(),
        key,
        fingerprint: fingerprint.clone(),
        origin,
        locked: Some(fingerprint),
    })
}

fn load_or_generate(
    toolchain: &str,
    provided: Option<&KeyFiles>,
    dir: &Path,
    new_key: bool,
) -> Result<(SigningKey, KeyOrigin), KernelError> {
    let key_err = |message: String| KernelError::Key { toolchain: toolchain.to_string(), message };
    if let Some(files) = provided {
        let key = SigningKey::load(&files.key, &files.cert).map_err(|e| key_err(e.to_string()))?;
        return Ok((key, KeyOrigin::Provided(files.clone())));
    }
    fs::create_dir_all(dir).map_err(KernelError::io("create directory", dir))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(KernelError::io("chmod 700", dir))?;
    let _lock = talos_ext_fs::lock_file(&dir.join(".lock"))?;
    let (key_path, cert_path) = (dir.join(KEY_FILE), dir.join(CERT_FILE));
    if !new_key && key_path.is_file() && cert_path.is_file() {
        let key = SigningKey::load(&key_path, &cert_path)
            .map_err(|e| key_err(format!("{e} (remove {} to generate a new key)", dir.display())))?;
        return Ok((key, KeyOrigin::Cached(dir.to_path_buf())));
    }
    let subject = Subject {
        common_name: format!("talos-ext module signing key ({toolchain})"),
        organization: Some("Talos extensions in Rust".into()),
    };
    let key = SigningKey::generate(KEY_BITS, &subject).map_err(|e| key_err(e.to_string()))?;
    key.write_pem(&key_path, &cert_path).map_err(|e| key_err(e.to_string()))?;
    Ok((key, KeyOrigin::Generated(dir.to_path_buf())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_pair_must_be_complete() {
        let none = KeyFiles::from_vars(|_| None).unwrap();
        assert_eq!(none, None);
        let e = KeyFiles::from_vars(|n| (n == ENV_MODULE_KEY).then(|| PathBuf::from("/k"))).unwrap_err();
        assert!(e.to_string().contains(ENV_MODULE_CERT), "{e}");
    }
}
