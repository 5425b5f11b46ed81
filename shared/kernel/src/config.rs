//! Checking a prepared tree's `.config` against the pinned one: after `make olddefconfig`, the
//! configuration must be the one the published kernel was built with, or modules built against
//! the tree may not match its layout.
//!
//! Allowed to differ: what Kconfig computes by probing the compiler, assembler, linker and
//! pahole of the machine ([`is_toolchain_probe`]: `CC_VERSION_TEXT`, `CLANG_VERSION`, ...,
//! `PAHOLE_VERSION`, `CC_CAN_LINK`); and, for a stand-in source of another kernel version
//! ([`KconfigSymbols`] of that source): options that exist on one side only because that
//! source's Kconfig does not define them, and options without a prompt there whose value that
//! source derives differently (an arch that `select`s a symbol only from a later stable release
//! on: 6.18.15's x86 does not select `HAVE_UNWIND_USER_FP`, 6.18.45's does). Both kinds are
//! listed in [`Allowed`]. Anything else, above all a changed value of an option a user can set,
//! is a [`ConfigDiff`] naming the option and both values.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One option's value, as a `.config` spells it (`y`, `m`, `"text"`, `0x10`, or `n` for
/// `# CONFIG_X is not set`).
pub type Options = BTreeMap<String, String>;

/// Parses a `.config`: `CONFIG_X=v` and `# CONFIG_X is not set` lines (as `n`), by name without
/// the `CONFIG_` prefix.
pub fn parse(text: &str) -> Options {
    let mut out = Options::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("CONFIG_")
            && let Some((name, value)) = rest.split_once('=')
        {
            out.insert(name.to_string(), value.to_string());
        } else if let Some(name) = line.strip_prefix("# CONFIG_").and_then(|r| r.strip_suffix(" is not set")) {
            out.insert(name.to_string(), "n".to_string());
        }
    }
    out
}

/// Options whose value Kconfig takes from the build machine's tools, not from the configuration.
pub fn is_toolchain_probe(name: &str) -> bool {
    const VERSIONS: [&str; 11] = [
        "CC_VERSION_TEXT",
        "CLANG_VERSION",
        "GCC_VERSION",
        "LD_VERSION",
        "LLD_VERSION",
        "AS_VERSION",
        "RUSTC_VERSION",
        "RUSTC_LLVM_VERSION",
        "BINDGEN_VERSION",
        "PAHOLE_VERSION",
        "GCC_ASM_GOTO_OUTPUT_BROKEN",
    ];
    VERSIONS.contains(&name) || name == "CC_CAN_LINK" || name == "CC_CAN_LINK_STATIC"
}

/// How a prepared `.config` differs from the pinned one where it must not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigDiff {
    pub option: String,
    /// The pinned value (`None`: the pinned config does not mention it).
    pub pinned: Option<String>,
    /// The prepared value (`None`: olddefconfig dropped it).
    pub prepared: Option<String>,
}

impl std::fmt::Display for ConfigDiff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".into());
        write!(f, "CONFIG_{}: pinned {}, prepared {}", self.option, show(&self.pinned), show(&self.prepared))
    }
}

/// What [`compare`] allowed, for notes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowed {
    /// Toolchain probes that differ.
    pub probes: Vec<String>,
    /// Options on one side only that the source's Kconfig does not define.
    pub undefined: Vec<String>,
    /// Options without a prompt in the stand-in source whose value it derives differently.
    pub derived: Vec<ConfigDiff>,
}

/// The symbols a kernel source's Kconfig files define, and which of them have a prompt (a
/// value a configuration chooses, not one Kconfig derives).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KconfigSymbols {
    pub defined: BTreeSet<String>,
    pub prompted: BTreeSet<String>,
}

/// Compares a prepared `.config` with the pinned one. `stand_in` is the Kconfig of a stand-in
/// source of another version (`None` for the pinned source itself: then every option must
/// match).
pub fn compare(pinned: &Options, prepared: &Options, stand_in: Option<&KconfigSymbols>) -> (Vec<ConfigDiff>, Allowed) {
    let defined = stand_in.map(|k| &k.defined);
    let mut diffs = Vec::new();
    let mut allowed = Allowed::default();
    let names: BTreeSet<&String> = pinned.keys().chain(prepared.keys()).collect();
    for name in names {
        let (a, b) = (pinned.get(name), prepared.get(name));
        if a == b {
            continue;
        }
        if is_toolchain_probe(name) {
            allowed.probes.push(name.clone());
            continue;
        }
        // An option one side lacks, or that `n` and absence spell alike.
        let one_sided = a.is_none() || b.is_none();
        let not_defined = defined.is_some_and(|d| !d.contains(name));
        if one_sided && not_defined {
            allowed.undefined.push(name.clone());
            continue;
        }
        if one_sided && a.or(b).is_some_and(|v| v == "n") {
            continue; // "is not set" and absent mean the same
        }
        let diff = ConfigDiff { option: name.clone(), pinned: a.cloned(), prepared: b.cloned() };
        if stand_in.is_some_and(|k| !k.prompted.contains(name)) {
            allowed.derived.push(diff);
            continue;
        }
        diffs.push(diff);
    }
    (diffs, allowed)
}

/// The symbols of every `Kconfig*` file below `src`: `config X` and `menuconfig X` define `X`;
/// a type with a prompt (`bool "..."`, `tristate "..."`, ...) or a `prompt` line in its block
/// (before its `help`) makes it prompted. A symbol defined several times is prompted when any
/// definition has a prompt.
pub fn kconfig_symbols(src: &Path) -> std::io::Result<KconfigSymbols> {
    let mut out = KconfigSymbols::default();
    let mut todo = vec![src.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let path = entry.path();
            if kind.is_dir() {
                if entry.file_name() != ".git" {
                    todo.push(path);
                }
            } else if kind.is_file() && entry.file_name().to_string_lossy().starts_with("Kconfig") {
                read_kconfig(&std::fs::read_to_string(&path)?, &mut out);
            }
        }
    }
    Ok(out)
}

fn read_kconfig(text: &str, out: &mut KconfigSymbols) {
    const TYPES: [&str; 6] = ["bool", "tristate", "string", "int", "hex", "prompt"];
    let mut current: Option<String> = None;
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("config" | "menuconfig"), Some(name)) => {
                out.defined.insert(name.to_string());
                current = Some(name.to_string());
            }
            (
                Some(
                    "help" | "---help---" | "endmenu" | "menu" | "choice" | "endchoice" | "if" | "endif" | "source"
                    | "comment",
                ),
                _,
            ) => current = None,
            (Some(word), Some(rest)) if TYPES.contains(&word) && rest.starts_with('"') => {
                if let Some(name) = &current {
                    out.prompted.insert(name.clone());
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PINNED: &str = "#\n# Linux/x86 6.18.45 Kernel Configuration\n#\n\
        CONFIG_CC_VERSION_TEXT=\"clang version 22.1.8\"\nCONFIG_CLANG_VERSION=220108\n\
        CONFIG_PAHOLE_VERSION=131\nCONFIG_CC_CAN_LINK=y\nCONFIG_SMP=y\nCONFIG_NR_CPUS=512\n\
        CONFIG_MODVERSIONS=y\n# CONFIG_DEBUG_INFO is not set\nCONFIG_NEW_IN_6_18_45=y\n";

    #[test]
    fn toolchain_probes_may_differ() {
        let prepared = PINNED
            .replace("22.1.8\"", "22.1.8 (Debian)\"")
            .replace("PAHOLE_VERSION=131", "PAHOLE_VERSION=124")
            .replace("CONFIG_CC_CAN_LINK=y\n", "");
        let (diffs, allowed) = compare(&parse(PINNED), &parse(&prepared), None);
        assert!(diffs.is_empty(), "{diffs:?}");
        assert_eq!(allowed.probes, ["CC_CAN_LINK", "CC_VERSION_TEXT", "PAHOLE_VERSION"]);
    }

    #[test]
    fn a_changed_value_is_named() {
        let prepared = PINNED.replace("NR_CPUS=512", "NR_CPUS=64").replace("CONFIG_MODVERSIONS=y\n", "");
        let (diffs, _) = compare(&parse(PINNED), &parse(&prepared), None);
        let shown: Vec<String> = diffs.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            ["CONFIG_MODVERSIONS: pinned y, prepared (absent)", "CONFIG_NR_CPUS: pinned 512, prepared 64"]
        );
    }

    #[test]
    fn a_stand_in_source_may_lack_options_it_does_not_define_but_not_change_others() {
        let prepared = PINNED.replace("CONFIG_NEW_IN_6_18_45=y\n", "CONFIG_OLD_ONLY=y\n");
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<BTreeSet<String>>();
        let defined = KconfigSymbols {
            defined: names(&["SMP", "NR_CPUS", "MODVERSIONS", "DEBUG_INFO", "OLD_ONLY"]),
            prompted: names(&["SMP", "NR_CPUS", "MODVERSIONS", "DEBUG_INFO", "OLD_ONLY"]),
        };
        let (diffs, allowed) = compare(&parse(PINNED), &parse(&prepared), Some(&defined));
        // OLD_ONLY is defined by the stand-in, so olddefconfig setting it is a real difference.
        assert_eq!(diffs.len(), 1, "{diffs:?}");
        assert_eq!(diffs[0].option, "OLD_ONLY");
        assert_eq!(allowed.undefined, ["NEW_IN_6_18_45"]);
        // Without the stand-in's Kconfig (the pinned source), the missing option is an error too.
        assert_eq!(compare(&parse(PINNED), &parse(&prepared), None).0.len(), 2);
        // A changed value of an option both define stays an error with a stand-in.
        let changed = PINNED.replace("NR_CPUS=512", "NR_CPUS=64");
        assert_eq!(compare(&parse(PINNED), &parse(&changed), Some(&defined)).0[0].option, "NR_CPUS");
        // Unless the stand-in derives it (no prompt): then it is allowed and listed.
        let derived = KconfigSymbols { prompted: names(&["SMP", "MODVERSIONS", "DEBUG_INFO", "OLD_ONLY"]), ..defined };
        let (diffs, allowed) = compare(&parse(PINNED), &parse(&changed), Some(&derived));
        assert!(diffs.is_empty(), "{diffs:?}");
        assert_eq!(
            allowed.derived.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["CONFIG_NR_CPUS: pinned 512, prepared 64"]
        );
    }

    #[test]
    fn symbols_and_prompts_come_from_every_kconfig() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("drivers/x")).unwrap();
        std::fs::write(
            dir.path().join("Kconfig"),
            "config SMP\n\tbool \"SMP\"\nmenuconfig MODULES\n\ttristate\n\tprompt \"Modules\"\n\
             config HAVE_UNWIND_USER_FP\n\tbool\n\tselect UNWIND_USER\nconfig UNWIND_USER\n\tbool\n\thelp\n\t  bool \"not a prompt\"\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("drivers/x/Kconfig.debug"), "  config X_DEBUG\n# config NOT_ME\n").unwrap();
        let got = kconfig_symbols(dir.path()).unwrap();
        assert_eq!(
            got.defined.into_iter().collect::<Vec<_>>(),
            ["HAVE_UNWIND_USER_FP", "MODULES", "SMP", "UNWIND_USER", "X_DEBUG"]
        );
        assert_eq!(got.prompted.into_iter().collect::<Vec<_>>(), ["MODULES", "SMP"]);
    }
}
