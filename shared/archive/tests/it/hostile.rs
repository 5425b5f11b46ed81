//! Hostile archives: each is refused with an error naming the offending entry, and the sandbox
//! around the destination (a sentinel file `x` beside `work/`) is byte-for-byte unchanged, with no
//! partial destination and no leftover temporary directory.

use std::path::Path;

use talos_ext_archive::{NameProblem, Refusal, UnpackError, UnpackOptions, unpack};
use tar::EntryType;

use crate::support::*;

/// Unpacks `bytes` with `strip` components, asserts it was refused without any change to the
/// sandbox, and returns the refused entry and the reason.
#[track_caller]
fn refused(file_name: &str, bytes: &[u8], strip: usize) -> (String, Refusal) {
    let sandbox = Sandbox::new();
    let archive = sandbox.archive(file_name, bytes);
    let before = sandbox.snapshot();
    let err = unpack(&archive, &sandbox.dest(), &UnpackOptions { strip_components: strip }).unwrap_err();
    assert_eq!(sandbox.snapshot(), before, "the sandbox changed; error was {err}");
    assert!(!sandbox.dest().exists());
    let message = err.to_string();
    match err {
        UnpackError::Refused { entry, reason, archive: path } => {
            assert_eq!(path, archive);
            assert!(message.contains(&format!("`{}`", entry.escape_debug())), "{message}");
            (entry, reason)
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[track_caller]
fn check_tar(entries: &[Entry], expect_entry: &str, expect: Refusal) {
    for (file_name, bytes) in [("evil.tar", tar_of(entries)), ("evil.tar.gz", gz(&tar_of(entries)))] {
        let (entry, reason) = refused(file_name, &bytes, 1);
        assert_eq!((entry.as_str(), reason), (expect_entry, expect.clone()), "{file_name}");
    }
}

#[track_caller]
fn check_zip(entries: &[Entry], expect_entry: &str, expect: Refusal) {
    let (entry, reason) = refused("evil.zip", &zip_of(entries), 1);
    assert_eq!((entry.as_str(), reason), (expect_entry, expect));
}

fn name(problem: NameProblem) -> Refusal {
    Refusal::Name(problem)
}

#[test]
fn parent_dir_entries() {
    let entries = [dir("pkg/"), file("pkg/ok", 0o644, "ok\n"), file("pkg/../../x", 0o644, "pwned\n")];
    check_tar(&entries, "pkg/../../x", name(NameProblem::ParentDir));
    check_zip(&entries, "pkg/../../x", name(NameProblem::ParentDir));
    check_tar(&[file("../x", 0o644, "pwned\n")], "../x", name(NameProblem::ParentDir));
}

#[test]
fn absolute_paths() {
    let target = std::env::temp_dir().join("talos-ext-archive-absolute-evil");
    let abs = target.to_str().unwrap();
    let entries = [dir("pkg/"), file(abs, 0o644, "pwned\n")];
    check_tar(&entries, abs, name(NameProblem::Absolute));
    check_zip(&entries, abs, name(NameProblem::Absolute));
    assert!(!target.exists());
}

#[test]
fn symlink_to_etc_then_write_through_it() {
    let entries = [dir("pkg/"), symlink("pkg/link", "/etc"), file("pkg/link/talos-ext-archive-evil", 0o644, "pwned\n")];
    check_tar(&entries, "pkg/link", Refusal::AbsoluteSymlink { target: "/etc".into() });
    check_zip(&entries, "pkg/link", Refusal::AbsoluteSymlink { target: "/etc".into() });
    assert!(!Path::new("/etc/talos-ext-archive-evil").exists());
}

#[test]
fn write_through_an_inside_symlink_is_refused() {
    // Even a symlink that stays inside is never followed when creating entries.
    let entries = [dir("pkg/"), dir("pkg/sub/"), symlink("pkg/inner", "sub"), file("pkg/inner/evil", 0o644, "x\n")];
    check_tar(&entries, "pkg/inner/evil", Refusal::ThroughSymlink { parent: "inner".into() });
    check_zip(&entries, "pkg/inner/evil", Refusal::ThroughSymlink { parent: "inner".into() });
    let entries = [dir("pkg/"), symlink("pkg/up", "."), dir("pkg/up/d/")];
    check_tar(&entries, "pkg/up/d/", Refusal::ThroughSymlink { parent: "up".into() });
}

#[test]
fn relative_escaping_symlinks() {
    for target in ["../../x", "..", "sub/../../..", "./../dest-sibling"] {
        let entries = [dir("pkg/"), symlink("pkg/a", target), file("pkg/a/evil", 0o644, "pwned\n")];
        check_tar(&entries, "pkg/a", Refusal::SymlinkEscape { target: target.into() });
        check_zip(&entries, "pkg/a", Refusal::SymlinkEscape { target: target.into() });
    }
    let entries = [dir("pkg/"), dir("pkg/d/"), symlink("pkg/d/e", "../../x")];
    check_tar(&entries, "pkg/d/e", Refusal::SymlinkEscape { target: "../../x".into() });
}

#[test]
fn symlink_chain_escaping_through_a_later_link() {
    // `z -> d/up/..` looks harmless while `d/up` is missing, and `d/up -> ..` stays inside; together
    // `z` resolves to the destination's parent.
    let entries = [dir("pkg/"), dir("pkg/d/"), symlink("pkg/z", "d/up/.."), symlink("pkg/d/up", "..")];
    check_tar(&entries, "pkg/z", Refusal::SymlinkEscape { target: "d/up/..".into() });
    // And the other order is caught when the second link is created.
    let entries = [dir("pkg/"), dir("pkg/d/"), symlink("pkg/d/up", ".."), symlink("pkg/z", "d/up/..")];
    check_tar(&entries, "pkg/z", Refusal::SymlinkEscape { target: "d/up/..".into() });
}

#[test]
fn symlink_loop_is_refused() {
    let entries = [dir("pkg/"), symlink("pkg/a", "b"), symlink("pkg/b", "a/c")];
    check_tar(&entries, "pkg/a", Refusal::SymlinkEscape { target: "b".into() });
}

#[test]
fn hardlinks_outside_or_missing() {
    let entries = [dir("pkg/"), hardlink("pkg/passwd", "/etc/passwd")];
    let bad = |target: &str, problem| Refusal::BadHardlinkTarget { target: target.into(), problem };
    check_tar(&entries, "pkg/passwd", bad("/etc/passwd", NameProblem::Absolute));
    let entries = [dir("pkg/"), hardlink("pkg/x", "../x")];
    check_tar(&entries, "pkg/x", bad("../x", NameProblem::ParentDir));
    let entries = [dir("pkg/"), hardlink("pkg/x", "pkg/../../x")];
    check_tar(&entries, "pkg/x", bad("pkg/../../x", NameProblem::ParentDir));
    // Not extracted yet (it comes later).
    let entries = [dir("pkg/"), hardlink("pkg/early", "pkg/late"), file("pkg/late", 0o644, "late\n")];
    check_tar(&entries, "pkg/early", Refusal::HardlinkTargetMissing { target: "pkg/late".into() });
    // A hardlink to a symlink (or through one) is not a link to an extracted regular file.
    let entries = [dir("pkg/"), dir("pkg/d/"), symlink("pkg/s", "d"), hardlink("pkg/h", "pkg/s")];
    check_tar(&entries, "pkg/h", Refusal::HardlinkTargetMissing { target: "pkg/s".into() });
}

#[test]
fn device_nodes_and_fifos() {
    let entries = [dir("pkg/"), special("pkg/null", EntryType::Char)];
    check_tar(&entries, "pkg/null", Refusal::Unsupported { kind: "character device" });
    let entries = [dir("pkg/"), special("pkg/sda", EntryType::Block)];
    check_tar(&entries, "pkg/sda", Refusal::Unsupported { kind: "block device" });
    let entries = [dir("pkg/"), special("pkg/fifo", EntryType::Fifo)];
    check_tar(&entries, "pkg/fifo", Refusal::Unsupported { kind: "fifo" });
}

#[test]
fn nul_and_control_characters_in_names() {
    let entries = [dir("pkg/"), raw_file(b"pkg/a\0b", "x\n")];
    check_tar(&entries, "pkg/a\0b", name(NameProblem::Nul));
    let entries = [dir("pkg/"), raw_file(b"pkg/\x1b[2Jclear", "x\n")];
    check_tar(&entries, "pkg/\x1b[2Jclear", name(NameProblem::ControlCharacter { byte: 0x1b }));
    let entries = [dir("pkg/"), raw_file(b"pkg/line\nbreak", "x\n")];
    check_tar(&entries, "pkg/line\nbreak", name(NameProblem::ControlCharacter { byte: b'\n' }));
    let entries = [dir("pkg/"), file("pkg/tab\there", 0o644, "x\n")];
    check_zip(&entries, "pkg/tab\there", name(NameProblem::ControlCharacter { byte: b'\t' }));
    let entries = [dir("pkg/"), symlink("pkg/l", "a\x07b")];
    check_tar(
        &entries,
        "pkg/l",
        Refusal::BadSymlinkTarget { target: "a\x07b".into(), problem: NameProblem::ControlCharacter { byte: 7 } },
    );
}

#[test]
fn non_directories_that_strip_to_nothing() {
    check_tar(&[file("pkg", 0o644, "x\n")], "pkg", Refusal::StrippedAway);
    check_tar(&[dir("pkg/"), file("./", 0o644, "x\n")], "./", name(NameProblem::Empty));
}

#[test]
fn conflicts_between_entries() {
    let entries = [dir("pkg/"), dir("pkg/d/"), file("pkg/d", 0o644, "x\n")];
    check_tar(&entries, "pkg/d", Refusal::Conflict { path: "d".into(), existing: "directory" });
    let entries = [dir("pkg/"), file("pkg/f", 0o644, "x\n"), file("pkg/f/g", 0o644, "x\n")];
    check_tar(&entries, "pkg/f/g", Refusal::ParentNotDirectory { parent: "f".into() });
}

#[test]
fn several_top_level_entries_cannot_be_stripped() {
    let sandbox = Sandbox::new();
    let entries = [file("a/x", 0o644, "x\n"), file("b/y", 0o644, "y\n")];
    let archive = sandbox.archive("two.tar", &tar_of(&entries));
    let before = sandbox.snapshot();
    let err = unpack(&archive, &sandbox.dest(), &UnpackOptions { strip_components: 1 }).unwrap_err();
    match &err {
        UnpackError::NonSingularArchive { first, other, .. } => {
            assert_eq!((first.as_str(), other.as_str()), ("a", "b"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sandbox.snapshot(), before);
}

#[test]
fn empty_archives() {
    for entries in [vec![], vec![dir("pkg/")]] {
        let sandbox = Sandbox::new();
        let archive = sandbox.archive("empty.tar", &tar_of(&entries));
        let before = sandbox.snapshot();
        let err = unpack(&archive, &sandbox.dest(), &UnpackOptions { strip_components: 1 }).unwrap_err();
        assert!(matches!(err, UnpackError::EmptyArchive { .. }), "{err:?}");
        assert_eq!(sandbox.snapshot(), before);
    }
}

#[test]
fn refusal_message_names_entry_and_archive() {
    let sandbox = Sandbox::new();
    let archive = sandbox.archive("evil.tar", &tar_of(&[file("../x", 0o644, "pwned\n")]));
    let err = unpack(&archive, &sandbox.dest(), &UnpackOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("refused entry `../x` in archive `{}`: the path has a `..` component", archive.display())
    );
}
