//! Well-formed archives in every supported format unpack to the expected tree, with only exec
//! bits kept, no mtimes preserved, and the format detected from content rather than the name.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use talos_ext_archive::{ArchiveFormat, UnpackError, UnpackOptions, detect_format, unpack};
use talos_ext_process::Command;

use crate::support::*;

fn upstream_tree() -> Vec<Entry> {
    vec![
        dir("pkg-1.0/"),
        file("pkg-1.0/README", 0o664, "read me\n"),
        file("pkg-1.0/configure", 0o775, "#!/bin/sh\necho configured\n"),
        dir("pkg-1.0/src/"),
        file("pkg-1.0/src/main.c", 0o600, "int main(void) { return 0; }\n"),
        file("pkg-1.0/src/tool.sh", 0o700, "#!/bin/sh\n"),
        symlink("pkg-1.0/src/alias.c", "main.c"),
        symlink("pkg-1.0/docs", "src/../README"),
        // No directory entry for `pkg-1.0/empty/sub`'s parents.
        dir("pkg-1.0/empty/sub/"),
    ]
}

const EXPECTED: &str = r##"README 644 "read me\n"
configure 755 "#!/bin/sh\necho configured\n"
docs -> src/../README
empty/ 755
empty/sub/ 755
src/ 755
src/alias.c -> main.c
src/main.c 644 "int main(void) { return 0; }\n"
src/tool.sh 755 "#!/bin/sh\n""##;

#[track_caller]
fn check_unpacks(file_name: &str, bytes: &[u8], format: ArchiveFormat) {
    let sandbox = Sandbox::new();
    let archive = sandbox.archive(file_name, bytes);
    assert_eq!(detect_format(&archive).unwrap(), format);
    let summary = unpack(&archive, &sandbox.dest(), &UnpackOptions { strip_components: 1 }).unwrap();
    assert_eq!(summary.format, format);
    assert_eq!(summary.top_level.as_deref(), Some("pkg-1.0"));
    assert_eq!(summary.entries, 8);
    assert_eq!(summary.skipped, 1);
    assert_eq!(summary.bytes, 8 + 26 + 29 + 10);
    assert_eq!(summary.dest, fs::canonicalize(sandbox.dest()).unwrap());
    assert_eq!(describe(&sandbox.dest()), EXPECTED);
    assert_eq!(fs::symlink_metadata(sandbox.dest()).unwrap().mode() & 0o7777, 0o755);
    // mtimes are not preserved: files are as new as the unpacking.
    let mtime = fs::metadata(sandbox.dest().join("README")).unwrap().modified().unwrap();
    assert!(mtime > SystemTime::UNIX_EPOCH + Duration::from_secs(OLD_MTIME + 1));
    // Nothing but the destination appeared beside it: the temporary directory was renamed.
    let siblings: Vec<_> = fs::read_dir(sandbox.root().join("work")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(siblings, vec![std::ffi::OsString::from("dest")]);
}

#[test]
fn plain_tar() {
    check_unpacks("pkg-1.0.tar", &tar_of(&upstream_tree()), ArchiveFormat::Tar);
}

#[test]
fn tar_gz() {
    check_unpacks("pkg-1.0.tar.gz", &gz(&tar_of(&upstream_tree())), ArchiveFormat::TarGz);
}

#[test]
fn tar_xz() {
    check_unpacks("pkg-1.0.tar.xz", &xz(&tar_of(&upstream_tree())), ArchiveFormat::TarXz);
}

#[test]
fn tar_bz2() {
    check_unpacks("pkg-1.0.tar.bz2", &bz2(&tar_of(&upstream_tree())), ArchiveFormat::TarBz2);
}

#[test]
fn tar_zst() {
    check_unpacks("pkg-1.0.tar.zst", &zst(&tar_of(&upstream_tree())), ArchiveFormat::TarZst);
}

#[test]
fn zip() {
    check_unpacks("pkg-1.0.zip", &zip_of(&upstream_tree()), ArchiveFormat::Zip);
}

#[test]
fn format_comes_from_content_not_name() {
    check_unpacks("pkg-1.0.zip", &xz(&tar_of(&upstream_tree())), ArchiveFormat::TarXz);
    check_unpacks("download", &zst(&tar_of(&upstream_tree())), ArchiveFormat::TarZst);
}

#[test]
fn unknown_format_is_refused() {
    let sandbox = Sandbox::new();
    let archive = sandbox.archive("pkg.tar.gz", b"<html>not found</html>");
    let err = unpack(&archive, &sandbox.dest(), &UnpackOptions::default()).unwrap_err();
    assert!(matches!(err, UnpackError::UnknownFormat { .. }), "{err:?}");
    assert!(!sandbox.dest().exists());
}

#[test]
fn concatenated_gzip_members_are_read() {
    let tar = tar_of(&upstream_tree());
    let (head, tail) = tar.split_at(1024);
    let mut bytes = gz(head);
    bytes.extend(gz(tail));
    check_unpacks("pkg-1.0.tar.gz", &bytes, ArchiveFormat::TarGz);
}

#[test]
fn hardlink_to_earlier_file() {
    let sandbox = Sandbox::new();
    let entries = [file("pkg/a", 0o755, "same inode\n"), hardlink("pkg/b", "pkg/a")];
    let archive = sandbox.archive("pkg.tar.gz", &gz(&tar_of(&entries)));
    let summary = unpack(&archive, &sandbox.dest(), &UnpackOptions { strip_components: 1 }).unwrap();
    assert_eq!(summary.entries, 2);
    let a = fs::metadata(sandbox.dest().join("a")).unwrap();
    let b = fs::metadata(sandbox.dest().join("b")).unwrap();
    assert_eq!((a.ino(), a.nlink()), (b.ino(), 2));
}

#[test]
fn without_stripping_several_top_level_entries_are_fine() {
    let sandbox = Sandbox::new();
    let entries = [dir("./"), file("./a.txt", 0o644, "a\n"), file("b/c.txt", 0o644, "c\n")];
    let archive = sandbox.archive("flat.tar", &tar_of(&entries));
    let summary = unpack(&archive, &sandbox.dest(), &UnpackOptions::default()).unwrap();
    assert_eq!(summary.top_level, None);
    assert_eq!(summary.skipped, 1);
    assert_eq!(describe(&sandbox.dest()), "a.txt 644 \"a\\n\"\nb/ 755\nb/c.txt 644 \"c\\n\"");
}

#[test]
fn strip_two_components() {
    let sandbox = Sandbox::new();
    let entries = [dir("pkg/"), dir("pkg/inner/"), file("pkg/inner/a", 0o644, "a\n")];
    let archive = sandbox.archive("pkg.tar", &tar_of(&entries));
    let summary = unpack(&archive, &sandbox.dest(), &UnpackOptions { strip_components: 2 }).unwrap();
    assert_eq!((summary.entries, summary.skipped), (1, 2));
    assert_eq!(describe(&sandbox.dest()), "a 644 \"a\\n\"");
}

#[test]
fn empty_existing_destination_is_replaced() {
    let sandbox = Sandbox::new();
    fs::create_dir(sandbox.dest()).unwrap();
    let archive = sandbox.archive("pkg.tar", &tar_of(&[file("pkg/a", 0o644, "a\n")]));
    unpack(&archive, &sandbox.dest(), &UnpackOptions { strip_components: 1 }).unwrap();
    assert_eq!(describe(&sandbox.dest()), "a 644 \"a\\n\"");
}

#[test]
fn non_empty_destination_is_refused_and_kept() {
    let sandbox = Sandbox::new();
    fs::create_dir(sandbox.dest()).unwrap();
    fs::write(sandbox.dest().join("keep"), "mine\n").unwrap();
    let archive = sandbox.archive("pkg.tar", &tar_of(&[file("pkg/a", 0o644, "a\n")]));
    let before = sandbox.snapshot();
    let err = unpack(&archive, &sandbox.dest(), &UnpackOptions { strip_components: 1 }).unwrap_err();
    assert!(matches!(err, UnpackError::DestinationExists { .. }), "{err:?}");
    assert_eq!(sandbox.snapshot(), before);
}

#[test]
fn later_file_replaces_symlink_without_following_it() {
    let sandbox = Sandbox::new();
    let entries =
        [file("pkg/target", 0o644, "original\n"), symlink("pkg/l", "target"), file("pkg/l", 0o644, "replacement\n")];
    let archive = sandbox.archive("pkg.tar", &tar_of(&entries));
    unpack(&archive, &sandbox.dest(), &UnpackOptions { strip_components: 1 }).unwrap();
    assert_eq!(describe(&sandbox.dest()), "l 644 \"replacement\\n\"\ntarget 644 \"original\\n\"");
}

/// Builds a tree with long names, modes and links, and archives it with the real GNU `tar`.
fn gnu_tar(sandbox: &Sandbox, format: &str, compress: &str, file_name: &str) -> std::path::PathBuf {
    let src = sandbox.root().join("tree");
    let top = src.join("util-linux-2.40");
    let deep = top.join("a-rather-long-directory-name-to-push-paths-past-one-hundred-bytes").join("and-then-some-more");
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("a-file-with-a-long-name-as-well.c"), "/* deep */\n").unwrap();
    fs::write(top.join("autogen.sh"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(top.join("autogen.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("autogen.sh", top.join("bootstrap")).unwrap();
    fs::hard_link(top.join("autogen.sh"), top.join("autogen-copy.sh")).unwrap();
    let archive = sandbox.root().join(file_name);
    Command::new("tar")
        .arg(format!("--format={format}"))
        .arg(compress)
        .arg("-cf")
        .arg(&archive)
        .arg("-C")
        .arg(&src)
        .arg("util-linux-2.40")
        .run()
        .unwrap_or_else(|e| panic!("{e}"));
    fs::remove_dir_all(&src).unwrap();
    archive
}

#[track_caller]
fn check_gnu_tar(format: &str, compress: &str, file_name: &str, expect: ArchiveFormat) {
    let sandbox = Sandbox::new();
    let archive = gnu_tar(&sandbox, format, compress, file_name);
    let summary = unpack(&archive, &sandbox.dest(), &UnpackOptions { strip_components: 1 }).unwrap();
    assert_eq!(summary.format, expect);
    assert_eq!(summary.top_level.as_deref(), Some("util-linux-2.40"));
    let tree = describe(&sandbox.dest());
    let expected = r##"a-rather-long-directory-name-to-push-paths-past-one-hundred-bytes/ 755
a-rather-long-directory-name-to-push-paths-past-one-hundred-bytes/and-then-some-more/ 755
a-rather-long-directory-name-to-push-paths-past-one-hundred-bytes/and-then-some-more/a-file-with-a-long-name-as-well.c 644 "/* deep */\n"
autogen-copy.sh 755 "#!/bin/sh\n"
autogen.sh 755 "#!/bin/sh\n"
bootstrap -> autogen.sh"##;
    assert_eq!(tree, expected);
    assert!(Path::new(&sandbox.dest()).join("autogen.sh").exists());
}

#[test]
fn gnu_tar_cli_xz_gnu_format() {
    check_gnu_tar("gnu", "-J", "util-linux-2.40.tar.xz", ArchiveFormat::TarXz);
}

#[test]
fn gnu_tar_cli_gz_pax_format() {
    check_gnu_tar("pax", "-z", "util-linux-2.40.tar.gz", ArchiveFormat::TarGz);
}

#[test]
fn gnu_tar_cli_bz2_ustar_format() {
    check_gnu_tar("ustar", "-j", "util-linux-2.40.tar.bz2", ArchiveFormat::TarBz2);
}

#[test]
fn gnu_tar_cli_zstd_posix_format() {
    check_gnu_tar("posix", "--zstd", "util-linux-2.40.tar.zst", ArchiveFormat::TarZst);
}
