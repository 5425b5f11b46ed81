//! Unknown keys in YAML documents that Talos decodes leniently.
//!
//! Talos reads `manifest.yaml` and extension service specs with Go's non-strict yaml decoder,
//! which drops every key it does not know: a misspelt `compatability:` silently removes a
//! constraint. A [`Schema`] names the keys each mapping of a document may hold, and
//! [`unknown_keys`] lists every key outside it, at any depth, with its path
//! (`metadata.compatability`, `depends[1].sevice`) and line. The decoders themselves stay as
//! lenient as Talos; a strict validator reports these on top.
//!
//! Both passes run serde_norway's own parser, the one the decoders use, so they see exactly the
//! document the decoders read (the first one in the file). The first pass walks it against the
//! schema and collects the paths of unknown keys. serde_norway gives positions only with errors,
//! so a second pass per unknown key (none in a valid file) walks to that key and stops there
//! with an error, whose location is the key's.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The keys a YAML value may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Any value; nothing below it is checked (a scalar, or a list of scalars).
    Any,
    /// A mapping with these keys, each with the schema of its value. A mapping key is matched
    /// exactly (case-sensitively), as Go's yaml decoder matches struct fields.
    Map(&'static [(&'static str, Schema)]),
    /// A sequence whose items have this schema.
    List(&'static Schema),
}

impl Schema {
    /// Every key path the schema allows, in schema order, lists shown as `[]`:
    /// `metadata.compatibility.talos.version`, `depends[].service`.
    pub fn paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_paths(String::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: String, out: &mut Vec<String>) {
        match self {
            Schema::Any => {}
            Schema::List(item) => item.collect_paths(format!("{prefix}[]"), out),
            Schema::Map(fields) => {
                for (name, schema) in *fields {
                    let path = if prefix.is_empty() { (*name).to_string() } else { format!("{prefix}.{name}") };
                    out.push(path.clone());
                    schema.collect_paths(path, out);
                }
            }
        }
    }
}

/// A key outside the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// Where it is: mapping keys joined by `.`, list items as `[i]` (`metadata.compatability`,
    /// `container.mounts[0].tpye`). A key that is not a scalar shows as `?`.
    pub path: String,
    /// The key itself, the last part of `path`.
    pub key: String,
    /// The 1-based line and column of the key, when the parser reported them.
    pub position: Option<(usize, usize)>,
    /// The keys the schema allows in the mapping it is in, in schema order.
    pub allowed: Vec<&'static str>,
}

/// The document could not be read as YAML; the decoder reports the same error.
#[derive(Debug, thiserror::Error)]
#[error("cannot check the keys of a yaml document that does not parse: {cause}")]
pub struct KeysError {
    cause: serde_norway::Error,
}

/// Every key of the first YAML document in `text` that `schema` does not allow, in document order.
/// An empty document has none.
pub fn unknown_keys(text: &str, schema: &Schema) -> Result<Vec<UnknownKey>, KeysError> {
    let Some(document) = serde_norway::Deserializer::from_str(text).next() else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    let mut path = Vec::new();
    Walk { schema, path: &mut path, found: &mut found }.deserialize(document).map_err(|cause| KeysError { cause })?;
    Ok(found
        .into_iter()
        .map(|(path, allowed)| {
            let position = serde_norway::Deserializer::from_str(text).next().and_then(|document| {
                match (Locate { path: &path }).deserialize(document) {
                    Err(e) if e.to_string().contains(LOCATED) => e.location().map(|l| (l.line(), l.column())),
                    _ => None,
                }
            });
            let key = match path.last() {
                Some(Segment::Key { name, .. }) => name.clone(),
                _ => String::new(),
            };
            UnknownKey { path: display(&path), key, position, allowed: allowed.iter().map(|(name, _)| *name).collect() }
        })
        .collect())
}

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// The `nth` (0-based) occurrence of a key in its mapping; a duplicate key is a new occurrence.
    Key {
        name: String,
        nth: usize,
    },
    Index(usize),
}

fn display(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key { name, .. } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

type Fields = &'static [(&'static str, Schema)];

/// First pass: walks a value against its schema, collecting unknown keys.
struct Walk<'a> {
    schema: &'a Schema,
    path: &'a mut Vec<Segment>,
    found: &'a mut Vec<(Vec<Segment>, Fields)>,
}

/// The visitor methods of scalars (and enums) for the two walks below: a scalar holds no keys,
/// and a value of another shape than the schema's is the decoder's error, not an unknown key.
macro_rules! ignore_scalars {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            Ok(())
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            Ok(())
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            Ok(())
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            Ok(())
        }

        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            Ok(())
        }

        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }

        fn visit_none<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }

        fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
            IgnoredAny.visit_enum(data).map(drop)
        }
    };
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self.schema {
            Schema::Any => d.deserialize_ignored_any(IgnoredAny).map(drop),
            Schema::Map(_) | Schema::List(_) => d.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any yaml value")
    }

    ignore_scalars!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Schema::List(item) = self.schema else {
            return IgnoredAny.visit_seq(seq).map(drop);
        };
        let mut index = 0;
        loop {
            self.path.push(Segment::Index(index));
            let more = seq.next_element_seed(Walk { schema: item, path: self.path, found: self.found })?;
            self.path.pop();
            if more.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Schema::Map(fields) = self.schema else {
            return IgnoredAny.visit_map(map).map(drop);
        };
        let mut seen: Vec<String> = Vec::new();
        while let Some(KeyText(name)) = map.next_key()? {
            let nth = seen.iter().filter(|k| **k == name).count();
            seen.push(name.clone());
            let field = fields.iter().find(|(known, _)| *known == name);
            self.path.push(Segment::Key { name, nth });
            match field {
                Some((_, schema)) => map.next_value_seed(Walk { schema, path: self.path, found: self.found })?,
                None => {
                    self.found.push((self.path.clone(), fields));
                    map.next_value::<IgnoredAny>()?;
                }
            }
            self.path.pop();
        }
        Ok(())
    }
}

/// A mapping key as text: scalars as written, anything else as `?`.
struct KeyText(String);

impl<'de> de::Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KeyVisitor { stop_at: None }).map(KeyText)
    }
}

/// Reads a key's text; with `stop_at`, fails on that key so the parser reports its position.
struct KeyVisitor<'a> {
    stop_at: Option<&'a str>,
}

/// The message of the error that marks a located key.
const LOCATED: &str = "talos-ext-model: located the unknown key";

impl KeyVisitor<'_> {
    fn text<E: de::Error>(self, text: String) -> Result<String, E> {
        if self.stop_at == Some(text.as_str()) { Err(E::custom(LOCATED)) } else { Ok(text) }
    }
}

impl<'de> Visitor<'de> for KeyVisitor<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        self.text(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        self.text(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        self.text(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        self.text(v.to_string())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        self.text(v.to_string())
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        self.text("null".to_string())
    }

    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        self.text("null".to_string())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<String, A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok("?".to_string())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<String, A::Error> {
        IgnoredAny.visit_map(map)?;
        Ok("?".to_string())
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<String, A::Error> {
        IgnoredAny.visit_enum(data)?;
        Ok("?".to_string())
    }
}

/// Second pass: follows a path and fails on its last key.
struct Locate<'a> {
    path: &'a [Segment],
}

impl<'de> DeserializeSeed<'de> for Locate<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Locate<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any yaml value")
    }

    ignore_scalars!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if let [Segment::Index(index), rest @ ..] = self.path {
            for _ in 0..*index {
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    return Ok(());
                }
            }
            if !rest.is_empty() {
                seq.next_element_seed(Locate { path: rest })?;
            }
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if let [Segment::Key { name, nth }, rest @ ..] = self.path {
            let mut matches = 0;
            loop {
                let stop_at = (rest.is_empty() && matches == *nth).then_some(name.as_str());
                let Some(key) = map.next_key_seed(KeySeed { stop_at })? else {
                    return Ok(());
                };
                if key != *name {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                if matches == *nth {
                    // `rest` is not empty here: an empty one stopped at the key.
                    map.next_value_seed(Locate { path: rest })?;
                    break;
                }
                matches += 1;
                map.next_value::<IgnoredAny>()?;
            }
        }
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }
}

struct KeySeed<'a> {
    stop_at: Option<&'a str>,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(KeyVisitor { stop_at: self.stop_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: Schema = Schema::Map(&[
        ("name", Schema::Any),
        ("inner", Schema::Map(&[("a", Schema::Any), ("b", Schema::Any)])),
        ("items", Schema::List(&Schema::Map(&[("x", Schema::Any)]))),
    ]);

    fn found(text: &str) -> Vec<(String, Option<(usize, usize)>)> {
        unknown_keys(text, &SCHEMA).unwrap().into_iter().map(|k| (k.path, k.position)).collect()
    }

    #[test]
    fn finds_every_unknown_key_with_its_line() {
        let text =
            "name: x\nnmae: y\ninner:\n  a: 1\n  c: 2\n  d:\n    deep: 3\nitems:\n  - x: 1\n  - y: 2\n    x: 3\n";
        assert_eq!(
            found(text),
            [
                ("nmae".to_string(), Some((2, 1))),
                ("inner.c".to_string(), Some((5, 3))),
                ("inner.d".to_string(), Some((6, 3))),
                ("items[1].y".to_string(), Some((10, 5))),
            ]
        );
        let keys = unknown_keys(text, &SCHEMA).unwrap();
        assert_eq!(keys[1].key, "c");
        assert_eq!(keys[1].allowed, ["a", "b"]);
    }

    #[test]
    fn flow_style_duplicates_and_odd_keys() {
        // Flow mappings, a duplicated unknown key (each occurrence located), non-string keys.
        let text = "inner: {a: 1, z: 2}\nq: 1\nq: 2\n1: one\n? [k]\n: v\n";
        assert_eq!(
            found(text),
            [
                ("inner.z".to_string(), Some((1, 15))),
                ("q".to_string(), Some((2, 1))),
                ("q".to_string(), Some((3, 1))),
                ("1".to_string(), Some((4, 1))),
                ("?".to_string(), None),
            ]
        );
    }

    #[test]
    fn shapes_other_than_the_schema_are_not_unknown_keys() {
        for text in
            ["", "---\n", "# only a comment\n", "inner: [1, 2]\nitems: {x: 1}\n", "inner: ~\nitems:\n", "[1, 2]\n"]
        {
            assert_eq!(found(text), [], "{text:?}");
        }
        // Only the first document counts, as for the decoders.
        assert_eq!(found("name: a\n---\nbad: b\n"), []);
    }

    #[test]
    fn an_unparseable_document_is_an_error() {
        let err = unknown_keys("name: [x\n", &SCHEMA).unwrap_err();
        assert!(err.to_string().starts_with("cannot check the keys of a yaml document that does not parse: "), "{err}");
    }

    #[test]
    fn anchors_are_checked_where_they_are_used() {
        let text = "items:\n  - &one {x: 1, w: 2}\n  - *one\n";
        let keys = found(text);
        assert_eq!(keys.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(), ["items[0].w", "items[1].w"]);
        assert_eq!(keys[0].1.map(|(line, _)| line), Some(2));
    }

    #[test]
    fn schema_paths() {
        assert_eq!(SCHEMA.paths(), ["name", "inner", "inner.a", "inner.b", "items", "items[].x"]);
    }
}
