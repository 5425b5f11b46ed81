//! Intel CPU microcode files (`intel-ucode/<ff-mm-ss>`), checked as Linux's loader checks them,
//! so that a recipe refuses a corrupt or misnamed file at build time instead of the kernel
//! silently skipping it at boot.
//!
//! The format is Intel's (SDM vol. 3A §10.11 "Microcode Update Facilities"); the rules are those
//! of `intel_microcode_sanity_check` in Linux's `arch/x86/kernel/cpu/microcode/intel.c`, plus
//! the file-level ones of its scanner. A file is one or more concatenated updates, each:
//!
//! - a 48-byte header of little-endian `u32`: header version (1), update revision, date (BCD
//!   `mmddyyyy`), processor signature, checksum, loader revision (1), processor flags, data
//!   size, total size, 3 reserved. A data size of 0 means the old fixed layout: 2000 bytes of
//!   data, 2048 in all (the total size field is then ignored, as Linux does);
//! - the data; the `u32` words of header + data sum to 0 (mod 2^32);
//! - when the total size is larger than data + header, an extended signature table: count,
//!   checksum, 3 reserved, then `count` × (signature, flags, checksum). Its words sum to 0, and
//!   each entry's signature + flags + checksum equals the header's.
//!
//! The total size is a multiple of 4 (the checksums are over whole words; Linux does not check
//! this, nor the SDM's "multiple of 1024"), and no bytes may follow the last update (Linux
//! rejects the whole file then). Beyond Linux, the file name must be the family-model-stepping
//! ([`fms_name`]) of the primary or an extended signature of at least one of its updates: that
//! name is how the kernel finds a CPU's file.

use std::path::Path;

/// Size of an update's header.
pub const HEADER_SIZE: usize = 48;
/// Data size of an update whose data size field is 0.
pub const DEFAULT_DATA_SIZE: usize = 2000;
/// Size of the extended signature table's header (count, checksum, 3 reserved).
pub const EXT_HEADER_SIZE: usize = 20;
/// Size of one extended signature (signature, flags, checksum).
pub const EXT_SIGNATURE_SIZE: usize = 12;
/// The date [`encode`] writes: 2026-08-12 as BCD `mmddyyyy`.
pub const ENCODE_DATE: u32 = 0x0812_2026;

/// A processor signature (CPUID leaf 1 EAX) with its platform flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    pub signature: u32,
    pub processor_flags: u32,
}

/// One checked update of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// Where it starts in the file.
    pub offset: usize,
    pub revision: u32,
    /// BCD `mmddyyyy`.
    pub date: u32,
    /// The header's signature and flags.
    pub primary: Signature,
    /// The extended signature table's entries (empty without a table).
    pub extended: Vec<Signature>,
    /// Header + data + extended table, in bytes.
    pub total_size: usize,
}

impl Update {
    /// The primary signature, then the extended ones.
    pub fn signatures(&self) -> impl Iterator<Item = Signature> + '_ {
        std::iter::once(self.primary).chain(self.extended.iter().copied())
    }
}

/// A file that is not valid Intel microcode: which file, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {problem}")]
pub struct MicrocodeError {
    pub file: String,
    pub problem: Problem,
}

/// What is wrong with a microcode file; `offset` is where the update starts in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("cannot read it: {0}")]
    Read(String),
    #[error("empty: it holds no microcode update")]
    Empty,
    #[error("{left} bytes at byte {offset}: too short for an update header (truncated, or trailing bytes)")]
    ShortHeader { offset: usize, left: usize },
    #[error("update at byte {offset}: header version {found}, want 1")]
    HeaderVersion { offset: usize, found: u32 },
    #[error("update at byte {offset}: loader revision {found}, want 1")]
    LoaderRevision { offset: usize, found: u32 },
    #[error("update at byte {offset}: total size {total_size} is less than data size {data_size} + {HEADER_SIZE}")]
    TotalSize { offset: usize, data_size: usize, total_size: usize },
    #[error("update at byte {offset}: total size {total_size} is not a multiple of 4")]
    Unaligned { offset: usize, total_size: usize },
    #[error("update at byte {offset}: truncated: its total size is {total_size} bytes, {left} are left in the file")]
    Truncated { offset: usize, total_size: usize, left: usize },
    #[error("update at byte {offset}: extended signature table of {size} bytes, not 20 + 12 × count")]
    ExtTableSize { offset: usize, size: usize },
    #[error("update at byte {offset}: the extended signature table counts {count} signatures in {size} bytes")]
    ExtTableCount { offset: usize, count: u32, size: usize },
    #[error("update at byte {offset}: bad extended signature table checksum (its words sum to {sum:#010x}, want 0)")]
    ExtTableChecksum { offset: usize, sum: u32 },
    #[error("update at byte {offset}: bad checksum (header and data words sum to {sum:#010x}, want 0)")]
    Checksum { offset: usize, sum: u32 },
    #[error("update at byte {offset}: extended signature {index} ({signature:#010x}) has a bad checksum")]
    ExtSignatureChecksum { offset: usize, index: usize, signature: u32 },
    #[error("the name `{name}` is not the family-model-stepping of any of its updates' signatures ({found})")]
    Name { name: String, found: String },
}

/// `ff-mm-ss`, the file name Linux asks for on a CPU with `signature`: family, model and
/// stepping in lowercase hex, with the extended family (base family 0xf) and extended model
/// (base family 6 or 0xf) folded in.
pub fn fms_name(signature: u32) -> String {
    let base_family = (signature >> 8) & 0xf;
    let family = if base_family == 0xf { base_family + ((signature >> 20) & 0xff) } else { base_family };
    let mut model = (signature >> 4) & 0xf;
    if base_family == 6 || base_family == 0xf {
        model |= (signature >> 12) & 0xf0;
    }
    format!("{family:02x}-{model:02x}-{:02x}", signature & 0xf)
}

/// Checks the file at `path` (container and name) and returns its updates.
pub fn check_file(path: &Path) -> Result<Vec<Update>, MicrocodeError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| MicrocodeError { file: file.clone(), problem: Problem::Read(e.to_string()) })?;
    check(&file, &bytes)
}

/// Checks `bytes` as the microcode file `file` (a path or name, used in errors; its last
/// component must be the family-model-stepping of one of the updates) and returns its updates.
pub fn check(file: &str, bytes: &[u8]) -> Result<Vec<Update>, MicrocodeError> {
    let err = |problem| MicrocodeError { file: file.to_string(), problem };
    let updates = parse(bytes).map_err(err)?;
    let name = file.rsplit('/').next().unwrap_or(file);
    let mut names: Vec<String> = updates.iter().flat_map(|u| u.signatures()).map(|s| fms_name(s.signature)).collect();
    if !names.iter().any(|n| n == name) {
        names.sort();
        names.dedup();
        return Err(err(Problem::Name { name: name.to_string(), found: names.join(", ") }));
    }
    Ok(updates)
}

/// Checks the container format of a whole file (not its name) and returns its updates.
pub fn parse(bytes: &[u8]) -> Result<Vec<Update>, Problem> {
    if bytes.is_empty() {
        return Err(Problem::Empty);
    }
    let mut updates = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        let update = parse_update(&bytes[offset..], offset)?;
        offset += update.total_size;
        updates.push(update);
    }
    Ok(updates)
}

/// The little-endian `u32` at byte `at` (in bounds: callers check the lengths first).
fn word(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// The wrapping sum of the `u32` words of `bytes` (a multiple of 4 long).
fn word_sum(bytes: &[u8]) -> u32 {
    bytes.chunks_exact(4).fold(0u32, |sum, w| sum.wrapping_add(u32::from_le_bytes([w[0], w[1], w[2], w[3]])))
}

/// The update at the start of `rest` (at `offset` in the file), in the order Linux checks.
fn parse_update(rest: &[u8], offset: usize) -> Result<Update, Problem> {
    if rest.len() < HEADER_SIZE {
        return Err(Problem::ShortHeader { offset, left: rest.len() });
    }
    let field = |i: usize| word(rest, 4 * i);
    let (header_version, loader_revision) = (field(0), field(5));
    let (data_size, total_size) = match field(7) {
        0 => (DEFAULT_DATA_SIZE, DEFAULT_DATA_SIZE + HEADER_SIZE),
        data_size => (data_size as usize, field(8) as usize),
    };
    if total_size < data_size + HEADER_SIZE {
        return Err(Problem::TotalSize { offset, data_size, total_size });
    }
    if header_version != 1 {
        return Err(Problem::HeaderVersion { offset, found: header_version });
    }
    if loader_revision != 1 {
        return Err(Problem::LoaderRevision { offset, found: loader_revision });
    }
    if !total_size.is_multiple_of(4) {
        return Err(Problem::Unaligned { offset, total_size });
    }
    if total_size > rest.len() {
        return Err(Problem::Truncated { offset, total_size, left: rest.len() });
    }
    let update = &rest[..total_size];
    let body = &update[..HEADER_SIZE + data_size];
    let table = &update[HEADER_SIZE + data_size..];

    let mut extended = Vec::new();
    if !table.is_empty() {
        let size = table.len();
        if size < EXT_HEADER_SIZE || !(size - EXT_HEADER_SIZE).is_multiple_of(EXT_SIGNATURE_SIZE) {
            return Err(Problem::ExtTableSize { offset, size });
        }
        let count = word(table, 0);
        if (count as usize).checked_mul(EXT_SIGNATURE_SIZE).and_then(|n| n.checked_add(EXT_HEADER_SIZE)) != Some(size) {
            return Err(Problem::ExtTableCount { offset, count, size });
        }
        let sum = word_sum(table);
        if sum != 0 {
            return Err(Problem::ExtTableChecksum { offset, sum });
        }
        for entry in table[EXT_HEADER_SIZE..].chunks_exact(EXT_SIGNATURE_SIZE) {
            extended.push((Signature { signature: word(entry, 0), processor_flags: word(entry, 4) }, word(entry, 8)));
        }
    }
    let sum = word_sum(body);
    if sum != 0 {
        return Err(Problem::Checksum { offset, sum });
    }
    let primary = Signature { signature: field(3), processor_flags: field(6) };
    let primary_sum = primary.signature.wrapping_add(primary.processor_flags).wrapping_add(field(4));
    for (index, (sig, checksum)) in extended.iter().enumerate() {
        if sig.signature.wrapping_add(sig.processor_flags).wrapping_add(*checksum) != primary_sum {
            return Err(Problem::ExtSignatureChecksum { offset, index, signature: sig.signature });
        }
    }
    Ok(Update {
        offset,
        revision: field(1),
        date: field(2),
        primary,
        extended: extended.into_iter().map(|(sig, _)| sig).collect(),
        total_size,
    })
}

/// A valid update for tests: `primary`'s signature and flags, `revision`, [`ENCODE_DATE`], `data`
/// as the data (its length must be a multiple of 4), and an extended signature table when
/// `extended` is not empty, with every checksum computed.
///
/// # Panics
///
/// When `data`'s length is 0 or not a multiple of 4.
pub fn encode(primary: Signature, revision: u32, data: &[u8], extended: &[Signature]) -> Vec<u8> {
    assert!(!data.is_empty() && data.len().is_multiple_of(4), "microcode data must be a non-empty multiple of 4 bytes");
    let table_size = if extended.is_empty() { 0 } else { EXT_HEADER_SIZE + EXT_SIGNATURE_SIZE * extended.len() };
    let total_size = HEADER_SIZE + data.len() + table_size;
    let as_u32 = |n: usize| u32::try_from(n).expect("a microcode update is smaller than 4 GiB");
    let header = |checksum: u32| {
        let fields = [
            1,
            revision,
            ENCODE_DATE,
            primary.signature,
            checksum,
            1,
            primary.processor_flags,
            as_u32(data.len()),
            as_u32(total_size),
            0,
            0,
            0,
        ];
        fields.iter().flat_map(|f| f.to_le_bytes()).collect::<Vec<u8>>()
    };
    let unsummed = word_sum(&header(0)).wrapping_add(word_sum(data));
    let checksum = 0u32.wrapping_sub(unsummed);
    let mut out = header(checksum);
    out.extend_from_slice(data);
    if !extended.is_empty() {
        let primary_sum = primary.signature.wrapping_add(primary.processor_flags).wrapping_add(checksum);
        let mut entries = Vec::new();
        for sig in extended {
            let entry_checksum = primary_sum.wrapping_sub(sig.signature).wrapping_sub(sig.processor_flags);
            for f in [sig.signature, sig.processor_flags, entry_checksum] {
                entries.extend_from_slice(&f.to_le_bytes());
            }
        }
        let count = as_u32(extended.len());
        let table_checksum = 0u32.wrapping_sub(count.wrapping_add(word_sum(&entries)));
        for f in [count, table_checksum, 0, 0, 0] {
            out.extend_from_slice(&f.to_le_bytes());
        }
        out.extend_from_slice(&entries);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sapphire Rapids (06-8f-08): family 6, model 0x8f, stepping 8.
    const SPR: Signature = Signature { signature: 0x000806f8, processor_flags: 0x87 };
    /// Pentium 4 (0f-04-01): base family 0xf, extended family 0.
    const P4: Signature = Signature { signature: 0x00000f41, processor_flags: 0xbd };

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + 3) as u8).collect()
    }

    fn problem(name: &str, bytes: &[u8]) -> Problem {
        let e = check(name, bytes).expect_err("must be refused");
        assert_eq!(e.file, name);
        assert!(e.to_string().starts_with(&format!("{name}: ")), "{e}");
        e.problem
    }

    /// Sets the little-endian word at `at`.
    fn set(bytes: &mut [u8], at: usize, value: u32) {
        bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }

    /// Adds `delta` (wrapping) to the little-endian word at `at`.
    fn add(bytes: &mut [u8], at: usize, delta: u32) {
        let value = word(bytes, at).wrapping_add(delta);
        set(bytes, at, value);
    }

    #[test]
    fn microcode_fms_names() {
        assert_eq!(fms_name(0x000806f8), "06-8f-08");
        assert_eq!(fms_name(0x00050654), "06-55-04");
        assert_eq!(fms_name(0x000906a3), "06-9a-03");
        assert_eq!(fms_name(0x00000f41), "0f-04-01");
        assert_eq!(fms_name(0x00000686), "06-08-06");
        // Extended family (base 0xf) and model: family 0xf + 0x01, model 0x12.
        assert_eq!(fms_name(0x00110f23), "10-12-03");
        // The extended model counts only for base families 6 and 0xf.
        assert_eq!(fms_name(0x00010523), "05-02-03");
    }

    #[test]
    fn microcode_valid_updates_pass() {
        let one = encode(SPR, 0x2b000620, &data(1024 - 48), &[]);
        assert_eq!(one.len(), 1024);
        let updates = check("intel-ucode/06-8f-08", &one).unwrap();
        assert_eq!(updates.len(), 1);
        assert_eq!(updates[0].revision, 0x2b000620);
        assert_eq!(updates[0].date, ENCODE_DATE);
        assert_eq!(updates[0].primary, SPR);
        assert!(updates[0].extended.is_empty());

        // Two concatenated updates, the second with an extended table naming another stepping.
        let other = Signature { signature: 0x000806f7, processor_flags: 0x87 };
        let mut two = one.clone();
        two.extend(encode(SPR, 0x2b000621, &data(2000), &[other, P4]));
        let updates = check_file_bytes("06-8f-07", &two);
        assert_eq!(updates.len(), 2);
        assert_eq!(updates[1].offset, 1024);
        assert_eq!(updates[1].extended, [other, P4]);
        assert_eq!(updates[1].signatures().count(), 3);
        check("0f-04-01", &two).unwrap();
        check("06-8f-08", &two).unwrap();
    }

    /// Through a real file, for [`check_file`].
    fn check_file_bytes(name: &str, bytes: &[u8]) -> Vec<Update> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        check_file(&path).unwrap()
    }

    #[test]
    fn microcode_old_fixed_layout() {
        // Data size 0: 2000 bytes of data, 2048 in all, whatever the total size field says.
        let mut update = encode(SPR, 1, &data(2000), &[]);
        set(&mut update, 28, 0);
        set(&mut update, 32, 0);
        // The two size fields no longer count: add them back into the checksum.
        add(&mut update, 16, 2000 + 2048);
        assert_eq!(parse(&update).unwrap()[0].total_size, 2048);
    }

    #[test]
    fn microcode_bad_checksum() {
        let mut update = encode(SPR, 1, &data(1024), &[]);
        update[HEADER_SIZE + 10] ^= 0x01;
        assert!(matches!(problem("06-8f-08", &update), Problem::Checksum { offset: 0, .. }));
        let mut update = encode(SPR, 1, &data(1024), &[]);
        set(&mut update, 4, 2); // the revision: part of the header's sum
        let p = problem("06-8f-08", &update);
        assert!(matches!(p, Problem::Checksum { offset: 0, .. }), "{p}");
        assert!(p.to_string().contains("bad checksum"), "{p}");
    }

    #[test]
    fn microcode_truncated() {
        let update = encode(SPR, 1, &data(1024), &[]);
        assert_eq!(
            problem("06-8f-08", &update[..1000]),
            Problem::Truncated { offset: 0, total_size: 1024 + 48, left: 1000 }
        );
        assert_eq!(problem("06-8f-08", &update[..20]), Problem::ShortHeader { offset: 0, left: 20 });
        assert_eq!(problem("06-8f-08", &[]), Problem::Empty);
        // The second update cut short, and trailing bytes after the last one.
        let mut two = update.clone();
        two.extend_from_slice(&update[..500]);
        assert_eq!(problem("06-8f-08", &two), Problem::Truncated { offset: 1072, total_size: 1072, left: 500 });
        let mut trailing = update.clone();
        trailing.extend_from_slice(&[0; 16]);
        assert_eq!(problem("06-8f-08", &trailing), Problem::ShortHeader { offset: 1072, left: 16 });
    }

    #[test]
    fn microcode_wrong_header_fields() {
        let mut update = encode(SPR, 1, &data(1024), &[]);
        set(&mut update, 0, 2);
        assert_eq!(problem("06-8f-08", &update), Problem::HeaderVersion { offset: 0, found: 2 });
        let mut update = encode(SPR, 1, &data(1024), &[]);
        set(&mut update, 20, 0);
        assert_eq!(problem("06-8f-08", &update), Problem::LoaderRevision { offset: 0, found: 0 });
        let mut update = encode(SPR, 1, &data(1024), &[]);
        set(&mut update, 32, 1024); // total size < data size + header
        assert_eq!(problem("06-8f-08", &update), Problem::TotalSize { offset: 0, data_size: 1024, total_size: 1024 });
        let mut update = encode(SPR, 1, &data(1024), &[]);
        set(&mut update, 32, 1024 + 48 + 2);
        update.extend_from_slice(&[0, 0]);
        assert_eq!(problem("06-8f-08", &update), Problem::Unaligned { offset: 0, total_size: 1074 });
    }

    #[test]
    fn microcode_wrong_name() {
        let update = encode(SPR, 1, &data(1024), &[P4]);
        let p = problem("intel-ucode/06-55-04", &update);
        assert_eq!(p, Problem::Name { name: "06-55-04".into(), found: "06-8f-08, 0f-04-01".into() });
        assert!(p.to_string().contains("`06-55-04`"), "{p}");
        assert!(matches!(problem("README", &update), Problem::Name { .. }));
    }

    #[test]
    fn microcode_bad_extended_table() {
        let other = Signature { signature: 0x000806f7, processor_flags: 0x87 };
        let good = encode(SPR, 1, &data(1024), &[other, P4]);
        let table = HEADER_SIZE + 1024;
        check("06-8f-07", &good).unwrap();

        // An entry's checksum off, with the table's own checksum still right.
        let mut bad = good.clone();
        let entry_checksum = table + EXT_HEADER_SIZE + EXT_SIGNATURE_SIZE + 8;
        add(&mut bad, entry_checksum, 1);
        add(&mut bad, table + 4, 0u32.wrapping_sub(1));
        assert_eq!(
            problem("06-8f-07", &bad),
            Problem::ExtSignatureChecksum { offset: 0, index: 1, signature: P4.signature }
        );

        // The table's checksum off.
        let mut bad = good.clone();
        add(&mut bad, table + 4, 1);
        assert_eq!(problem("06-8f-07", &bad), Problem::ExtTableChecksum { offset: 0, sum: 1 });

        // A count that does not match the table's size.
        let mut bad = good.clone();
        set(&mut bad, table, 3);
        assert_eq!(problem("06-8f-07", &bad), Problem::ExtTableCount { offset: 0, count: 3, size: 20 + 24 });
        let mut bad = good.clone();
        set(&mut bad, table, u32::MAX);
        assert!(matches!(problem("06-8f-07", &bad), Problem::ExtTableCount { count: u32::MAX, .. }));

        // A table that is not 20 + 12 × n bytes (total size grown by 4, the bytes appended).
        let mut bad = good.clone();
        add(&mut bad, 32, 4);
        add(&mut bad, 16, 0u32.wrapping_sub(4));
        bad.extend_from_slice(&[0; 4]);
        assert_eq!(problem("06-8f-07", &bad), Problem::ExtTableSize { offset: 0, size: 20 + 24 + 4 });
    }
}
