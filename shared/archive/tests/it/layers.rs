//! Image layers (`unpack_layer`): permission bits of files and directories are kept, absolute
//! symlink targets stay as written when they name a path of the layer's `rootfs/`, and hostile
//! layers are refused like any archive, leaving the sandbox unchanged.

use std::path::Path;

use talos_ext_archive::{NameProblem, Refusal, UnpackError, unpack_layer};
use tar::EntryType;

use crate::support::*;

fn layer(entries: &[Entry]) -> Box<dyn std::io::Read> {
    Box::new(std::io::Cursor::new(gz(&tar_of(entries))))
}

fn with_mode(mut entry: Entry, mode: u32) -> Entry {
    entry.mode = mode;
    entry
}

#[test]
fn keeps_modes_and_absolute_links_into_the_rootfs() {
    let sandbox = Sandbox::new();
    let entries = [
        file("manifest.yaml", 0o644, "version: v1alpha1\n"),
        with_mode(dir("rootfs/"), 0o755),
        with_mode(dir("rootfs/usr/"), 0o755),
        with_mode(dir("rootfs/usr/local/"), 0o755),
        with_mode(dir("rootfs/usr/local/etc/"), 0o750),
        file("rootfs/usr/local/etc/secret", 0o600, "s\n"),
        with_mode(dir("rootfs/usr/local/ro/"), 0o555),
        file("rootfs/usr/local/ro/tool", 0o4755, "#!/bin/sh\n"),
        symlink("rootfs/usr/local/bin", "/usr/local/ro"),
        symlink("rootfs/usr/local/rel", "ro/tool"),
    ];
    let summary = unpack_layer(layer(&entries), Path::new("layer.tar.gz"), &sandbox.dest()).unwrap();
    assert_eq!(summary.entries, 10);
    let want = r##"manifest.yaml 644 "version: v1alpha1\n"
rootfs/ 755
rootfs/usr/ 755
rootfs/usr/local/ 755
rootfs/usr/local/bin -> /usr/local/ro
rootfs/usr/local/etc/ 750
rootfs/usr/local/etc/secret 600 "s\n"
rootfs/usr/local/rel -> ro/tool
rootfs/usr/local/ro/ 555
rootfs/usr/local/ro/tool 755 "#!/bin/sh\n""##;
    assert_eq!(describe(&sandbox.dest()), want, "setuid dropped, everything else kept");
}

/// Unpacks a hostile layer and returns the refusal; the sandbox must be unchanged.
#[track_caller]
fn refused(entries: &[Entry]) -> (String, Refusal) {
    let sandbox = Sandbox::new();
    let before = sandbox.snapshot();
    let err = unpack_layer(layer(entries), Path::new("evil-layer"), &sandbox.dest()).unwrap_err();
    assert_eq!(sandbox.snapshot(), before, "the sandbox changed; error was {err}");
    match err {
        UnpackError::Refused { entry, reason, .. } => (entry, reason),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn hostile_layers_are_refused() {
    let ok = file("manifest.yaml", 0o644, "x\n");
    let (entry, reason) = refused(&[ok.clone(), file("../x", 0o644, "pwned\n")]);
    assert_eq!((entry.as_str(), reason), ("../x", Refusal::Name(NameProblem::ParentDir)));
    let (entry, reason) = refused(&[ok.clone(), file("/etc/x", 0o644, "pwned\n")]);
    assert_eq!((entry.as_str(), reason), ("/etc/x", Refusal::Name(NameProblem::Absolute)));
    // A relative link out of the destination, and an absolute one climbing out of the rootfs.
    let (entry, reason) = refused(&[ok.clone(), symlink("rootfs/up", "../../x")]);
    assert_eq!((entry.as_str(), reason), ("rootfs/up", Refusal::SymlinkEscape { target: "../../x".into() }));
    let (entry, reason) = refused(&[ok.clone(), symlink("rootfs/abs", "/../../x")]);
    assert_eq!((entry.as_str(), reason), ("rootfs/abs", Refusal::SymlinkEscape { target: "/../../x".into() }));
    // Writing through a link extracted earlier (even one that stays inside).
    let (entry, reason) = refused(&[
        ok.clone(),
        with_mode(dir("rootfs/"), 0o755),
        symlink("rootfs/l", "/"),
        file("rootfs/l/x", 0o644, ""),
    ]);
    assert_eq!((entry.as_str(), reason), ("rootfs/l/x", Refusal::ThroughSymlink { parent: "rootfs/l".into() }));
    let (entry, reason) = refused(&[ok, special("rootfs/dev", EntryType::Char)]);
    assert_eq!((entry.as_str(), reason), ("rootfs/dev", Refusal::Unsupported { kind: "character device" }));
}
