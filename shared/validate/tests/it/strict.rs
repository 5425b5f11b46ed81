//! Strict-only rules: each passes Talos (non-strict) and fails strict, next to a tree that passes
//! both.

use talos_ext_validate::{Rule, validate_dir};

use crate::support::{Step, expect, expect_both, fixture, opts};

#[test]
fn world_writable_file_and_dir() {
    let fx = fixture(&[Step::Dir("rootfs/usr/local/share", 0o777), Step::File("rootfs/usr/local/share/f", 0o666)]);
    let tree = fx.tree();
    expect_both(&tree, &[], &[(Rule::WorldWritable, "/usr/local/share"), (Rule::WorldWritable, "/usr/local/share/f")]);
    // Group-writable and sticky are fine; symlinks (always 0777) are never world-writable.
    let fx = fixture(&[
        Step::Dir("rootfs/usr/local/share", 0o1775),
        Step::File("rootfs/usr/local/share/f", 0o664),
        Step::Symlink("rootfs/usr/local/share/l", "f"),
    ]);
    expect_both(&fx.tree(), &[], &[]);
}

#[test]
fn lookalike_prefixes() {
    let fx = fixture(&[
        Step::File("rootfs/usr/localx", 0o644),
        Step::Dir("rootfs/usr/bin", 0o755),
        Step::File("rootfs/usr/bin/nvme-foo", 0o755),
        Step::Dir("rootfs/etc/ld.so.conf.d", 0o755),
        Step::File("rootfs/etc/ld.so.conf.d/x.conf", 0o644),
    ]);
    expect_both(
        &fx.tree(),
        &[],
        &[
            (Rule::AllowlistBoundary, "/etc/ld.so.conf.d/x.conf"),
            (Rule::AllowlistBoundary, "/usr/bin/nvme-foo"),
            (Rule::AllowlistBoundary, "/usr/localx"),
        ],
    );
    let fx = fixture(&[
        Step::Dir("rootfs/usr/bin", 0o755),
        Step::File("rootfs/usr/bin/nvme", 0o755),
        Step::File("rootfs/etc/ld.so.conf", 0o644),
    ]);
    expect_both(&fx.tree(), &[], &[]);
}

#[test]
fn hardlinks_in_a_directory_walk() {
    let fx = fixture(&[Step::Hardlink("rootfs/usr/local/bin/hello-again", "rootfs/usr/local/bin/hello")]);
    expect_both(
        &fx.tree(),
        &[],
        &[(Rule::Hardlink, "/usr/local/bin/hello"), (Rule::Hardlink, "/usr/local/bin/hello-again")],
    );
}

#[test]
fn escaping_symlinks() {
    let fx = fixture(&[
        Step::Symlink("rootfs/usr/local/bin/out", "../../../../etc/shadow"),
        Step::Symlink("rootfs/usr/local/bin/far", "../../../../../../../x"),
    ]);
    expect_both(
        &fx.tree(),
        &[],
        &[(Rule::SymlinkEscape, "/usr/local/bin/far"), (Rule::SymlinkEscape, "/usr/local/bin/out")],
    );
    let fx = fixture(&[
        Step::Symlink("rootfs/usr/local/bin/abs", "/usr/local/bin/hello"),
        Step::Symlink("rootfs/usr/local/bin/rel", "hello"),
        Step::Symlink("rootfs/usr/local/bin/top", "../../../usr/local/bin/hello"),
    ]);
    expect_both(&fx.tree(), &[], &[]);
}

#[test]
fn symlink_targets_outside_the_allowlist() {
    // Each redirects an allowed path to a host path no extension may ship: absolute or relative,
    // the same rule.
    let fx = fixture(&[
        Step::Symlink("rootfs/usr/local/redir", "/etc"),
        Step::Symlink("rootfs/usr/local/bin/env", "/usr/bin/env"),
        Step::Symlink("rootfs/usr/local/bin/dots", "/usr/local/../../etc/shadow"),
        Step::Symlink("rootfs/usr/local/bin/etc", "../../../etc"),
        Step::Symlink("rootfs/usr/local/bin/lookalike", "/usr/localx/bin"),
        Step::Symlink("rootfs/usr/local/root", "/"),
    ]);
    let tree = fx.tree();
    expect_both(
        &tree,
        &[],
        &[
            (Rule::SymlinkTarget, "/usr/local/bin/dots"),
            (Rule::SymlinkTarget, "/usr/local/bin/env"),
            (Rule::SymlinkTarget, "/usr/local/bin/etc"),
            (Rule::SymlinkTarget, "/usr/local/bin/lookalike"),
            (Rule::SymlinkTarget, "/usr/local/redir"),
            (Rule::SymlinkTarget, "/usr/local/root"),
        ],
    );
    let report = crate::support::run(&tree, true);
    let message = |path: &str| report.findings.iter().find(|f| f.path == path).unwrap().message.clone();
    assert_eq!(
        message("/usr/local/redir"),
        "symlink \"/usr/local/redir\" -> \"/etc\" points outside the paths an extension may ship: on the node it opens the host's own /etc; hint: point it into /usr/local (or another allowed path), or ship the file itself"
    );
    assert!(
        message("/usr/local/bin/etc")
            .starts_with("symlink \"/usr/local/bin/etc\" -> \"../../../etc\" resolves to \"/etc\", points outside"),
        "{report}"
    );

    // Into the allowed paths, absolute or relative; and absolute targets inside a service's
    // container rootfs, which resolve against the container's root.
    let fx = fixture(&[
        Step::Symlink("rootfs/usr/local/bin/fw", "/usr/lib/firmware/x.bin"),
        Step::Symlink("rootfs/usr/local/bin/mods", "../../lib/modules"),
        Step::Symlink("rootfs/usr/local/bin/nvme", "/usr/bin/nvme"),
        Step::Symlink("rootfs/usr/local/bin/self", "/usr/local"),
    ]);
    expect_both(&fx.tree(), &[], &[]);
    let fx = fixture(&[
        Step::Dir("rootfs/usr/local/lib/containers/svc/bin", 0o755),
        Step::Symlink("rootfs/usr/local/lib/containers/svc/bin/sh", "/bin/busybox"),
        Step::Symlink("rootfs/usr/local/lib/containers/svc/lib64", "/lib"),
        Step::Symlink("rootfs/usr/local/lib/containers/svc/etc", "../../../../../etc"),
    ]);
    // A relative target is resolved like any other: this one leaves the container for /etc.
    expect_both(&fx.tree(), &[], &[(Rule::SymlinkTarget, "/usr/local/lib/containers/svc/etc")]);
}

#[test]
fn setuid_and_setgid_files() {
    let fx = fixture(&[Step::File("rootfs/usr/local/bin/su", 0o4755), Step::File("rootfs/usr/local/bin/sg", 0o2755)]);
    expect_both(&fx.tree(), &[], &[(Rule::Setuid, "/usr/local/bin/sg"), (Rule::Setuid, "/usr/local/bin/su")]);
    // A setgid directory is not a setuid file.
    let fx = fixture(&[Step::Dir("rootfs/usr/local/shared", 0o2755)]);
    expect_both(&fx.tree(), &[], &[]);
}

#[test]
fn validate_dir_reads_modes_and_links_in_strict_mode() {
    let fx = fixture(&[
        Step::Dir("rootfs/usr/local/share", 0o777),
        Step::File("rootfs/usr/local/bin/su", 0o4755),
        Step::Hardlink("rootfs/usr/local/bin/again", "rootfs/usr/local/bin/hello"),
    ]);
    let lax = validate_dir(fx.root(), &opts(false)).unwrap();
    expect(&lax, &[]);
    let strict = validate_dir(fx.root(), &opts(true)).unwrap();
    expect(
        &strict,
        &[
            (Rule::Hardlink, "/usr/local/bin/again"),
            (Rule::Hardlink, "/usr/local/bin/hello"),
            (Rule::Setuid, "/usr/local/bin/su"),
            (Rule::WorldWritable, "/usr/local/share"),
        ],
    );
    // The same findings as on the tree read in full.
    assert_eq!(strict, crate::support::run(&fx.tree(), true));
}

#[test]
fn strict_flags_are_strict_only() {
    for rule in [
        Rule::WorldWritable,
        Rule::AllowlistBoundary,
        Rule::Hardlink,
        Rule::SymlinkEscape,
        Rule::SymlinkTarget,
        Rule::Setuid,
        Rule::UnknownKey,
    ] {
        assert!(rule.is_strict_only(), "{rule}");
    }
    for rule in [Rule::Layout, Rule::PathNotAllowed, Rule::SpecialFile, Rule::ServiceSpec, Rule::VersionFormat] {
        assert!(!rule.is_strict_only(), "{rule}");
    }
}
