//! [`unpack_trees`]: file-system trees (the data archives of Debian packages) unpacked one after
//! another into one destination, with absolute symlink targets kept inside it.

use std::path::PathBuf;

use talos_ext_archive::{ArchiveFormat, Refusal, TreeLayer, UnpackError, unpack_trees};

use crate::support::*;

fn layer(name: &str, bytes: Vec<u8>) -> TreeLayer {
    TreeLayer { origin: PathBuf::from(name), stream: Box::new(std::io::Cursor::new(bytes)) }
}

#[test]
fn layers_merge_and_absolute_links_point_inside_the_tree() {
    let sandbox = Sandbox::new();
    let common = tar_of(&[
        dir("./"),
        dir("./usr/"),
        file("./usr/src/common/Makefile", 0o644, "common"),
        file("./usr/src/common/replaced", 0o644, "first"),
    ]);
    let arch = tar_of(&[
        dir("./"),
        symlink("./lib/modules/6.12/build", "/usr/src/arch"),
        symlink("./lib/modules/6.12/source", "/usr/src/common/"),
        symlink("./root-link", "/"),
        file("./usr/src/arch/Makefile", 0o755, "arch"),
        file("./usr/src/common/replaced", 0o644, "second"),
    ]);
    let summaries = unpack_trees(
        vec![layer("common.deb:data.tar.xz", xz(&common)), layer("arch.deb:data.tar.zst", zst(&arch))],
        &sandbox.dest(),
    )
    .unwrap();
    let formats: Vec<ArchiveFormat> = summaries.iter().map(|s| s.format).collect();
    assert_eq!(formats, [ArchiveFormat::TarXz, ArchiveFormat::TarZst]);
    assert_eq!(summaries.iter().map(|s| s.entries).collect::<Vec<_>>(), [3, 5]);
    assert_eq!(
        describe(&sandbox.dest()),
        [
            "lib/ 755",
            "lib/modules/ 755",
            "lib/modules/6.12/ 755",
            "lib/modules/6.12/build -> ../../../usr/src/arch",
            "lib/modules/6.12/source -> ../../../usr/src/common",
            "root-link -> .",
            "usr/ 755",
            "usr/src/ 755",
            "usr/src/arch/ 755",
            "usr/src/arch/Makefile 755 \"arch\"",
            "usr/src/common/ 755",
            "usr/src/common/Makefile 644 \"common\"",
            "usr/src/common/replaced 644 \"second\"",
        ]
        .join("\n")
    );
    assert_eq!(std::fs::read_to_string(sandbox.dest().join("lib/modules/6.12/build/Makefile")).unwrap(), "arch");
}

#[track_caller]
fn refused(layers: Vec<TreeLayer>) -> UnpackError {
    let sandbox = Sandbox::new();
    let before = sandbox.snapshot();
    let err = unpack_trees(layers, &sandbox.dest()).unwrap_err();
    assert_eq!(sandbox.snapshot(), before, "the sandbox changed; error was {err}");
    err
}

#[test]
fn an_absolute_link_that_climbs_out_of_the_tree_is_refused() {
    let tree = tar_of(&[symlink("./etc/passwd-link", "/../../etc/passwd")]);
    match refused(vec![layer("evil.deb:data.tar.gz", gz(&tree))]) {
        UnpackError::Refused { archive, entry, reason: Refusal::SymlinkEscape { target } } => {
            assert_eq!(
                (archive, entry.as_str(), target.as_str()),
                (PathBuf::from("evil.deb:data.tar.gz"), "./etc/passwd-link", "/../../etc/passwd")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_later_layer_cannot_make_an_earlier_link_escape() {
    // `l -> e/..` resolves to the root while `e` does not exist; once the second layer adds
    // `e -> .`, it resolves to the root's parent.
    let first = tar_of(&[symlink("l", "e/..")]);
    let second = tar_of(&[symlink("e", ".")]);
    match refused(vec![layer("first.deb", first), layer("second.deb", second)]) {
        UnpackError::Refused { archive, entry, reason: Refusal::SymlinkEscape { .. } } => {
            assert_eq!((archive, entry.as_str()), (PathBuf::from("first.deb"), "l"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn hostile_names_and_writes_through_links_are_refused_in_any_layer() {
    let good = tar_of(&[symlink("./usr/lib", "/tmp"), file("./usr/share/a", 0o644, "a")]);
    let through = tar_of(&[file("./usr/lib/evil", 0o644, "x")]);
    match refused(vec![layer("good.deb", good.clone()), layer("through.deb", through)]) {
        UnpackError::Refused { archive, reason: Refusal::ThroughSymlink { parent }, .. } => {
            assert_eq!((archive, parent.as_str()), (PathBuf::from("through.deb"), "usr/lib"));
        }
        other => panic!("{other:?}"),
    }
    let dotdot = tar_of(&[file("./usr/../../x", 0o644, "x")]);
    match refused(vec![layer("good.deb", good.clone()), layer("dotdot.deb", dotdot)]) {
        UnpackError::Refused { archive, reason: Refusal::Name(_), .. } => {
            assert_eq!(archive, PathBuf::from("dotdot.deb"))
        }
        other => panic!("{other:?}"),
    }
    let device = tar_of(&[special("./dev/sda", tar::EntryType::Block)]);
    assert!(matches!(
        refused(vec![layer("device.deb", device)]),
        UnpackError::Refused { reason: Refusal::Unsupported { .. }, .. }
    ));
    let replaces_dir = tar_of(&[file("./usr/share", 0o644, "not a directory")]);
    assert!(matches!(
        refused(vec![layer("good.deb", good), layer("replaces.deb", replaces_dir)]),
        UnpackError::Refused { reason: Refusal::Conflict { .. }, .. }
    ));
}

#[test]
fn a_layer_that_is_no_tar_stream_is_refused() {
    let zip = zip_of(&[file("a", 0o644, "a")]);
    for bytes in [b"not an archive at all".to_vec(), zip] {
        match refused(vec![layer("odd.deb:data.tar", bytes)]) {
            UnpackError::UnknownFormat { archive } => assert_eq!(archive, PathBuf::from("odd.deb:data.tar")),
            other => panic!("{other:?}"),
        }
    }
}
