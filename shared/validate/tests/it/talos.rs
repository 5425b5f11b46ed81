//! Talos rules (both modes), each with a passing and a failing tree.

use talos_ext_validate::{Options, Rule, validate, validate_dir};

use crate::support::{Step, TarItem, expect, expect_both, fixture, manifest, opts, run, tar_tree};

#[test]
fn valid_extension_passes_both_modes() {
    let fx = fixture(&[]);
    let tree = fx.tree();
    expect_both(&tree, &[], &[]);
    let report = validate_dir(fx.root(), &opts(true)).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.to_string(), "");
}

#[test]
fn validate_dir_names_a_missing_path() {
    let err = validate_dir(std::path::Path::new("/nonexistent/ext"), &opts(false)).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/ext"), "{err}");
}

#[test]
fn layout_unexpected_top_level_entries() {
    let fx = fixture(&[Step::Dir("etc", 0o755), Step::File("etc/x", 0o644), Step::File("README", 0o644)]);
    let tree = fx.tree();
    let report = run(&tree, false);
    expect(&report, &[(Rule::Layout, "README"), (Rule::Layout, "etc")]);
    let messages: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(messages, ["unexpected file \"README\"", "unexpected file \"etc\""]);
}

#[test]
fn layout_missing_manifest_and_rootfs() {
    let fx = fixture(&[Step::Remove("manifest.yaml"), Step::Remove("rootfs")]);
    let report = run(&fx.tree(), false);
    expect(&report, &[(Rule::Layout, "manifest.yaml"), (Rule::Layout, "rootfs")]);
    let messages: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(messages, ["extension manifest is missing", "extension rootfs is missing"]);
}

#[test]
fn layout_wrong_kinds() {
    let fx = crate::support::build(&[Step::Dir("manifest.yaml", 0o755), Step::File("rootfs", 0o644)]);
    expect(&run(&fx.tree(), false), &[(Rule::Layout, "manifest.yaml"), (Rule::Layout, "rootfs")]);
}

#[test]
fn manifest_version_and_parse_errors() {
    let cases: &[(&str, Rule, &str)] = &[
        (
            "version: v1alpha2\nmetadata:\n  name: hello\n  version: 1.0.0\n",
            Rule::ManifestVersion,
            "unsupported manifest version: \"v1alpha2\"",
        ),
        ("", Rule::ManifestVersion, "unsupported manifest version: \"\""),
        ("version: [v1alpha1\n", Rule::ManifestParse, "manifest.yaml is not a valid manifest"),
    ];
    for (text, rule, message) in cases {
        let fx = fixture(&[Step::Text("manifest.yaml", text.to_string())]);
        let report = run(&fx.tree(), false);
        let finding = report.findings.iter().find(|f| f.rule == *rule).unwrap_or_else(|| panic!("{text:?}: {report}"));
        assert_eq!(finding.path, "manifest.yaml");
        assert!(finding.message.starts_with(message), "{}", finding.message);
    }
}

#[test]
fn pkg_name_must_match_when_given() {
    let fx = fixture(&[Step::Text("manifest.yaml", manifest("other", "1.0.0", ""))]);
    let tree = fx.tree();
    let report = run(&tree, false);
    expect(&report, &[(Rule::PkgName, "manifest.yaml")]);
    assert_eq!(report.findings[0].message, "pkg name does not match extension name: hello != other");
    for pkg_name in [None, Some(String::new()), Some("other".to_string())] {
        let o = Options { pkg_name, ..opts(true) };
        assert!(validate(&tree, &o).is_ok());
    }
}

#[test]
fn version_patterns() {
    let accepted = [
        "4.34.1-4-v1.14.0",
        "580.95.05-v1.14.0-beta.1",
        "20260810-v1.14.0",
        "0123456789abcdef0123456789abcdef01234567-v1.14.0",
        "20260810.0",
        "1.29",
        "v4.6",
    ];
    for version in accepted {
        let fx = fixture(&[Step::Text("manifest.yaml", manifest("hello", version, ""))]);
        expect(&run(&fx.tree(), false), &[]);
    }
    for version in ["1.2.3+b", "1.2.3.4", "latest", "\"\""] {
        let fx = fixture(&[Step::Text("manifest.yaml", manifest("hello", version, ""))]);
        let report = run(&fx.tree(), false);
        expect(&report, &[(Rule::VersionFormat, "manifest.yaml")]);
        let shown = version.trim_matches('"');
        assert_eq!(report.findings[0].message, format!("invalid version format {shown} for extension: hello"));
    }
}

#[test]
fn compatibility_constraints() {
    // (constraint, finding) against Talos v1.14.0-beta.1.
    let cases: &[(&str, Option<Rule>)] = &[
        ("", None),
        (">= v1.14.0", None),
        (">= 1.14.0", None),
        (">=v1.6.0", None),
        ("< 1.14.0", Some(Rule::ConstraintUnsatisfied)),
        (">= v1.15.0", Some(Rule::ConstraintUnsatisfied)),
        ("1.14.x", None),
        ("<1.0.0 || >=1.14.0-alpha.0", None),
        (">= v1.6", Some(Rule::ConstraintInvalid)),
        ("~1.14.0", Some(Rule::ConstraintInvalid)),
        (" ", Some(Rule::ConstraintInvalid)),
    ];
    for (constraint, rule) in cases {
        let fx = fixture(&[Step::Text("manifest.yaml", manifest("hello", "1.0.0", constraint))]);
        let report = run(&fx.tree(), false);
        match rule {
            None => expect(&report, &[]),
            Some(rule) => expect(&report, &[(*rule, "manifest.yaml")]),
        }
    }
    let fx = fixture(&[Step::Text("manifest.yaml", manifest("hello", "1.0.0", "< v1.14.0"))]);
    let report = run(&fx.tree(), false);
    assert_eq!(
        report.findings[0].message,
        "version constraint < v1.14.0 can't be satisfied with Talos version 1.14.0-beta.1"
    );
    let fx = fixture(&[Step::Text("manifest.yaml", manifest("hello", "1.0.0", ">= 1.6"))]);
    let report = run(&fx.tree(), false);
    assert!(report.findings[0].message.starts_with("error parsing Talos version constraint: "), "{report}");
    // An unparseable Talos version is reported, not ignored.
    let o = Options { talos_version: "main".to_string(), ..opts(false) };
    let report = validate(&fixture(&[]).tree(), &o);
    expect(&report, &[(Rule::ConstraintUnsatisfied, "manifest.yaml")]);
}

#[test]
fn allowlist_uses_talos_string_prefix() {
    let fx = fixture(&[
        Step::Dir("rootfs/boot", 0o755),
        Step::File("rootfs/boot/vmlinuz", 0o644),
        Step::Dir("rootfs/usr/lib64", 0o755),
        Step::File("rootfs/usr/lib64/a.so", 0o644),
        Step::Dir("rootfs/etc", 0o755),
        Step::Symlink("rootfs/etc/passwd", "/usr/local/etc/passwd"),
        // Directories themselves are never checked.
        Step::Dir("rootfs/opt/empty", 0o755),
        // Allowed, including exact entries.
        Step::Dir("rootfs/usr/lib/modules/6.18.45-talos/extras", 0o755),
        Step::File("rootfs/usr/lib/modules/6.18.45-talos/extras/x.ko", 0o644),
        Step::File("rootfs/usr/lib/ld-linux-x86-64.so.2", 0o755),
        Step::Dir("rootfs/etc/cri/conf.d", 0o755),
        Step::File("rootfs/etc/cri/conf.d/20-x.part", 0o644),
    ]);
    let report = run(&fx.tree(), false);
    expect(
        &report,
        &[
            (Rule::PathNotAllowed, "/boot/vmlinuz"),
            (Rule::PathNotAllowed, "/etc/passwd"),
            (Rule::PathNotAllowed, "/usr/lib64/a.so"),
        ],
    );
    assert!(report.findings.iter().any(|f| f.message == "path \"/boot/vmlinuz\" is not allowed in extensions"));
}

#[test]
fn special_files_fifo_and_socket() {
    let fx = fixture(&[Step::Fifo("rootfs/usr/local/fifo"), Step::Socket("rootfs/usr/local/sock")]);
    let report = run(&fx.tree(), false);
    expect(&report, &[(Rule::SpecialFile, "/usr/local/fifo"), (Rule::SpecialFile, "/usr/local/sock")]);
    assert_eq!(report.findings[0].message, "special files are not allowed: \"/usr/local/fifo\"");
}

#[test]
fn special_files_device_node() {
    let fx = fixture(&[]);
    let node = fx.path("rootfs/usr/local/null");
    let made = talos_ext_process::Command::new("mknod").arg(&node).args(["c", "1", "3"]).run().is_ok();
    if made {
        expect(&run(&fx.tree(), false), &[(Rule::SpecialFile, "/usr/local/null")]);
    } else {
        // Not root (or no CAP_MKNOD): the same rule on a tar-built device entry.
        eprintln!("mknod failed; checking a tar-built device node instead");
        let mut items = crate::support::base_tar_items();
        items.push(TarItem::Char("rootfs/usr/local/null"));
        expect(&run(&tar_tree(&items), false), &[(Rule::SpecialFile, "/usr/local/null")]);
    }
}

#[test]
fn service_specs_valid_and_ignored_names() {
    let fx = fixture(&[
        Step::Text("rootfs/usr/local/etc/containers/ignored.yml", "not: [valid".to_string()),
        Step::Dir("rootfs/usr/local/etc/containers/sub", 0o755),
        Step::Text("rootfs/usr/local/etc/containers/sub/ignored.yaml", "not: [valid".to_string()),
        Step::Text(
            "rootfs/usr/local/etc/containers/full.yaml",
            "name: full_svc-1\ncontainer:\n  entrypoint: /bin/x\ndepends:\n  - path: /run/x\n  - network: [addresses, etcfiles]\n  - configuration: true\nrestart: untilSuccess\nlogToConsole: true\n".to_string(),
        ),
    ]);
    expect_both(&fx.tree(), &[], &[]);
}

#[test]
fn service_specs_bad() {
    const SPEC: &str = "/usr/local/etc/containers/hello.yaml";
    let cases: &[(&str, &[&str])] = &[
        ("name: Hello\ncontainer:\n  entrypoint: ./x\nrestart: always\n", &["name \"Hello\" is invalid"]),
        ("name: hello\ncontainer:\n  entrypoint: \"\"\nrestart: always\n", &["container endpoint can't be empty"]),
        (
            "name: hello\ncontainer:\n  entrypoint: ./x\ndepends:\n  - service: cri\n    path: /run/x\nrestart: always\n",
            &["more than a single dependency is set"],
        ),
        (
            "name: hello\ncontainer:\n  entrypoint: ./x\ndepends:\n  - path: run/x\nrestart: always\n",
            &["path is not absolute: \"run/x\""],
        ),
        (
            "name: hello\ncontainer:\n  entrypoint: ./x\ndepends:\n  - {}\nrestart: always\n",
            &["no dependency specified"],
        ),
        ("name: hello\ncontainer:\n  entrypoint: ./x\n", &["restart kind is invalid: RestartKind(0)"]),
        (
            "name: hello\ncontainer:\n  entrypoint: ./x\nrestart: sometimes\n",
            &["error unmarshalling service spec file hello.yaml: sometimes does not belong to RestartKind values"],
        ),
        (
            "name: hello\ncontainer:\n  entrypoint: ./x\ndepends:\n  - network: [internet]\nrestart: always\n",
            &[
                "error unmarshalling service spec file hello.yaml: depends[0].network: internet does not belong to Status values",
            ],
        ),
        (
            "name: a b\ndepends:\n  - service: cri\n    time: true\n",
            &[
                "name \"a b\" is invalid",
                "restart kind is invalid: RestartKind(0)",
                "container endpoint can't be empty",
                "more than a single dependency is set",
            ],
        ),
    ];
    for (text, wants) in cases {
        let fx = fixture(&[Step::Text("rootfs/usr/local/etc/containers/hello.yaml", text.to_string())]);
        let report = run(&fx.tree(), false);
        assert_eq!(report.findings.len(), wants.len(), "{text:?}:\n{report}");
        for (finding, want) in report.findings.iter().zip(wants.iter()) {
            assert_eq!(finding.rule, Rule::ServiceSpec);
            assert_eq!(finding.path, SPEC);
            assert!(finding.message.contains(want), "{text:?}: `{}` does not contain `{want}`", finding.message);
        }
    }
}

#[test]
fn many_findings_are_all_reported() {
    let fx = fixture(&[
        Step::Text("manifest.yaml", format!("{}licence: MIT\n", manifest("other", "latest", "< 1.0.0"))),
        Step::File("stray", 0o644),
        Step::Dir("rootfs/etc", 0o777),
        Step::File("rootfs/etc/a", 0o666),
        Step::File("rootfs/etc/b", 0o4755),
        Step::Fifo("rootfs/usr/local/fifo"),
        Step::File("rootfs/usr/localx", 0o644),
        Step::Symlink("rootfs/usr/local/bin/up", "../../../../x"),
        Step::Hardlink("rootfs/usr/local/bin/hello2", "rootfs/usr/local/bin/hello"),
        Step::Text("rootfs/usr/local/etc/containers/hello.yaml", "name: BAD\nrestrat: always\n".to_string()),
        Step::Symlink("rootfs/usr/local/redir", "/etc"),
    ]);
    let tree = fx.tree();
    let talos = [
        (Rule::Layout, "stray"),
        (Rule::PkgName, "manifest.yaml"),
        (Rule::VersionFormat, "manifest.yaml"),
        (Rule::ServiceSpec, "/usr/local/etc/containers/hello.yaml"),
        (Rule::ServiceSpec, "/usr/local/etc/containers/hello.yaml"),
        (Rule::ServiceSpec, "/usr/local/etc/containers/hello.yaml"),
        (Rule::ConstraintUnsatisfied, "manifest.yaml"),
        (Rule::PathNotAllowed, "/etc/a"),
        (Rule::PathNotAllowed, "/etc/b"),
        (Rule::SpecialFile, "/usr/local/fifo"),
    ];
    let mut strict = talos.to_vec();
    strict.extend([
        (Rule::WorldWritable, "/etc"),
        (Rule::WorldWritable, "/etc/a"),
        (Rule::Setuid, "/etc/b"),
        (Rule::AllowlistBoundary, "/usr/localx"),
        (Rule::SymlinkEscape, "/usr/local/bin/up"),
        (Rule::SymlinkTarget, "/usr/local/redir"),
        (Rule::UnknownKey, "manifest.yaml"),
        (Rule::UnknownKey, "/usr/local/etc/containers/hello.yaml"),
        (Rule::Hardlink, "/usr/local/bin/hello"),
        (Rule::Hardlink, "/usr/local/bin/hello2"),
    ]);
    expect_both(&tree, &talos, &strict);
    let report = run(&tree, true);
    assert_eq!(report.to_string().lines().count(), strict.len());
}
