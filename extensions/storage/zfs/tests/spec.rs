//! The `zfs-service` spec as committed (`files/zfs-service.yaml`), checked without a build:
//! Talos' own validation finds nothing, no key is outside Talos' schema (which Talos would
//! silently ignore), and it runs the program the recipe installs with the mounts it needs.

use talos_ext_build::model::yaml_keys::unknown_keys;
use talos_ext_build::validate::service::{SCHEMA, check, parse};

fn spec_text() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("files/zfs-service.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_spec_passes_talos_validation_with_no_unknown_keys() {
    let text = spec_text();
    let spec = parse(text.as_bytes()).unwrap();
    assert_eq!(check(&spec), Vec::<String>::new());
    assert_eq!(spec.name, "zfs-service", "the container root is keyed by the name");
    let unknown = unknown_keys(&text, &SCHEMA).unwrap();
    assert!(unknown.is_empty(), "{unknown:?}");
    // A misspelt key is what the strict check exists for.
    let broken = text.replace("restart: always", "restart: always\nrestrat: never");
    assert_eq!(unknown_keys(&broken, &SCHEMA).unwrap().len(), 1);
}

#[test]
fn the_spec_runs_the_installed_program_with_the_programs_and_devices_mounted() {
    let text = spec_text();
    // build.rs installs the program at usr/local/lib/containers/zfs-service/zfs-service.
    assert!(text.contains("entrypoint: /zfs-service\n"), "{text}");
    for mount in ["source: /usr/local/sbin", "source: /dev\n", "source: /var\n"] {
        assert!(text.contains(mount), "no mount `{mount}`:\n{text}");
    }
    assert!(text.contains("- path: /dev/zfs\n"), "waits for the zfs module:\n{text}");
}
