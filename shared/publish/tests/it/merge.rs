//! The index after a publish of some extensions: the pushed lines plus those of the others
//! already in the registry's index image (what `cargo xtask publish` pushes).

use talos_ext_publish::{merged_index_entries, publish_extension, publish_index, read_index};
use talos_ext_registry::NoReporter;
use talos_ext_registry::testing::TestRegistry;

use crate::support::{TALOS, client, custom_layout, index_meta, prefix};

#[test]
fn publishing_some_extensions_keeps_the_others_in_the_index() {
    let registry = TestRegistry::start().unwrap();
    let (client, prefix) = (client(&registry), prefix(&registry.host()));
    let tmp = tempfile::tempdir().unwrap();
    let push = |name: &str, constraint: &str| {
        let dir = tmp.path().join(format!("{name}{}", constraint.len()));
        let layout = custom_layout(&dir, name, constraint);
        publish_extension(&client, &layout, &prefix, false, &NoReporter).unwrap().entry
    };
    let (alpha, beta) = (push("alpha", ">= v1.0.0"), push("beta", ">= v1.0.0"));

    // No index image yet: the pushed entries.
    let first = merged_index_entries(&client, &prefix, TALOS, &[alpha.clone(), beta.clone()]).unwrap();
    assert_eq!(first, [alpha.clone(), beta.clone()]);
    publish_index(&client, &prefix, &first, &index_meta(TALOS), &tmp.path().join("index1"), &NoReporter).unwrap();

    // alpha again, rebuilt: its new line replaces the old one, beta's line and description stay.
    let alpha2 = push("alpha", ">= v1.10.0");
    assert_ne!(alpha2.reference, alpha.reference);
    let second = merged_index_entries(&client, &prefix, TALOS, std::slice::from_ref(&alpha2)).unwrap();
    assert_eq!(second, [alpha2.clone(), beta.clone()]);
    publish_index(&client, &prefix, &second, &index_meta(TALOS), &tmp.path().join("index2"), &NoReporter).unwrap();
    let read = read_index(&client, &prefix, TALOS, None).unwrap();
    assert_eq!(read.files.lines, [alpha2.reference.to_string(), beta.reference.to_string()]);
    assert_eq!(read.files.descriptions[&beta.reference.to_string()].description, "beta for tests");

    // Another Talos tag has its own index: nothing of this one leaks into it.
    assert_eq!(merged_index_entries(&client, &prefix, "v9.9.9", std::slice::from_ref(&beta)).unwrap(), [beta]);
}
