//! Reading modules back: [`ModuleSignature`] on good and damaged signatures, and `.modinfo` /
//! `e_machine` of x86_64 and aarch64 modules, signed or not, compared with kmod's `modinfo`.

use talos_ext_kmod::{
    ElfMachine, HashAlgo, MAGIC, ModInfo, ModuleSignature, SigError, SignerId, TRAILER_LEN, elf_machine, modinfo,
    section, sign_module, strip_signature,
};
use talos_ext_process::Command;

use crate::support::{self, KeySource, Target, data, run, scratch};

#[test]
fn parse_reports_signer_hash_and_sizes() {
    for (bits, hash) in [(2048, HashAlgo::Sha256), (4096, HashAlgo::Sha512)] {
        let keys = support::key(KeySource::Openssl, bits);
        let module = support::module(Target::X86_64);
        let signed = sign_module(module, &keys.signing_key, hash).unwrap();
        let info = ModuleSignature::parse(&signed).unwrap().unwrap();
        assert_eq!(info.body_len, module.len());
        assert_eq!(info.body_len + info.sig_len + TRAILER_LEN + MAGIC.len(), signed.len());
        assert_eq!(info.hash, Some(hash));
        assert_eq!(info.hash_name(), hash.name());
        assert_eq!(info.sig_key(), &keys.signing_key.key_id());
        assert_eq!(info.signer_name(), Some(support::CN));
        assert_eq!(info.signature_algorithm_oid, "1.2.840.113549.1.1.1");
        assert_eq!(info.signature.len(), bits / 8);
        let SignerId::IssuerAndSerial { issuer, .. } = &info.signer else { panic!("{:?}", info.signer) };
        assert_eq!(issuer, "CN=Build time throw-away kernel key,O=Sidero Labs\\, Inc.");
    }
}

#[test]
fn parse_reads_sign_files_output() {
    let keys = support::key(KeySource::Openssl, 4096);
    let signed = support::sign_with_sign_file("sha512", keys, support::module(Target::Aarch64), "parse-sf.ko");
    let info = ModuleSignature::parse(&signed).unwrap().unwrap();
    assert_eq!(info.hash, Some(HashAlgo::Sha512));
    assert_eq!(info.sig_key(), &keys.signing_key.key_id());

    let mut committed = std::fs::read(data("hello.ko")).unwrap();
    let len = committed.len();
    let cms = std::fs::read(data("hello.ko.sha512.p7s")).unwrap();
    committed.extend_from_slice(&cms);
    committed.extend_from_slice(&[0, 0, 2, 0, 0, 0, 0, 0]);
    committed.extend_from_slice(&u32::try_from(cms.len()).unwrap().to_be_bytes());
    committed.extend_from_slice(MAGIC);
    let info = ModuleSignature::parse(&committed).unwrap().unwrap();
    assert_eq!((info.body_len, info.sig_len), (len, cms.len()));
}

/// A signed module and the offset of its trailer.
fn signed_module() -> (Vec<u8>, usize) {
    let keys = support::key(KeySource::Openssl, 2048);
    let signed = sign_module(support::module(Target::X86_64), &keys.signing_key, HashAlgo::Sha512).unwrap();
    let trailer = signed.len() - MAGIC.len() - TRAILER_LEN;
    (signed, trailer)
}

fn set_sig_len(module: &mut [u8], trailer: usize, len: u32) {
    module[trailer + 8..trailer + 12].copy_from_slice(&len.to_be_bytes());
}

#[test]
fn unsigned_module_parses_as_none() {
    let module = support::module(Target::X86_64);
    assert_eq!(ModuleSignature::parse(module), Ok(None));
    assert_eq!(strip_signature(module), Ok(module));
}

#[test]
fn truncated_signature_is_rejected() {
    let (signed, trailer) = signed_module();
    let body_len = support::module(Target::X86_64).len();

    // Bytes cut out of the CMS, trailer intact: the blob now starts inside the module.
    let mut cut = signed.clone();
    cut.drain(body_len + 20..body_len + 30);
    assert!(
        matches!(ModuleSignature::parse(&cut), Err(SigError::MalformedCms { .. })),
        "{:?}",
        ModuleSignature::parse(&cut)
    );

    // Cut from the end of the CMS and sig_len fixed up: a CMS with missing bytes.
    let mut short = signed[..trailer - 10].to_vec();
    short.extend_from_slice(&signed[trailer..]);
    let sig_len = u32::try_from(trailer - 10 - body_len).unwrap();
    let at = short.len() - MAGIC.len() - TRAILER_LEN;
    set_sig_len(&mut short, at, sig_len);
    assert!(matches!(ModuleSignature::parse(&short), Err(SigError::MalformedCms { .. })));

    // The file cut right after the module: nothing but trailer and magic remain.
    let mut bare = support::module(Target::X86_64)[..100].to_vec();
    bare.extend_from_slice(&signed[trailer..]);
    assert!(matches!(ModuleSignature::parse(&bare), Err(SigError::Truncated { available: 36, .. })));
}

#[test]
fn bad_trailers_are_rejected() {
    let (signed, trailer) = signed_module();

    let mut wrong_id = signed.clone();
    wrong_id[trailer + 2] = 1;
    assert_eq!(ModuleSignature::parse(&wrong_id), Err(SigError::BadIdType { id_type: 1 }));
    assert_eq!(strip_signature(&wrong_id), Err(SigError::BadIdType { id_type: 1 }));

    let mut too_long = signed.clone();
    set_sig_len(&mut too_long, trailer, u32::try_from(signed.len()).unwrap());
    let err = ModuleSignature::parse(&too_long).unwrap_err();
    assert!(matches!(err, SigError::Truncated { .. }), "{err}");
    assert!(err.to_string().starts_with("truncated signature: sig_len is "), "{err}");

    let mut huge = signed.clone();
    set_sig_len(&mut huge, trailer, 1 << 20);
    assert!(matches!(ModuleSignature::parse(&huge), Err(SigError::SigLenTooLarge { sig_len: 1_048_576, .. })));

    let mut empty = signed.clone();
    set_sig_len(&mut empty, trailer, 0);
    assert_eq!(ModuleSignature::parse(&empty), Err(SigError::EmptySignature));

    let mut nonzero = signed;
    nonzero[trailer + 4] = 8;
    assert_eq!(ModuleSignature::parse(&nonzero), Err(SigError::BadTrailerField { field: "key_id_len", value: 8 }));
}

#[test]
fn modinfo_and_machine_of_both_arches() {
    let keys = support::key(KeySource::Openssl, 2048);
    for (target, machine) in [(Target::X86_64, ElfMachine::X86_64), (Target::Aarch64, ElfMachine::Aarch64)] {
        let module = support::module(target);
        let signed = sign_module(module, &keys.signing_key, HashAlgo::Sha512).unwrap();
        for bytes in [module, signed.as_slice()] {
            assert_eq!(elf_machine(bytes), Ok(machine));
            let info = modinfo(bytes).unwrap();
            assert_eq!(info.name(), Some("kmodtest"));
            assert_eq!(info.license(), Some("GPL"));
            assert_eq!(info.vermagic(), Some("6.12.117+deb12-amd64 SMP preempt mod_unload modversions "));
            assert_eq!(info.kernel_release(), Some("6.12.117+deb12-amd64"));
            assert!(info.depends().is_empty());
            let mut aliases: Vec<_> = info.get_all("alias").collect();
            aliases.sort_unstable();
            assert_eq!(aliases, ["kmodtest-a", "kmodtest-b"]);
            // Sections by name: `.modinfo` is what `modinfo` parses; this object never went
            // through modpost, so it has no `__versions`.
            let raw = section(bytes, b".modinfo").unwrap().expect("a .modinfo section");
            assert_eq!(ModInfo::from_section(raw), info);
            assert_eq!(section(bytes, b"__versions").unwrap(), None);
        }
        assert_eq!(machine.talos_arch(), Some(if matches!(target, Target::X86_64) { "amd64" } else { "arm64" }));

        // kmod agrees on every key it prints from .modinfo.
        let path = scratch("modinfo-elf").join(format!("{target:?}.ko"));
        std::fs::write(&path, module).unwrap();
        let info = modinfo(module).unwrap();
        for key in ["vermagic", "name", "license", "description"] {
            let out = run(Command::new("modinfo").args(["-F", key]).arg(&path));
            assert_eq!(String::from_utf8(out.stdout).unwrap().trim_end_matches('\n'), info.get(key).unwrap());
        }
    }
    let committed = std::fs::read(data("hello.ko")).unwrap();
    assert_eq!(modinfo(&committed).unwrap().get("description"), Some("talos-ext-kmod test module"));
}
