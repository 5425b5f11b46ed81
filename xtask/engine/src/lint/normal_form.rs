//! The normal form of `[package.metadata.talos-extension]`: keys in the model's order, `version`
//! an inline table with `format` first, `modules` a `[...talos-extension.modules]` table with
//! the arches in order, each source a `[[...talos-extension.sources]]` table with its keys in
//! order (then each payload's `[[...talos-extension.payloads]]`, its keys in order), and those
//! sub-tables right below the table. Comments and blank lines before a key or
//! a table header stay with it; nothing outside the table changes.
//!
//! Edited with `toml_edit`, which keeps a document's formatting and comments (the `toml` crate
//! reads values only).

use talos_ext_model::{Arch, METADATA_KEY};
use toml_edit::{ArrayOfTables, DocumentMut, InlineTable, Item, Key, Table, Value};

/// The keys of the metadata table, in their normal order.
pub const KEY_ORDER: &[&str] = &[
    "category",
    "tier",
    "kind",
    "author",
    "description",
    "compatibility",
    "arches",
    "version",
    "license",
    "cpes",
    "purl",
    "sbom_exempt",
    "toolchain",
    "firmware",
    "modules",
    "sources",
    "payloads",
    "go",
];

/// The keys of one source, in their normal order.
pub const SOURCE_KEY_ORDER: &[&str] = &["name", "url", "sha256", "sha512", "arch"];

/// The keys of one payload (`prebuilt`), in their normal order.
pub const PAYLOAD_KEY_ORDER: &[&str] = &["source", "member", "dest", "mode", "arch", "loader"];

/// The keys of the `[go]` table (`go-build`), in their normal order.
pub const GO_KEY_ORDER: &[&str] =
    &["module", "version", "source", "dir", "vendor", "packages", "ldflags", "tags", "cgo", "graph_hash"];

fn rank(order: &[&str], key: &str) -> usize {
    order.iter().position(|k| *k == key).unwrap_or(order.len())
}

/// The metadata table of a parsed `Cargo.toml`, if it is written as a table.
pub fn table_mut(doc: &mut DocumentMut) -> Option<&mut Table> {
    doc.get_mut("package")?.get_mut("metadata")?.get_mut(METADATA_KEY)?.as_table_mut()
}

fn table(doc: &DocumentMut) -> Option<&Table> {
    doc.get("package")?.get("metadata")?.get(METADATA_KEY)?.as_table()
}

/// How the table departs from the normal form: `(field below the table, "" for the table
/// itself; message)`. Empty when it is in the normal form.
pub fn check(text: &str) -> Result<Vec<(String, String)>, toml_edit::TomlError> {
    let doc: DocumentMut = text.parse()?;
    let mut problems = Vec::new();
    let Some(t) = table(&doc) else {
        if doc.get("package").and_then(|p| p.get("metadata")).and_then(|m| m.get(METADATA_KEY)).is_some() {
            problems.push((String::new(), format!("write it as a [package.metadata.{METADATA_KEY}] table")));
        }
        return Ok(problems);
    };
    let keys: Vec<&str> = t.iter().map(|(k, _)| k).collect();
    let mut sorted = keys.clone();
    sorted.sort_by_key(|k| rank(KEY_ORDER, k));
    if keys != sorted {
        problems.push((String::new(), format!("keys out of order: write them as {}", quoted(&sorted))));
    }
    match t.get("version") {
        Some(Item::Value(Value::InlineTable(v))) if v.iter().next().is_some_and(|(k, _)| k != "format") => {
            problems.push(("version".into(), "write `format` first".into()));
        }
        Some(Item::Value(Value::InlineTable(_))) | None => {}
        Some(_) => problems.push(("version".into(), "write it as an inline table `{ format = \"...\", ... }`".into())),
    }
    match t.get("modules") {
        Some(Item::Table(m)) if !m.is_dotted() => {
            let arches: Vec<&str> = m.iter().map(|(k, _)| k).collect();
            let mut sorted = arches.clone();
            sorted.sort_by_key(|k| Arch::ALL.iter().position(|a| a.as_str() == *k).unwrap_or(usize::MAX));
            if arches != sorted {
                problems.push(("modules".into(), format!("arches out of order: write them as {}", quoted(&sorted))));
            }
        }
        Some(_) => {
            problems.push(("modules".into(), format!("write it as a [package.metadata.{METADATA_KEY}.modules] table")))
        }
        None => {}
    }
    match t.get("sources") {
        Some(Item::ArrayOfTables(sources)) => {
            for (i, s) in sources.iter().enumerate() {
                let keys: Vec<&str> = s.iter().map(|(k, _)| k).collect();
                let mut sorted = keys.clone();
                sorted.sort_by_key(|k| rank(SOURCE_KEY_ORDER, k));
                if keys != sorted {
                    problems.push((
                        format!("sources[{i}]"),
                        format!("keys out of order: write them as {}", quoted(&sorted)),
                    ));
                }
            }
        }
        Some(_) => problems.push((
            "sources".into(),
            format!("write each source as a [[package.metadata.{METADATA_KEY}.sources]] table"),
        )),
        None => {}
    }
    if problems.is_empty() && !sub_tables_follow(&doc) {
        problems.push((
            String::new(),
            "its sub-tables belong right below it: `modules`, then the `sources`, then the `payloads`, then `go`"
                .into(),
        ));
    }
    if problems.is_empty() && normalise_text(text)?.is_some_and(|n| n != text) {
        problems.push((String::new(), "not in the normal form".into()));
    }
    Ok(problems)
}

fn quoted(keys: &[&str]) -> String {
    keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
}

/// Whether the table's sub-tables come right after it, `modules` before the sources, with no
/// other table between (the order of table headers is their position in the document).
fn sub_tables_follow(doc: &DocumentMut) -> bool {
    // (position, 0 = another table, 1 = the metadata table, 2 = modules, 3 = a source,
    // 4 = a payload, 5 = go)
    let mut headers = Vec::new();
    fn walk<'a>(t: &'a Table, path: &[&'a str], out: &mut Vec<(isize, u8)>) {
        let ours = |extra: &[&str]| {
            path.len() == 3 + extra.len() && path[..3] == ["package", "metadata", METADATA_KEY] && path[3..] == *extra
        };
        if let Some(pos) = t.position()
            && !t.is_implicit()
        {
            let kind = if ours(&[]) {
                1
            } else if ours(&["modules"]) {
                2
            } else if ours(&["go"]) {
                5
            } else {
                0
            };
            out.push((pos, kind));
        }
        for (key, item) in t.iter() {
            let mut p = path.to_vec();
            p.push(key);
            match item {
                Item::Table(sub) => walk(sub, &p, out),
                Item::ArrayOfTables(a) => {
                    for sub in a.iter() {
                        let ours = p.len() == 4 && p[..3] == ["package", "metadata", METADATA_KEY];
                        let kind = match key {
                            "sources" if ours => 3,
                            "payloads" if ours => 4,
                            _ => 0,
                        };
                        if let Some(pos) = sub.position() {
                            out.push((pos, kind));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    walk(doc.as_table(), &[], &mut headers);
    headers.sort_by_key(|(pos, _)| *pos);
    let kinds: Vec<u8> = headers.iter().map(|(_, k)| *k).collect();
    let Some(start) = kinds.iter().position(|k| *k == 1) else { return true };
    let ours: Vec<u8> = kinds[start..].iter().copied().take_while(|k| *k != 0).collect();
    let all_ours = kinds.iter().filter(|k| **k != 0).count();
    ours.len() == all_ours && ours.windows(2).all(|w| w[0] <= w[1])
}

/// The whole `Cargo.toml` text with its metadata table in the normal form; `None` when it has
/// no metadata table.
pub fn normalise_text(text: &str) -> Result<Option<String>, toml_edit::TomlError> {
    let mut doc: DocumentMut = text.parse()?;
    Ok(normalise(&mut doc).then(|| doc.to_string()))
}

/// Puts the document's metadata table into the normal form; `false` when it has none.
pub fn normalise(doc: &mut DocumentMut) -> bool {
    let Some(t) = table_mut(doc) else { return false };
    let Some(pos) = t.position() else { return false };
    let keys: Vec<String> = t.iter().map(|(k, _)| k.to_string()).collect();
    let mut items: Vec<(Key, Item)> = keys.iter().filter_map(|k| t.remove_entry(k)).collect();
    items.sort_by_key(|(k, _)| rank(KEY_ORDER, k.get()));
    for (key, item) in items {
        let (key, item) = match key.get() {
            "version" => (key, normal_version(item)),
            "modules" => (Key::new("modules"), Item::Table(normal_modules(item, pos))),
            "sources" => (Key::new("sources"), normal_sources(item, pos, SOURCE_KEY_ORDER)),
            "payloads" => (Key::new("payloads"), normal_sources(item, pos, PAYLOAD_KEY_ORDER)),
            "go" => (Key::new("go"), Item::Table(normal_go(item, pos))),
            _ => (key, item),
        };
        t.insert_formatted(&key, item);
    }
    true
}

fn normal_version(item: Item) -> Item {
    let inline = match item {
        Item::Table(t) => t.into_inline_table(),
        Item::Value(Value::InlineTable(t)) => t,
        other => return other,
    };
    let mut entries: Vec<(Key, Value)> = Vec::new();
    let keys: Vec<String> = inline.iter().map(|(k, _)| k.to_string()).collect();
    let mut inline = inline;
    for k in keys {
        if let Some(entry) = inline.remove_entry(&k) {
            entries.push(entry);
        }
    }
    entries.sort_by_key(|(k, _)| k.get() != "format");
    let mut out = InlineTable::new();
    for (k, v) in entries {
        out.insert(k.get(), v);
    }
    out.fmt();
    Item::Value(Value::InlineTable(out))
}

/// A sub-table, placed right below the metadata table, with a blank line before its header
/// unless it has comments or a blank line of its own.
fn placed(mut t: Table, pos: isize) -> Table {
    t.set_implicit(false);
    t.set_dotted(false);
    t.set_position(pos);
    if t.decor().prefix().and_then(|p| p.as_str()).is_none_or(|p| p.is_empty()) {
        t.decor_mut().set_prefix("\n");
    }
    t
}

fn normal_modules(item: Item, pos: isize) -> Table {
    let table = match item {
        Item::Table(t) => t,
        Item::Value(Value::InlineTable(t)) => t.into_table(),
        _ => Table::new(),
    };
    let mut table = table;
    let keys: Vec<String> = table.iter().map(|(k, _)| k.to_string()).collect();
    let mut entries: Vec<(Key, Item)> = keys.iter().filter_map(|k| table.remove_entry(k)).collect();
    entries.sort_by_key(|(k, _)| Arch::ALL.iter().position(|a| a.as_str() == k.get()).unwrap_or(usize::MAX));
    for (k, v) in entries {
        table.insert_formatted(&k, v);
    }
    placed(table, pos)
}

/// The `[go]` table with its keys in [`GO_KEY_ORDER`], placed below the metadata table.
fn normal_go(item: Item, pos: isize) -> Table {
    let mut table = match item {
        Item::Table(t) => t,
        Item::Value(Value::InlineTable(t)) => t.into_table(),
        _ => Table::new(),
    };
    let keys: Vec<String> = table.iter().map(|(k, _)| k.to_string()).collect();
    let mut entries: Vec<(Key, Item)> = keys.iter().filter_map(|k| table.remove_entry(k)).collect();
    entries.sort_by_key(|(k, _)| rank(GO_KEY_ORDER, k.get()));
    for (k, v) in entries {
        table.insert_formatted(&k, v);
    }
    placed(table, pos)
}

/// One source table with its keys in order; `inline`: it was an inline table, so its keys and
/// values get the spacing of a table's lines (a table's keep theirs, comments included).
fn normal_source(mut t: Table, pos: isize, inline: bool, order: &[&str]) -> Table {
    let keys: Vec<String> = t.iter().map(|(k, _)| k.to_string()).collect();
    let mut entries: Vec<(Key, Item)> = keys.iter().filter_map(|k| t.remove_entry(k)).collect();
    entries.sort_by_key(|(k, _)| rank(order, k.get()));
    for (key, mut item) in entries {
        let key = if inline {
            if let Some(value) = item.as_value_mut() {
                value.decor_mut().set_prefix(" ");
                value.decor_mut().set_suffix("");
            }
            Key::new(key.get())
        } else {
            key
        };
        t.insert_formatted(&key, item);
    }
    placed(t, pos)
}

/// An array of sub-tables (`sources`, `payloads`), each with its keys in `order`.
fn normal_sources(item: Item, pos: isize, order: &[&str]) -> Item {
    let mut out = ArrayOfTables::new();
    match item {
        Item::ArrayOfTables(a) => {
            for t in a.into_iter() {
                out.push(normal_source(t, pos, false, order));
            }
        }
        Item::Value(Value::Array(a)) => {
            for v in a.into_iter() {
                if let Value::InlineTable(t) = v {
                    out.push(normal_source(t.into_table(), pos, true, order));
                }
            }
        }
        other => return other,
    }
    Item::ArrayOfTables(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NORMAL: &str = r#"[package]
name = "x"

# About the table.
[package.metadata.talos-extension]
category = "tools"
# Why this version.
version = { format = "upstream", upstream = "1.0" }
license = "MIT"

[package.metadata.talos-extension.modules]
amd64 = ["kernel/a.ko"]
arm64 = ["kernel/a.ko"]

# The release tarball.
[[package.metadata.talos-extension.sources]]
name = "x"
url = "https://x.org/x-1.0.tar.gz"

[build-dependencies]
y = "1" # kept
"#;

    #[test]
    fn the_go_table_goes_below_the_metadata_table_with_its_keys_in_order() {
        let text = "[package]\nname = \"x\"\n\n[package.metadata.talos-extension.go]\ngraph_hash = \"00\"\nmodule = \"m\"\nversion = \"v1\"\n\n[package.metadata.talos-extension]\nkind = \"go-build\"\ncategory = \"network\"\n";
        assert!(!check(text).unwrap().is_empty(), "out of order");
        let normal = normalise_text(text).unwrap().unwrap();
        assert_eq!(
            normal,
            "[package]\nname = \"x\"\n\n[package.metadata.talos-extension]\ncategory = \"network\"\nkind = \"go-build\"\n\n[package.metadata.talos-extension.go]\nmodule = \"m\"\nversion = \"v1\"\ngraph_hash = \"00\"\n"
        );
        assert_eq!(check(&normal).unwrap(), Vec::<(String, String)>::new());
    }

    #[test]
    fn the_normal_form_is_a_fixed_point() {
        assert_eq!(check(NORMAL).unwrap(), Vec::<(String, String)>::new());
        assert_eq!(normalise_text(NORMAL).unwrap().unwrap(), NORMAL);
    }

    #[test]
    fn fixes_order_and_styles_keeping_comments() {
        let messy = r#"[package]
name = "x"

# About the table.
[package.metadata.talos-extension]
license = "MIT"
sources = [
  { url = "https://x.org/x-1.0.tar.gz", name = "x" },
]
category = "tools"
# Why this version.
version = { upstream = "1.0", format = "upstream" }
modules = { arm64 = ["kernel/a.ko"], amd64 = ["kernel/a.ko"] }

[build-dependencies]
y = "1" # kept
"#;
        let problems = check(messy).unwrap();
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["", "version", "modules", "sources"], "{problems:?}");
        assert!(problems[0].1.contains("`category`, `version`, `license`, `modules`, `sources`"), "{problems:?}");
        let fixed = normalise_text(messy).unwrap().unwrap();
        let want = NORMAL.replace("# The release tarball.\n", "");
        assert_eq!(fixed, want);
        assert!(check(&fixed).unwrap().is_empty());
    }

    #[test]
    fn sub_tables_elsewhere_are_moved_below_the_table() {
        let text = NORMAL.replace(
            "\n[package.metadata.talos-extension.modules]\namd64 = [\"kernel/a.ko\"]\narm64 = [\"kernel/a.ko\"]\n",
            "",
        ) + "\n[package.metadata.talos-extension.modules]\namd64 = [\"kernel/a.ko\"]\narm64 = [\"kernel/a.ko\"]\n";
        let problems = check(&text).unwrap();
        assert_eq!(
            problems,
            [(
                String::new(),
                "keys out of order: write them as `category`, `version`, `license`, `modules`, `sources`".to_string()
            )]
        );
        // Modules after another table, but before the sources: only the placement is wrong.
        let text = NORMAL.replace("[build-dependencies]\ny = \"1\" # kept\n", "").replace(
            "\n[package.metadata.talos-extension.modules]",
            "\n[build-dependencies]\ny = \"1\" # kept\n\n[package.metadata.talos-extension.modules]",
        );
        let problems = check(&text).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].1.contains("right below it"), "{problems:?}");
        // (A blank line that stood before the moved header may stay at the end of the file.)
        assert_eq!(normalise_text(&text).unwrap().unwrap().trim_end(), NORMAL.trim_end());
    }

    #[test]
    fn no_table_no_change() {
        assert_eq!(normalise_text("[package]\nname = \"x\"\n").unwrap(), None);
    }
}
