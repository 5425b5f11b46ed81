//! Extracting `.deb` files in Rust, as `dpkg -x` does, with the guards of `talos-ext-archive`.
//!
//! A `.deb` is an `ar` archive: `debian-binary` (`2.0`), `control.tar.*`, `data.tar.*`. Only
//! `data.tar` (plain, xz, zstd, gzip or bzip2; detected by content) is read, as a stream, and
//! unpacked with [`talos_ext_archive::unpack_trees`]: no `..`, no device nodes, nothing written
//! through a symlink, and an absolute link target (`lib/modules/<release>/build ->
//! /usr/src/linux-headers-<release>`) kept inside the destination. Owners, times and modes other
//! than the exec bit are not kept.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use talos_ext_archive::{TreeLayer, UnpackSummary, unpack_trees};

use crate::DebianError;

const AR_MAGIC: &[u8; 8] = b"!<arch>\n";
const AR_HEADER: usize = 60;

/// Extracts the files of the `.deb`s `debs` into `dest` (which must not exist or be an empty
/// directory), one after another as dpkg would install them: a later package's file replaces an
/// earlier one's. Returns a summary per package. On error nothing is left at `dest`.
pub fn extract_debs(debs: &[PathBuf], dest: &Path) -> Result<Vec<UnpackSummary>, DebianError> {
    let layers = debs.iter().map(|deb| data_member(deb)).collect::<Result<Vec<_>, _>>()?;
    unpack_trees(layers, dest)
        .map_err(|cause| DebianError::Extract { dest: dest.to_path_buf(), cause: Box::new(cause) })
}

/// The `data.tar*` member of `deb` as a stream (named `<deb>:data.tar.xz` in messages).
fn data_member(deb: &Path) -> Result<TreeLayer, DebianError> {
    let not_a_deb = |reason: String| DebianError::NotADeb { deb: deb.to_path_buf(), reason };
    let mut file = File::open(deb).map_err(DebianError::io("open", deb))?;
    let mut magic = [0u8; 8];
    file.read_exact(&mut magic).map_err(|e| not_a_deb(format!("cannot read its start: {e}")))?;
    if &magic != AR_MAGIC {
        return Err(not_a_deb("it is not an `ar` archive".into()));
    }
    let mut offset = AR_MAGIC.len() as u64;
    let mut first = true;
    loop {
        let mut header = [0u8; AR_HEADER];
        match file.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(not_a_deb("it has no `data.tar` member".into()));
            }
            Err(e) => return Err(DebianError::io("read", deb)(e)),
        }
        if &header[58..60] != b"`\n" {
            return Err(not_a_deb(format!("a broken `ar` member header at byte {offset}")));
        }
        let name = String::from_utf8_lossy(&header[..16]).trim_end().trim_end_matches('/').to_string();
        let size: u64 = std::str::from_utf8(&header[48..58])
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| not_a_deb(format!("member `{name}` has no valid size")))?;
        offset += AR_HEADER as u64;
        if first && name != "debian-binary" {
            return Err(not_a_deb(format!("its first member is `{name}`, not `debian-binary`")));
        }
        first = false;
        if name.starts_with("data.tar") {
            let origin = PathBuf::from(format!("{}:{name}", deb.display()));
            return Ok(TreeLayer { origin, stream: Box::new(std::io::BufReader::new(file).take(size)) });
        }
        // Members are padded to an even size.
        offset += size + size % 2;
        file.seek(SeekFrom::Start(offset)).map_err(DebianError::io("read", deb))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `ar` archive of `members`.
    pub(crate) fn ar(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut out = AR_MAGIC.to_vec();
        for (name, data) in members {
            out.extend(format!("{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n", 0, 0, 0, "100644", data.len()).as_bytes());
            out.extend(data);
            if data.len() % 2 == 1 {
                out.push(b'\n');
            }
        }
        out
    }

    fn tar(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            // The name is written as it is (`append_data` would refuse `..`).
            let mut header = tar::Header::new_gnu();
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append(&header, data.as_bytes()).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn extracts_the_data_member_of_each_package_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        let first = tmp.path().join("a_1_all.deb");
        let second = tmp.path().join("b_1_amd64.deb");
        let data = tar(&[("./usr/share/a", "first"), ("./usr/share/shared", "from a")]);
        std::fs::write(
            &first,
            ar(&[("debian-binary", b"2.0\n".to_vec()), ("control.tar.xz", b"odd".to_vec()), ("data.tar", data)]),
        )
        .unwrap();
        let data = tar(&[("./usr/share/shared", "from b")]);
        std::fs::write(&second, ar(&[("debian-binary/", b"2.0\n".to_vec()), ("data.tar", data)])).unwrap();
        let dest = tmp.path().join("tree");
        let summaries = extract_debs(&[first, second], &dest).unwrap();
        assert_eq!(summaries.iter().map(|s| s.entries).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(std::fs::read_to_string(dest.join("usr/share/a")).unwrap(), "first");
        assert_eq!(std::fs::read_to_string(dest.join("usr/share/shared")).unwrap(), "from b");
    }

    #[test]
    fn refuses_what_is_not_a_deb() {
        let tmp = tempfile::tempdir().unwrap();
        let cases: [(&str, Vec<u8>, &str); 4] = [
            ("plain.deb", b"hello world, not an archive".to_vec(), "not an `ar` archive"),
            ("nodata.deb", ar(&[("debian-binary", b"2.0\n".to_vec())]), "no `data.tar` member"),
            ("order.deb", ar(&[("data.tar", tar(&[("a", "a")]))]), "first member is `data.tar`"),
            (
                "hostile.deb",
                ar(&[("debian-binary", b"2.0\n".to_vec()), ("data.tar", tar(&[("../x", "x")]))]),
                "refused",
            ),
        ];
        for (name, bytes, expect) in cases {
            let deb = tmp.path().join(name);
            std::fs::write(&deb, bytes).unwrap();
            let dest = tmp.path().join(format!("{name}.tree"));
            let err = extract_debs(&[deb], &dest).unwrap_err().to_string();
            assert!(err.contains(expect) && err.contains(name), "{name}: {err}");
            assert!(!dest.exists(), "{name}: nothing is left behind");
        }
    }
}
