//! Kernel modules without the kernel tree: sign them the way `scripts/sign-file` does, read their
//! signatures back, and read their `.modinfo`.
//!
//! - **Signing** ([`sign_module`], [`resign_module`], [`sign_file_in_place`]): appends a detached
//!   CMS SignedData, the 12-byte `struct module_signature` and `~Module signature appended~\n`.
//!   The output is byte-identical to `sign-file sha512 key.pem cert.pem module.ko` (tested against
//!   Debian's `linux-kbuild-6.12` build of it, RSA-2048 and RSA-4096, sha512 and sha256).
//! - **Keys** ([`SigningKey`]): load `openssl req`/kbuild key and certificate files, or generate
//!   a key and self-signed certificate like the kernel's `certs/x509.genkey`. [`KeyId`] is what
//!   `modinfo` shows as `sig_key` (the certificate serial number).
//! - **Inspecting** ([`ModuleSignature`], [`strip_signature`], [`modinfo`], [`elf_machine`],
//!   [`section`]): structural checks of an appended signature, as the kernel makes them before
//!   verifying, and the `.modinfo` strings (`vermagic`, `name`, `depends`, ...) and other sections
//!   of x86_64 and aarch64 modules, read with the `object` crate.
//!
//! - **Module.symvers** ([`symvers`]): modpost's format, and its recovery from a kernel's
//!   published `vmlinuz`, `System.map` and module tree (gzip, xz, zstd, bzImage, EFI zboot).
//!
//! The crate never verifies RSA signatures (that needs the running kernel's keyring), never
//! compresses modules, never spawns processes and never touches the network.
//!
//! ```no_run
//! use std::path::Path;
//! use talos_ext_kmod::{HashAlgo, ModuleSignature, SigningKey, modinfo, sign_module};
//!
//! let key = SigningKey::load(Path::new("signing_key.pem"), Path::new("signing_key.x509"))?;
//! let module = std::fs::read("hello.ko")?;
//! let signed = sign_module(&module, &key, HashAlgo::Sha512)?;
//! let info = ModuleSignature::parse(&signed)?.expect("just signed");
//! assert_eq!(info.sig_key(), &key.key_id());
//! println!("{:?} {}", modinfo(&signed)?.vermagic(), info.hash_name());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod elf;
mod fsutil;
mod key;
mod sign;
mod signature;
pub mod symvers;

pub use elf::{
    ELF_MAGIC, ELF64_HEADER_LEN, ElfError, ElfMachine, MODVERSION_ENTRY_LEN, ModInfo, elf_machine, is_elf, modinfo,
    modversions, section,
};
pub use key::{CERT_VALIDITY, KeyError, KeyId, SUPPORTED_KEY_BITS, SigningKey, Subject};
pub use sign::{
    HashAlgo, HashAlgoParseError, IfSigned, SignError, detached_signature, resign_module, sign_file_in_place,
    sign_module,
};
pub use signature::{
    MAGIC, MAX_SIG_LEN, ModuleSignature, PKEY_ID_PKCS7, SigError, SigInfo, SignerId, TRAILER_LEN, is_signed,
    strip_signature,
};
