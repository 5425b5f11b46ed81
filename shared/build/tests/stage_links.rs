//! `Stage::symlink`: a link in the rootfs with its target as written, parents made, an older
//! file or link replaced, and a destination outside the rootfs refused.

use talos_ext_build::Arch;
use talos_ext_build::testing::scratch_stage;

#[test]
fn a_link_is_made_as_written_and_replaces_what_was_there() {
    let (_tmp, s) = scratch_stage(Arch::Amd64).unwrap();
    s.symlink("lldpcli", "usr/local/sbin/lldpctl").unwrap();
    let at = s.rootfs().join("usr/local/sbin/lldpctl");
    assert_eq!(std::fs::read_link(&at).unwrap().to_str(), Some("lldpcli"));
    // A file, then a link, already there: replaced.
    std::fs::write(s.rootfs().join("usr/local/sbin/old"), b"x").unwrap();
    s.symlink("/usr/local/bin/new", "usr/local/sbin/old").unwrap();
    s.symlink("/usr/local/bin/newer", "usr/local/sbin/old").unwrap();
    assert_eq!(
        std::fs::read_link(s.rootfs().join("usr/local/sbin/old")).unwrap().to_str(),
        Some("/usr/local/bin/newer")
    );
    for bad in ["../escape", "/usr/abs", "usr/../../x"] {
        let err = s.symlink("t", bad).expect_err(bad);
        assert!(
            format!("{err:#}").contains(bad.trim_start_matches('/')) || format!("{err:#}").contains(bad),
            "{bad}: {err:#}"
        );
    }
}
