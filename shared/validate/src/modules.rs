//! Kernel-module checks (strict mode): what stock Talos would otherwise only reveal at boot, when
//! the kernel refuses a module or the imager never copies it.
//!
//! For every `*.ko` under `rootfs/usr/lib/modules/` ([`is_module_path`]):
//!
//! - it carries a well-formed appended signature ([`Rule::ModuleUnsigned`] when there is none,
//!   [`Rule::ModuleSignature`] when it is truncated or malformed: bad trailer, `id_type` other than
//!   2, impossible `sig_len`, CMS that does not decode);
//! - its vermagic release (the first word of `vermagic=`) is the expected kernel release
//!   ([`Rule::ModuleVermagic`]);
//! - it sits in `usr/lib/modules/<release>/`, the only directory Talos' imager copies
//!   (contract 3.4, 4.4; [`Rule::ModuleDirectory`]);
//! - its signer (the certificate serial, modinfo's `sig_key`) is the expected one, when one is
//!   known ([`Rule::ModuleSigner`]);
//! - its ELF machine is the image's arch, when known ([`Rule::ModuleArch`]);
//! - its vermagic flags (`SMP preempt mod_unload modversions `) are the kernel's, when known
//!   ([`Rule::ModuleVermagic`]);
//! - with modversions (the kernel's flags, or else the module's own), it has a `__versions`
//!   section ([`Rule::ModuleVersions`]), and each CRC there equals the kernel's Module.symvers,
//!   when known ([`Rule::ModuleCrc`]), naming module and symbol.
//!
//! `*.ko.xz`, `*.ko.zst` and `*.ko.gz` are [`Rule::ModuleCompressed`]: Talos kernels are built
//! without `CONFIG_MODULE_COMPRESS` (contract 6.1). With a [`KernelExpectation`], every directory
//! `usr/lib/modules/<dir>` other than the release is a [`Rule::ModuleDirectory`] finding too.
//!
//! Without a [`KernelExpectation`] the expected release is unknown, so the checks fall back to
//! what the tree itself implies: signatures must be well-formed, all modules must share one
//! release directory, and each module's vermagic release must name the directory it is in.
//!
//! Only the signature's structure is checked, never the RSA signature itself (that needs the
//! kernel's keyring).

use std::borrow::Cow;
use std::collections::BTreeSet;

use talos_ext_kmod::symvers::Symvers;
use talos_ext_kmod::{ElfMachine, KeyId, ModuleSignature, SigError, elf_machine, modinfo, modversions};
use talos_ext_model::Arch;
use x509_cert::Certificate;
use x509_cert::der::{Decode, DecodePem};

use crate::go_quote;
use crate::report::Rule;
use crate::rules::{Findings, display_path};
use crate::tree::{Entry, EntryKind, Tree};

/// The tree path of the modules directory.
pub const MODULES_DIR: &str = "rootfs/usr/lib/modules";

/// File name suffixes of compressed modules, which Talos kernels cannot load.
pub const COMPRESSED_SUFFIXES: &[&str] = &[".ko.xz", ".ko.zst", ".ko.gz"];

/// The kernel an extension's modules are built for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelExpectation {
    /// The kernel release (`uname -r`), e.g. `6.18.45-talos`: the first word of every module's
    /// vermagic and the one directory under `/usr/lib/modules` that Talos copies.
    pub release: String,
    /// The key id modules must be signed with, as modinfo prints `sig_key` (the signing
    /// certificate's serial, `46:96:3C:...`; case, separators and leading zero bytes are ignored).
    /// See [`certificate_key_id`]. `None` skips the check.
    pub signer_key_id: Option<String>,
    /// The image's arch: every module's ELF machine must be this one. `None` skips the check.
    pub arch: Option<Arch>,
    /// What follows the release in the kernel's vermagic (`SMP preempt mod_unload modversions `
    /// for Talos amd64; see `talos_ext_kernel::vermagic_flags`). `None` skips the check.
    pub vermagic_flags: Option<String>,
    /// The kernel's exports (its Module.symvers, recovered or built): every CRC in a module's
    /// `__versions` must equal the kernel's for symbols the kernel exports. `None` skips it.
    pub symvers: Option<std::sync::Arc<Symvers>>,
}

/// A certificate whose key id could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// PEM text without a `CERTIFICATE` block.
    #[error("no pem `CERTIFICATE` block found")]
    NoCertificate,
    /// The certificate does not decode.
    #[error("invalid x.509 certificate: {reason}")]
    Invalid {
        /// The decoder's message.
        reason: String,
    },
}

/// The key id modules signed with this certificate show as modinfo's `sig_key`: its serial
/// number, `46:96:3C:...`. Takes a DER certificate or PEM text holding a `CERTIFICATE` block (the
/// first one; other blocks, such as kbuild's private key in `signing_key.pem`, are skipped).
pub fn certificate_key_id(cert: &[u8]) -> Result<String, CertificateError> {
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let invalid = |e: x509_cert::der::Error| CertificateError::Invalid { reason: e.to_string() };
    let cert = if let Some(start) = find(cert, BEGIN) {
        let end = find(&cert[start..], END).ok_or(CertificateError::NoCertificate)? + start + END.len();
        Certificate::from_pem(&cert[start..end]).map_err(invalid)?
    } else if find(cert, b"-----BEGIN ").is_some() {
        return Err(CertificateError::NoCertificate);
    } else {
        Certificate::from_der(cert).map_err(invalid)?
    };
    Ok(KeyId::new(cert.tbs_certificate.serial_number.as_bytes()).to_string())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Whether a tree path is a plain module the checks read: a `*.ko` below `rootfs/usr/lib/modules/`.
/// Pass it to [`Tree::from_dir_with`] or [`Tree::from_tar_with`] to keep the bytes the checks need.
pub fn is_module_path(path: &str) -> bool {
    module_rest(path).is_some_and(|rest| rest.ends_with(".ko"))
}

/// The path below `rootfs/usr/lib/modules/`.
fn module_rest(path: &str) -> Option<&str> {
    path.strip_prefix(MODULES_DIR).and_then(|rest| rest.strip_prefix('/')).filter(|rest| !rest.is_empty())
}

fn is_compressed(name: &str) -> bool {
    COMPRESSED_SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// Runs the module checks. `read` returns a module's bytes: the tree's kept contents, or the file
/// read now; `Ok(None)` when they are not available.
pub(crate) fn check<E>(
    tree: &Tree,
    kernel: Option<&KernelExpectation>,
    mut read: impl for<'e> FnMut(&'e Entry) -> Result<Option<Cow<'e, [u8]>>, E>,
    out: &mut Findings,
) -> Result<(), E> {
    let under: Vec<(&Entry, &str)> =
        tree.entries().iter().filter_map(|e| module_rest(&e.path).map(|rest| (e, rest))).collect();

    if let Some(kernel) = kernel {
        for (entry, name) in under.iter().filter(|(e, rest)| e.kind == EntryKind::Dir && !rest.contains('/')) {
            if *name != kernel.release {
                let path = display_path(&entry.path);
                out.push(
                    &path,
                    Rule::ModuleDirectory,
                    format!(
                        "module directory {} is not the kernel release {}: Talos copies only /usr/lib/modules/{}, so nothing in it is loaded",
                        go_quote(&path),
                        go_quote(&kernel.release),
                        kernel.release
                    ),
                );
            }
        }
    }

    let modules: Vec<(&Entry, &str)> = under
        .into_iter()
        .filter(|(e, rest)| e.kind != EntryKind::Dir && (rest.ends_with(".ko") || is_compressed(rest)))
        .collect();
    let release_dirs: BTreeSet<&str> =
        modules.iter().filter_map(|(_, rest)| rest.split_once('/').map(|(dir, _)| dir)).collect();

    for (entry, rest) in modules {
        let path = display_path(&entry.path);
        let dir = rest.split_once('/').map(|(dir, _)| dir);
        check_directory(&path, dir, kernel, &release_dirs, out);
        if is_compressed(rest) {
            out.push(
                &path,
                Rule::ModuleCompressed,
                format!(
                    "module {} is compressed: Talos kernels are built without CONFIG_MODULE_COMPRESS and load only plain .ko files",
                    go_quote(&path)
                ),
            );
            continue;
        }
        // Symlinks and tar hardlinks have no bytes of their own; other rules cover them.
        if entry.kind != EntryKind::File {
            continue;
        }
        match read(entry)? {
            Some(bytes) => check_bytes(&path, &bytes, dir, kernel, out),
            None => out.push(
                &path,
                Rule::ModuleSignature,
                format!(
                    "the contents of module {} were not read, so its signature and vermagic are unchecked (read the tree with `is_module_path` as the content predicate)",
                    go_quote(&path)
                ),
            ),
        }
    }
    Ok(())
}

/// Where a module sits: in the expected release directory, or (without an expectation) in the
/// one directory all modules share.
fn check_directory(
    path: &str,
    dir: Option<&str>,
    kernel: Option<&KernelExpectation>,
    release_dirs: &BTreeSet<&str>,
    out: &mut Findings,
) {
    let q = go_quote(path);
    let message = match (dir, kernel) {
        (None, _) => format!(
            "module {q} is directly under /usr/lib/modules, not in a kernel release directory: Talos copies only /usr/lib/modules/<release>"
        ),
        (Some(dir), Some(kernel)) if dir != kernel.release => format!(
            "module {q} is in /usr/lib/modules/{dir}, not in /usr/lib/modules/{}: Talos copies only the kernel release directory, so it is never loaded",
            kernel.release
        ),
        (Some(dir), None) if release_dirs.len() > 1 => {
            let others: Vec<&str> = release_dirs.iter().copied().filter(|d| *d != dir).collect();
            format!(
                "module {q} is in /usr/lib/modules/{dir}, but other modules are in {}: Talos copies only the kernel's own release directory",
                others.iter().map(|d| format!("/usr/lib/modules/{d}")).collect::<Vec<_>>().join(", ")
            )
        }
        _ => return,
    };
    out.push(path, Rule::ModuleDirectory, message);
}

/// Signature, vermagic, signer and arch of one plain module.
fn check_bytes(path: &str, bytes: &[u8], dir: Option<&str>, kernel: Option<&KernelExpectation>, out: &mut Findings) {
    let q = go_quote(path);
    match ModuleSignature::parse(bytes) {
        Ok(None) => out.push(
            path,
            Rule::ModuleUnsigned,
            format!(
                "module {q} is not signed (no \"~Module signature appended~\" marker): Talos enforces module signatures (module.sig_enforce=1) and refuses it"
            ),
        ),
        // `Truncated` says "truncated signature: ..." itself.
        Err(e @ SigError::Truncated { .. }) => out.push(path, Rule::ModuleSignature, format!("module {q}: {e}")),
        Err(e @ SigError::TooShort { .. }) => {
            out.push(path, Rule::ModuleSignature, format!("module {q} has a truncated signature: {e}"));
        }
        Err(e) => out.push(path, Rule::ModuleSignature, format!("module {q} has a malformed signature: {e}")),
        Ok(Some(info)) => {
            let got = info.sig_key().to_string();
            if let Some(want) = kernel.and_then(|k| k.signer_key_id.as_deref())
                && normalize_key_id(want) != normalize_key_id(&got)
            {
                let signer = info.signer_name().map(|n| format!(" ({n})")).unwrap_or_default();
                out.push(
                    path,
                    Rule::ModuleSigner,
                    format!(
                        "module {q} is signed with key {got}{signer}, not the kernel's module signing key {want}: the kernel refuses it"
                    ),
                );
            }
        }
    }

    match modinfo(bytes) {
        Err(e) => out.push(path, Rule::ModuleVermagic, format!("module {q}: cannot read its vermagic: {e}")),
        Ok(info) => match (info.kernel_release(), kernel, dir) {
            (None, _, _) => {
                out.push(path, Rule::ModuleVermagic, format!("module {q} has no vermagic in its .modinfo section"));
            }
            (Some(release), Some(kernel), _) if release != kernel.release => out.push(
                path,
                Rule::ModuleVermagic,
                format!(
                    "module {q} is built for kernel {} (vermagic {}), not {}: the kernel refuses it",
                    go_quote(release),
                    go_quote(info.vermagic().unwrap_or_default()),
                    go_quote(&kernel.release)
                ),
            ),
            (Some(release), None, Some(dir)) if release != dir => out.push(
                path,
                Rule::ModuleVermagic,
                format!(
                    "module {q} is built for kernel {} (vermagic {}) but installed in /usr/lib/modules/{dir}",
                    go_quote(release),
                    go_quote(info.vermagic().unwrap_or_default()),
                ),
            ),
            _ => {}
        },
    }
    if let Ok(info) = modinfo(bytes)
        && let Some(vermagic) = info.vermagic()
    {
        check_versions(path, bytes, vermagic, kernel, out);
    }

    if let Some(arch) = kernel.and_then(|k| k.arch) {
        let want = ElfMachine::from_e_machine(arch.elf_machine());
        // An unreadable ELF header is already a vermagic finding.
        if let Ok(machine) = elf_machine(bytes)
            && machine != want
        {
            out.push(
                path,
                Rule::ModuleArch,
                format!("module {q} is built for {machine}, but the image is {arch} ({want})"),
            );
        }
    }
}

/// The vermagic flags and, with modversions, the `__versions` CRCs of one module.
fn check_versions(path: &str, bytes: &[u8], vermagic: &str, kernel: Option<&KernelExpectation>, out: &mut Findings) {
    let q = go_quote(path);
    // Everything after the release, trailing space included: the kernel compares whole strings.
    let flags = vermagic.split_once(' ').map_or("", |(_, rest)| rest);
    if let Some(want) = kernel.and_then(|k| k.vermagic_flags.as_deref())
        && flags != want
    {
        out.push(
            path,
            Rule::ModuleVermagic,
            format!(
                "module {q} has vermagic flags {} where the kernel has {}: the kernel refuses it (\"version magic\")",
                go_quote(flags),
                go_quote(want)
            ),
        );
    }
    let kernel_has_modversions = kernel.and_then(|k| k.vermagic_flags.as_deref()).map(|f| f.contains("modversions"));
    if !kernel_has_modversions.unwrap_or_else(|| flags.split(' ').any(|f| f == "modversions")) {
        return;
    }
    let versions = match modversions(bytes) {
        Ok(Some(v)) => v,
        Ok(None) => {
            out.push(
                path,
                Rule::ModuleVersions,
                format!(
                    "module {q} has no __versions section: the kernel is built with CONFIG_MODVERSIONS and refuses it (\"no versions for exported symbols\")"
                ),
            );
            return;
        }
        Err(e) => {
            out.push(path, Rule::ModuleVersions, format!("module {q}: {e}"));
            return;
        }
    };
    let Some(symvers) = kernel.and_then(|k| k.symvers.as_deref()) else { return };
    for (symbol, crc) in versions {
        if let Some(export) = symvers.exports.get(&symbol)
            && export.crc != crc
        {
            out.push(
                path,
                Rule::ModuleCrc,
                format!(
                    "module {q} was built against {} with CRC {crc:#010x}, but the kernel's is {:#010x} (exported by {}): the kernel refuses it (\"disagrees about version of symbol {}\")",
                    go_quote(&symbol),
                    export.crc,
                    export.owner,
                    symbol
                ),
            );
        }
    }
}

/// A key id in one spelling: lower-case hex without separators or leading zero bytes.
fn normalize_key_id(id: &str) -> String {
    let hex: String = id.chars().filter(|c| *c != ':' && !c.is_whitespace()).flat_map(char::to_lowercase).collect();
    let mut rest = hex.as_str();
    while rest.len() > 2 && rest.starts_with("00") {
        rest = &rest[2..];
    }
    rest.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths() {
        assert!(is_module_path("rootfs/usr/lib/modules/6.18.45-talos/extras/a.ko"));
        assert!(is_module_path("rootfs/usr/lib/modules/a.ko"));
        assert!(!is_module_path("rootfs/usr/lib/modules/6.18.45-talos/extras/a.ko.xz"));
        assert!(!is_module_path("rootfs/usr/lib/modulesx/a.ko"));
        assert!(!is_module_path("rootfs/usr/local/lib/a.ko"));
        assert!(!is_module_path("rootfs/usr/lib/modules"));
    }

    #[test]
    fn key_ids_compare_in_one_spelling() {
        assert_eq!(normalize_key_id("46:96:3C:0A"), "46963c0a");
        assert_eq!(normalize_key_id("00:96:3c"), "963c");
        assert_eq!(normalize_key_id(" 00963C "), "963c");
        assert_eq!(normalize_key_id("00"), "00");
    }

    #[test]
    fn certificate_errors() {
        assert_eq!(certificate_key_id(b"-----BEGIN PRIVATE KEY-----\nAA==\n"), Err(CertificateError::NoCertificate));
        assert!(matches!(certificate_key_id(b"\x30\x00"), Err(CertificateError::Invalid { .. })));
        assert!(matches!(
            certificate_key_id(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            Err(CertificateError::Invalid { .. })
        ));
    }
}
