//! Strict mode rejects keys outside Talos' schemas of `manifest.yaml` and service specs, at every
//! level, naming each key's path and line; Talos' own rules (`--talos-only`) ignore them, as Talos
//! does.

use std::path::Path;

use talos_ext_validate::{Report, Rule, service};

use crate::support::{HELLO_SPEC, Step, expect, expect_both, fixture, manifest, run};

const SPEC_PATH: &str = "/usr/local/etc/containers/hello.yaml";

/// `(path, message)` of the unknown-key findings.
fn unknown(report: &Report) -> Vec<(&str, &str)> {
    report.of(Rule::UnknownKey).map(|f| (f.path.as_str(), f.message.as_str())).collect()
}

#[test]
fn misspelt_compatibility_block_is_rejected_in_strict_mode_only() {
    // The constraint would fail; misspelt, Talos drops it and the extension "passes".
    let text = manifest("hello", "1.0.0", "< 1.0.0").replace("compatibility:", "compatability:");
    let fx = fixture(&[Step::Text("manifest.yaml", text)]);
    let tree = fx.tree();
    expect_both(&tree, &[], &[(Rule::UnknownKey, "manifest.yaml")]);
    let report = run(&tree, true);
    assert_eq!(
        unknown(&report),
        [(
            "manifest.yaml",
            "line 7, column 3: unknown key \"metadata.compatability\": Talos ignores it, so its setting is silently dropped \
             (keys allowed there: name, version, author, description, compatibility, extraInfo); hint: did you mean \"compatibility\"?"
        )]
    );
    assert_eq!(
        report.to_string().lines().next().unwrap(),
        format!("manifest.yaml: {} [unknown-key]", report.findings[0].message)
    );
}

#[test]
fn manifest_keys_at_every_level() {
    let text = "\
version: v1alpha1
kind: extension
metadata:
  name: hello
  Version: 1.0.0
  version: 1.0.0
  compatibility:
    talso:
      version: '>= v1.0.0'
    talos:
      verison: '>= v1.0.0'
";
    let fx = fixture(&[Step::Text("manifest.yaml", text.to_string())]);
    let report = run(&fx.tree(), true);
    let found: Vec<String> =
        report.of(Rule::UnknownKey).map(|f| f.message.split(": Talos").next().unwrap().to_string()).collect();
    assert_eq!(
        found,
        [
            "line 2, column 1: unknown key \"kind\"",
            "line 5, column 3: unknown key \"metadata.Version\"",
            "line 8, column 5: unknown key \"metadata.compatibility.talso\"",
            "line 11, column 7: unknown key \"metadata.compatibility.talos.verison\"",
        ]
    );
    assert!(report.findings.iter().all(|f| f.rule == Rule::UnknownKey), "{report}");
    expect(&run(&fx.tree(), false), &[]);
}

#[test]
fn service_spec_keys_at_every_level() {
    let spec = "\
name: hello
contaner:
  entrypoint: ./hello
container:
  entrypoint: ./hello
  enviroment: [A=1]
  mounts:
    - source: /var/lib/hello
      destination: /var/lib/hello
      optons: [rbind]
  security:
    writableRootfs: true
depends:
  - service: cri
  - sevice: udevd
    service: udevd
restart: always
logToConsole: true
";
    let fx = fixture(&[Step::Text("rootfs/usr/local/etc/containers/hello.yaml", spec.to_string())]);
    let tree = fx.tree();
    let report = run(&tree, true);
    let found: Vec<(&str, String)> =
        unknown(&report).into_iter().map(|(p, m)| (p, m.split(": Talos").next().unwrap().to_string())).collect();
    assert_eq!(
        found,
        [
            (SPEC_PATH, "line 2, column 1: unknown key \"contaner\"".to_string()),
            (SPEC_PATH, "line 6, column 3: unknown key \"container.enviroment\"".to_string()),
            (SPEC_PATH, "line 10, column 7: unknown key \"container.mounts[0].optons\"".to_string()),
            (SPEC_PATH, "line 12, column 5: unknown key \"container.security.writableRootfs\"".to_string()),
            (SPEC_PATH, "line 15, column 5: unknown key \"depends[1].sevice\"".to_string()),
        ]
    );
    assert!(report.findings.iter().all(|f| f.rule == Rule::UnknownKey), "{report}");
    assert!(unknown(&report)[0].1.ends_with("hint: did you mean \"container\"?"), "{report}");
    // Talos decodes it without a word.
    expect(&run(&tree, false), &[]);
}

#[test]
fn a_misspelt_container_block_fails_both_ways_in_strict_mode() {
    let spec = HELLO_SPEC.replace("container:", "contaner:");
    let fx = fixture(&[Step::Text("rootfs/usr/local/etc/containers/hello.yaml", spec)]);
    // Talos only sees a spec without an entrypoint; strict also names the key.
    expect_both(
        &fx.tree(),
        &[(Rule::ServiceSpec, SPEC_PATH)],
        &[(Rule::ServiceSpec, SPEC_PATH), (Rule::UnknownKey, SPEC_PATH)],
    );
}

#[test]
fn talos_schema_keys_are_all_accepted() {
    let spec = "\
name: full
container:
  entrypoint: /usr/local/bin/full
  args: [--a]
  environment: [A=1]
  environmentFile: /var/full.env
  mounts:
    - {source: /a, destination: /a, type: bind, options: [rbind, ro]}
    - source: /b
      destination: /b
      uidmappings: [{containerid: 0, hostid: 1000, size: 1}]
      gidmappings: [{containerid: 0, hostid: 1000, size: 1}]
  security:
    writeableSysfs: true
    writeableRootfs: false
    maskedPaths: []
    readonlyPaths: [/proc]
    rootfsPropagation: shared
depends:
  - service: cri
  - path: /system/run/machined/machined.sock
  - network: [addresses, connectivity]
  - time: true
  - configuration: true
restart: untilSuccess
logToConsole: false
";
    let manifest = format!("{}  extraInfo: |\n    some: schematic\n", manifest("hello", "1.0.0", ">= v1.0.0"));
    let fx = fixture(&[
        Step::Text("manifest.yaml", manifest),
        Step::Text("rootfs/usr/local/etc/containers/full.yaml", spec.to_string()),
    ]);
    expect_both(&fx.tree(), &[], &[]);
}

/// The service specs the recipes ship (`extensions/*/*/files/*.yaml` with a `container:` block)
/// are exactly in Talos' schema and valid, so strict validation of their staged trees passes.
#[test]
fn recipe_service_specs_pass_strict_checks() {
    let extensions = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../extensions");
    let mut checked = Vec::new();
    for category in sorted_dirs(&extensions) {
        for recipe in sorted_dirs(&category) {
            let Ok(files) = std::fs::read_dir(recipe.join("files")) else { continue };
            let mut files: Vec<_> = files.map(|e| e.unwrap().path()).collect();
            files.sort();
            for file in files.iter().filter(|f| f.extension().is_some_and(|x| x == "yaml")) {
                let text = std::fs::read_to_string(file).unwrap();
                let value: serde_norway::Value = serde_norway::from_str(&text).unwrap();
                if value.get("container").is_none() {
                    continue;
                }
                let keys = talos_ext_model::yaml_keys::unknown_keys(&text, &service::SCHEMA).unwrap();
                assert_eq!(keys, [], "{}", file.display());
                let spec = service::parse(text.as_bytes()).unwrap();
                assert_eq!(service::check(&spec), Vec::<String>::new(), "{}", file.display());
                checked.push(file.clone());
            }
        }
    }
    assert!(checked.len() >= 2, "expected the hello-world-service and iscsi-tools specs, found {checked:?}");
}

fn sorted_dirs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    dirs
}
