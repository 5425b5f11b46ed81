//! Trees read from tar streams: the same rules as directory trees, plus tar-only entry kinds
//! (hardlinks, device nodes) and stream quirks (`./` prefixes, implied parents, duplicates).

use talos_ext_validate::{EntryKind, Rule, Tree, validate_tar};

use crate::support::{TarItem, base_tar_items, expect_both, opts, tar_stream, tar_tree};

fn with(extra: Vec<TarItem>) -> Tree {
    let mut items = base_tar_items();
    items.extend(extra);
    tar_tree(&items)
}

#[test]
fn valid_tar_passes_and_has_implied_parents() {
    let tree = with(vec![]);
    expect_both(&tree, &[], &[]);
    let etc = tree.get("rootfs/usr/local/etc").expect("implied parent");
    assert_eq!((etc.kind.clone(), etc.mode), (EntryKind::Dir, 0o700));
    assert!(tree.contents("rootfs/usr/local/etc/containers/hello.yaml").is_some());
    assert!(tree.contents("rootfs/usr/local/bin/hello").is_none());
    let report = validate_tar(tar_stream(&base_tar_items()).as_slice(), &opts(true)).unwrap();
    assert!(report.is_ok(), "{report}");
}

#[test]
fn tar_hardlink_is_strict_only() {
    let tree = with(vec![TarItem::Hardlink("rootfs/usr/local/bin/again", "./rootfs/usr/local/bin/hello")]);
    let entry = tree.get("rootfs/usr/local/bin/again").unwrap();
    assert_eq!(entry.kind, EntryKind::Hardlink("rootfs/usr/local/bin/hello".to_string()));
    expect_both(&tree, &[], &[(Rule::Hardlink, "/usr/local/bin/again")]);
}

#[test]
fn tar_hardlink_outside_the_allowlist_is_still_checked() {
    let tree = with(vec![TarItem::Hardlink("rootfs/etc/x", "rootfs/usr/local/bin/hello")]);
    expect_both(
        &tree,
        &[(Rule::PathNotAllowed, "/etc/x")],
        &[(Rule::PathNotAllowed, "/etc/x"), (Rule::Hardlink, "/etc/x")],
    );
}

#[test]
fn tar_device_nodes_and_fifos() {
    let tree = with(vec![
        TarItem::Char("rootfs/usr/local/null"),
        TarItem::Block("rootfs/usr/local/sda"),
        TarItem::Fifo("rootfs/usr/local/fifo"),
    ]);
    let found = [
        (Rule::SpecialFile, "/usr/local/fifo"),
        (Rule::SpecialFile, "/usr/local/null"),
        (Rule::SpecialFile, "/usr/local/sda"),
    ];
    expect_both(&tree, &found, &found);
}

#[test]
fn tar_symlinks_and_modes() {
    let tree = with(vec![
        TarItem::Symlink("rootfs/usr/local/bin/out", "../../../../x"),
        TarItem::Symlink("rootfs/usr/local/bin/ok", "/usr/local/bin/hello"),
        TarItem::File("rootfs/usr/local/bin/suid", 0o4755, vec![]),
        TarItem::Dir("rootfs/usr/local/tmp", 0o1777),
    ]);
    expect_both(
        &tree,
        &[],
        &[
            (Rule::SymlinkEscape, "/usr/local/bin/out"),
            (Rule::Setuid, "/usr/local/bin/suid"),
            (Rule::WorldWritable, "/usr/local/tmp"),
        ],
    );
}

#[test]
fn tar_duplicates_keep_the_first_entry() {
    let tree = with(vec![TarItem::File("rootfs/usr/local/etc/containers/hello.yaml", 0o644, b"name: BAD\n".to_vec())]);
    assert_eq!(tree.duplicates(), ["rootfs/usr/local/etc/containers/hello.yaml"]);
    expect_both(&tree, &[], &[(Rule::DuplicateEntry, "/usr/local/etc/containers/hello.yaml")]);
}

#[test]
fn tar_layout_is_checked_on_the_stream() {
    let items = vec![
        TarItem::Dir("rootfs", 0o755),
        TarItem::File("rootfs/usr/local/x", 0o644, vec![]),
        TarItem::File("etc/passwd", 0o644, vec![]),
    ];
    let found = [(Rule::Layout, "etc"), (Rule::Layout, "manifest.yaml")];
    expect_both(&tar_tree(&items), &found, &found);
}

#[test]
fn tar_paths_climbing_out_are_errors() {
    // The tar crate refuses to write `..`, so the name goes into the header by hand.
    let mut header = tar::Header::new_gnu();
    header.as_gnu_mut().unwrap().name[..14].copy_from_slice(b"rootfs/../../x");
    header.set_mode(0o644);
    header.set_size(0);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, &[][..]).unwrap();
    let stream = builder.into_inner().unwrap();
    let err = Tree::from_tar(stream.as_slice()).unwrap_err();
    assert!(err.to_string().contains("climbs above"), "{err}");
}

#[test]
fn predicate_requests_more_contents() {
    let items = {
        let mut items = base_tar_items();
        items.push(TarItem::File("rootfs/usr/lib/modules/6.18.45-talos/extras/x.ko", 0o644, b"\x7fELF".to_vec()));
        items
    };
    let stream = tar_stream(&items);
    let tree = Tree::from_tar_with(stream.as_slice(), &|p| p.ends_with(".ko")).unwrap();
    assert_eq!(tree.contents("rootfs/usr/lib/modules/6.18.45-talos/extras/x.ko"), Some(&b"\x7fELF"[..]));
    assert!(tree.contents("rootfs/usr/local/bin/hello").is_none());
}
