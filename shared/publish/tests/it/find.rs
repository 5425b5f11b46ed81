//! `find`: the pinned line for a Talos version, rejection of an incompatible extension with
//! Talos' message, and clean errors for an absent index image or extension.

use talos_ext_publish::{PublishError, find, publish_extension, publish_index};
use talos_ext_registry::NoReporter;
use talos_ext_registry::testing::TestRegistry;

use crate::support::{NAME, TALOS, client, custom_layout, index_meta, layout, prefix};

#[test]
fn finds_compatible_rejects_incompatible_and_absent() {
    let registry = TestRegistry::start().unwrap();
    let client = client(&registry);
    let prefix = prefix(&registry.host());
    let tmp = tempfile::tempdir().unwrap();
    let hello = publish_extension(&client, layout(), &prefix, false, &NoReporter).unwrap();
    let future = custom_layout(tmp.path(), "future-ext", ">= v1.15.0");
    let future = publish_extension(&client, &future, &prefix, false, &NoReporter).unwrap();
    let entries = [hello.entry.clone(), future.entry.clone()];
    for talos in [TALOS, "v1.15.0"] {
        publish_index(&client, &prefix, &entries, &index_meta(talos), &tmp.path().join(talos), &NoReporter).unwrap();
    }

    let found = find(&client, &prefix, TALOS, &[NAME.to_string()], None).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].line, hello.summary.reference.to_string());
    assert_eq!(found[0].constraint, ">= v1.0.0");
    assert_eq!(found[0].description.as_ref().map(|d| d.author.as_str()), Some("Talos extensions in Rust"));

    // Talos 1.15 takes both.
    let both = find(&client, &prefix, "v1.15.0", &[NAME.to_string(), "future-ext".to_string()], None).unwrap();
    assert_eq!(both[1].line, future.summary.reference.to_string());

    // On 1.14 the constraint `>= v1.15.0` fails with Talos' own message.
    let err = find(&client, &prefix, TALOS, &["future-ext".to_string()], None).unwrap_err();
    assert!(matches!(err, PublishError::Incompatible { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("version constraint >= v1.15.0 can't be satisfied with Talos version 1.14.0"), "{text}");
    assert!(text.contains("future-ext"), "{text}");

    // No index image for that Talos version.
    let err = find(&client, &prefix, "v1.13.0", &[NAME.to_string()], None).unwrap_err();
    assert!(matches!(err, PublishError::IndexNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains(&format!("{}/talos/extensions:v1.13.0", registry.host())), "{err}");

    // An extension the index does not list.
    let err = find(&client, &prefix, TALOS, &["zfs".to_string()], None).unwrap_err();
    assert!(matches!(err, PublishError::NotInIndex { .. }), "{err:?}");
    assert!(err.to_string().contains("`zfs` is not in the index image"), "{err}");
    assert!(err.to_string().contains(NAME), "lists what is there: {err}");

    // A Talos version that does not parse.
    let err = find(&client, &prefix, "latest", &[NAME.to_string()], None).unwrap_err();
    assert!(matches!(err, PublishError::TalosVersion(_)), "{err:?}");
}
