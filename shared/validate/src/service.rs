//! Talos extension service specs (`/usr/local/etc/containers/*.yaml`): the `services.Spec` schema
//! of `pkg/machinery/extensions/services` and its `Validate()`, which extensions-validator runs on
//! every spec.
//!
//! Decoding follows Go's non-strict `yaml.v3`: unknown keys are ignored, `null` is the zero value,
//! any scalar decodes into a string, YAML 1.1 `yes`/`no`/`on`/`off` decode into booleans, only the
//! first document counts, and an empty file is an all-zero spec. `restart` and `network` values are
//! Go enums with a case-insensitive text decoder, so an unknown string is a *decode* error while a
//! missing `restart` is the invalid zero kind. Validation errors accumulate, as with Go's
//! multierror; [`check`] returns them all, each with Talos' text. [`SCHEMA`] lists the keys Talos
//! knows, for strict validation's unknown-key check.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use talos_ext_model::yaml_keys::Schema;

use crate::go_quote;

/// The directory (as a tree path, with trailing slash) holding service specs.
pub const SPEC_DIR: &str = "rootfs/usr/local/etc/containers/";

/// `services.Spec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    #[serde(default, deserialize_with = "go_string")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub container: Container,
    #[serde(default, deserialize_with = "nullable")]
    pub depends: Vec<Dependency>,
    /// `None` is Go's zero `RestartKind`, which fails validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<RestartKind>,
    #[serde(default, deserialize_with = "go_bool")]
    pub log_to_console: bool,
}

/// `services.Container`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default, deserialize_with = "go_string")]
    pub entrypoint: String,
    #[serde(default, deserialize_with = "go_strings")]
    pub environment: Vec<String>,
    #[serde(default, deserialize_with = "go_string")]
    pub environment_file: String,
    #[serde(default, deserialize_with = "go_strings")]
    pub args: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub mounts: Vec<Mount>,
    #[serde(default, deserialize_with = "nullable")]
    pub security: Security,
}

/// OCI runtime-spec `Mount`. Its Go fields carry only `json` tags, so Go's yaml decoder sees them
/// under their lower-cased names (`uidmappings`, not `uidMappings`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    #[serde(default, deserialize_with = "go_string")]
    pub destination: String,
    #[serde(default, deserialize_with = "go_string", rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "go_string")]
    pub source: String,
    #[serde(default, deserialize_with = "go_strings")]
    pub options: Vec<String>,
    #[serde(default, deserialize_with = "nullable", rename = "uidmappings")]
    pub uid_mappings: Vec<IdMapping>,
    #[serde(default, deserialize_with = "nullable", rename = "gidmappings")]
    pub gid_mappings: Vec<IdMapping>,
}

/// OCI runtime-spec `LinuxIDMapping` (lower-cased names, as for [`Mount`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMapping {
    #[serde(default, deserialize_with = "nullable", rename = "containerid")]
    pub container_id: u32,
    #[serde(default, deserialize_with = "nullable", rename = "hostid")]
    pub host_id: u32,
    #[serde(default, deserialize_with = "nullable")]
    pub size: u32,
}

/// `services.Security`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Security {
    #[serde(default, deserialize_with = "go_bool")]
    pub writeable_sysfs: bool,
    #[serde(default, deserialize_with = "go_strings")]
    pub masked_paths: Vec<String>,
    #[serde(default, deserialize_with = "go_strings")]
    pub readonly_paths: Vec<String>,
    #[serde(default, deserialize_with = "go_bool")]
    pub writeable_rootfs: bool,
    #[serde(default, deserialize_with = "go_string")]
    pub rootfs_propagation: String,
}

/// `services.Dependency`: exactly one key must be set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    #[serde(default, deserialize_with = "go_string")]
    pub service: String,
    #[serde(default, deserialize_with = "go_string")]
    pub path: String,
    /// `None` items are Go's zero `Status` (a `null` in the list), which fails validation.
    #[serde(default, deserialize_with = "nullable")]
    pub network: Vec<Option<NetworkStatus>>,
    #[serde(default, deserialize_with = "go_bool")]
    pub time: bool,
    #[serde(default, deserialize_with = "go_bool")]
    pub configuration: bool,
}

/// `services.RestartKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RestartKind {
    #[serde(rename = "always")]
    Always,
    #[serde(rename = "never")]
    Never,
    #[serde(rename = "untilSuccess")]
    UntilSuccess,
}

/// `nethelpers.Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkStatus {
    Addresses,
    Connectivity,
    Hostname,
    EtcFiles,
}

impl<'de> Deserialize<'de> for RestartKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = d.deserialize_any(ScalarText)?;
        match text.to_lowercase().as_str() {
            "always" => Ok(RestartKind::Always),
            "never" => Ok(RestartKind::Never),
            "untilsuccess" => Ok(RestartKind::UntilSuccess),
            _ => Err(de::Error::custom(format!("{text} does not belong to RestartKind values"))),
        }
    }
}

impl<'de> Deserialize<'de> for NetworkStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = d.deserialize_any(ScalarText)?;
        match text.to_lowercase().as_str() {
            "addresses" => Ok(NetworkStatus::Addresses),
            "connectivity" => Ok(NetworkStatus::Connectivity),
            "hostname" => Ok(NetworkStatus::Hostname),
            "etcfiles" => Ok(NetworkStatus::EtcFiles),
            _ => Err(de::Error::custom(format!("{text} does not belong to Status values"))),
        }
    }
}

/// The keys of `services.Spec` as Go's yaml decoder matches them, which are exactly the fields
/// of [`Spec`]: what strict validation checks a spec's keys against (Talos ignores others).
pub const SCHEMA: Schema = Schema::Map(&[
    ("name", Schema::Any),
    (
        "container",
        Schema::Map(&[
            ("entrypoint", Schema::Any),
            ("environment", Schema::Any),
            ("environmentFile", Schema::Any),
            ("args", Schema::Any),
            (
                "mounts",
                Schema::List(&Schema::Map(&[
                    ("destination", Schema::Any),
                    ("type", Schema::Any),
                    ("source", Schema::Any),
                    ("options", Schema::Any),
                    ("uidmappings", Schema::List(&ID_MAPPING)),
                    ("gidmappings", Schema::List(&ID_MAPPING)),
                ])),
            ),
            (
                "security",
                Schema::Map(&[
                    ("writeableSysfs", Schema::Any),
                    ("maskedPaths", Schema::Any),
                    ("readonlyPaths", Schema::Any),
                    ("writeableRootfs", Schema::Any),
                    ("rootfsPropagation", Schema::Any),
                ]),
            ),
        ]),
    ),
    (
        "depends",
        Schema::List(&Schema::Map(&[
            ("service", Schema::Any),
            ("path", Schema::Any),
            ("network", Schema::Any),
            ("time", Schema::Any),
            ("configuration", Schema::Any),
        ])),
    ),
    ("restart", Schema::Any),
    ("logToConsole", Schema::Any),
]);

const ID_MAPPING: Schema = Schema::Map(&[("containerid", Schema::Any), ("hostid", Schema::Any), ("size", Schema::Any)]);

/// Parses a spec file like extensions-validator's `yaml.Unmarshal`.
pub fn parse(bytes: &[u8]) -> Result<Spec, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    match serde_norway::Deserializer::from_str(text).next() {
        None => Ok(Spec::default()),
        Some(document) => {
            let spec: Option<Spec> = Option::deserialize(document).map_err(|e| e.to_string())?;
            Ok(spec.unwrap_or_default())
        }
    }
}

/// `Spec.Validate()`: every error, in Talos' order and words.
pub fn check(spec: &Spec) -> Vec<String> {
    let mut errors = Vec::new();
    let name_ok = !spec.name.is_empty()
        && spec.name.bytes().all(|b| b == b'-' || b == b'_' || b.is_ascii_lowercase() || b.is_ascii_digit());
    if !name_ok {
        errors.push(format!("name {} is invalid", go_quote(&spec.name)));
    }
    if spec.restart.is_none() {
        errors.push("restart kind is invalid: RestartKind(0)".to_string());
    }
    if spec.container.entrypoint.is_empty() {
        errors.push("container endpoint can't be empty".to_string());
    }
    for dep in &spec.depends {
        let mut set = 0;
        if !dep.service.is_empty() {
            set += 1;
        }
        if !dep.path.is_empty() {
            set += 1;
            if !dep.path.starts_with('/') {
                errors.push(format!("path is not absolute: {}", go_quote(&dep.path)));
            }
        }
        if !dep.network.is_empty() {
            set += 1;
            for status in &dep.network {
                if status.is_none() {
                    errors.push("invalid network dependency: Status(0)".to_string());
                }
            }
        }
        if dep.time {
            set += 1;
        }
        if dep.configuration {
            set += 1;
        }
        if set == 0 {
            errors.push("no dependency specified".to_string());
        }
        if set > 1 {
            errors.push("more than a single dependency is set".to_string());
        }
    }
    errors
}

// ---------------------------------------------------------------------------------------------
// Go yaml.v3 decoding leniency.

fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Any scalar into a string; `null` is empty.
fn go_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<GoString>::deserialize(d)?.map(|s| s.0).unwrap_or_default())
}

fn go_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let items: Option<Vec<Option<GoString>>> = Option::deserialize(d)?;
    Ok(items.unwrap_or_default().into_iter().map(|s| s.map(|s| s.0).unwrap_or_default()).collect())
}

fn go_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<GoBool>::deserialize(d)?.is_some_and(|b| b.0))
}

struct GoString(String);

impl<'de> Deserialize<'de> for GoString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarText).map(GoString)
    }
}

struct GoBool(bool);

impl<'de> Deserialize<'de> for GoBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BoolVisitor).map(GoBool)
    }
}

/// The text of any scalar.
struct ScalarText;

impl Visitor<'_> for ScalarText {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
}

/// A YAML bool, or one of YAML 1.1's words, which Go's yaml.v3 accepts for `bool` fields.
struct BoolVisitor;

impl Visitor<'_> for BoolVisitor {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        match v {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => Ok(true),
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => Ok(false),
            _ => Err(E::custom(format!("cannot unmarshal {} into bool", go_quote(v)))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = r#"
name: hello-world
container:
  entrypoint: ./hello-world
  args: ["--port", 8080]
  mounts:
    - source: /var/lib/hello
      destination: /var/lib/hello
      type: bind
      options: [rbind, rw]
  security:
    writeableRootfs: yes
depends:
  - service: cri
  - path: /system/run/machined/machined.sock
  - network: [addresses, Connectivity]
  - time: true
  - configuration: true
restart: UntilSuccess
unknownKey: ignored
"#;

    #[test]
    fn parses_a_full_spec_leniently() {
        let spec = parse(HELLO.as_bytes()).unwrap();
        assert_eq!(spec.name, "hello-world");
        assert_eq!(spec.container.args, ["--port", "8080"]);
        assert!(spec.container.security.writeable_rootfs);
        assert_eq!(spec.container.mounts[0].kind, "bind");
        assert_eq!(spec.restart, Some(RestartKind::UntilSuccess));
        assert_eq!(spec.depends[2].network, [Some(NetworkStatus::Addresses), Some(NetworkStatus::Connectivity)]);
        assert!(check(&spec).is_empty(), "{:?}", check(&spec));
    }

    #[test]
    fn empty_and_comment_only_files_are_zero_specs() {
        for text in ["", "# nothing\n", "---\n"] {
            let spec = parse(text.as_bytes()).unwrap();
            assert_eq!(spec, Spec::default(), "{text:?}");
            assert_eq!(
                check(&spec),
                [
                    "name \"\" is invalid",
                    "restart kind is invalid: RestartKind(0)",
                    "container endpoint can't be empty"
                ]
            );
        }
    }

    #[test]
    fn decode_errors() {
        let cases = [
            ("name: x\nrestart: sometimes\n", "sometimes does not belong to RestartKind values"),
            ("depends:\n  - network: [internet]\n", "internet does not belong to Status values"),
            ("depends: cri\n", ""),
            ("container: [1]\n", ""),
            ("depends:\n  - time: maybe\n", "cannot unmarshal \"maybe\" into bool"),
        ];
        for (text, want) in cases {
            let err = parse(text.as_bytes()).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn validation_errors_accumulate() {
        let text = r#"
name: Bad.Name
container:
  entrypoint: ""
depends:
  - {}
  - service: cri
    time: true
  - path: relative/file
  - network: [~]
"#;
        let spec = parse(text.as_bytes()).unwrap();
        assert_eq!(
            check(&spec),
            [
                "name \"Bad.Name\" is invalid",
                "restart kind is invalid: RestartKind(0)",
                "container endpoint can't be empty",
                "no dependency specified",
                "more than a single dependency is set",
                "path is not absolute: \"relative/file\"",
                "invalid network dependency: Status(0)",
            ]
        );
    }

    #[test]
    fn only_the_first_document_counts() {
        let spec = parse(b"name: a\n---\nname: b\n").unwrap();
        assert_eq!(spec.name, "a");
    }

    #[test]
    fn schema_is_exactly_the_spec_fields() {
        let mapping = IdMapping { container_id: 0, host_id: 1000, size: 1 };
        let full = Spec {
            name: "x".into(),
            container: Container {
                entrypoint: "/x".into(),
                environment: vec!["A=1".into()],
                environment_file: "/e".into(),
                args: vec!["-v".into()],
                mounts: vec![Mount {
                    destination: "/d".into(),
                    kind: "bind".into(),
                    source: "/s".into(),
                    options: vec!["ro".into()],
                    uid_mappings: vec![mapping.clone()],
                    gid_mappings: vec![mapping],
                }],
                security: Security {
                    writeable_sysfs: true,
                    masked_paths: vec!["/m".into()],
                    readonly_paths: vec!["/r".into()],
                    writeable_rootfs: true,
                    rootfs_propagation: "shared".into(),
                },
            },
            depends: vec![Dependency {
                service: "cri".into(),
                path: "/p".into(),
                network: vec![Some(NetworkStatus::Addresses)],
                time: true,
                configuration: true,
            }],
            restart: Some(RestartKind::Always),
            log_to_console: true,
        };
        let yaml = serde_norway::to_string(&full).unwrap();
        assert_eq!(talos_ext_model::yaml_keys::unknown_keys(&yaml, &SCHEMA).unwrap(), []);
        let value: serde_norway::Value = serde_norway::from_str(&yaml).unwrap();
        assert_eq!(key_paths(&value, ""), SCHEMA.paths());
        assert_eq!(parse(yaml.as_bytes()).unwrap(), full);
    }

    #[test]
    fn unknown_keys_at_every_level() {
        let text = "name: x\ncontaner:\n  entrypoint: /x\ncontainer:\n  entrypoint: /x\n  mounts:\n    - source: /s\n      destnation: /d\n      uidmappings: [{containerid: 0, hostID: 1, size: 1}]\n  security:\n    writableRootfs: true\ndepends:\n  - service: cri\n  - sevice: udevd\nrestart: always\n";
        let keys = talos_ext_model::yaml_keys::unknown_keys(text, &SCHEMA).unwrap();
        let found: Vec<(&str, usize)> = keys.iter().map(|k| (k.path.as_str(), k.position.unwrap().0)).collect();
        assert_eq!(
            found,
            [
                ("contaner", 2),
                ("container.mounts[0].destnation", 8),
                ("container.mounts[0].uidmappings[0].hostID", 9),
                ("container.security.writableRootfs", 11),
                ("depends[1].sevice", 14),
            ]
        );
        // Talos' own decoding ignores all of them.
        assert!(parse(text.as_bytes()).is_ok());
    }

    #[test]
    fn id_mappings_decode_as_go_does() {
        let spec = parse(b"container:\n  mounts:\n    - uidmappings: [{containerid: 0, hostid: 1000, size: 65536}]\n")
            .unwrap();
        assert_eq!(spec.container.mounts[0].uid_mappings, [IdMapping { container_id: 0, host_id: 1000, size: 65536 }]);
        assert!(parse(b"container:\n  mounts:\n    - gidmappings: [{size: -1}]\n").is_err());
    }

    /// Every key path of a value in document order, list items as `[]` (from the first item).
    fn key_paths(value: &serde_norway::Value, prefix: &str) -> Vec<String> {
        match value {
            serde_norway::Value::Mapping(map) => {
                let mut out = Vec::new();
                for (key, value) in map {
                    let key = key.as_str().unwrap();
                    let path = if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") };
                    out.push(path.clone());
                    out.extend(key_paths(value, &path));
                }
                out
            }
            serde_norway::Value::Sequence(items) => {
                items.first().map(|item| key_paths(item, &format!("{prefix}[]"))).unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }
}
