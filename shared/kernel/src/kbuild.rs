//! Which configuration options build an in-tree module, read from a kernel source's kbuild
//! Makefiles: `kernel/drivers/gpu/drm/xe/xe.ko` is built when a `Makefile` or `Kbuild` of
//! `drivers/gpu/drm/xe/` lists `xe.o` in `obj-$(CONFIG_DRM_XE)` (or an ancestor directory's lists
//! `xe/xe.o`), and it is a module when that option is `m`. This checks a recipe's module list
//! against a kernel configuration without building the kernel or having its module tree.
//!
//! Only the module's own list is read: the options that make kbuild descend into its directory
//! are not followed (Kconfig dependencies normally tie them to the module's option), and a
//! Makefile's conditionals (`ifdef`, `ifeq`) are not evaluated, so a module listed under two
//! options is reported with both.

use std::path::Path;

use crate::config::Options;

/// What puts a module's object into a kbuild module list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Builder {
    /// `obj-m += x.o`: always a module (when kbuild reaches the directory).
    Always,
    /// `obj-$(CONFIG_X) += x.o` (or `${CONFIG_X}`): the option `X` (without `CONFIG_`).
    Option(String),
}

/// How a configuration builds a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Built {
    /// As a loadable module (`=m`, or `obj-m`).
    Module,
    /// Into the kernel image (`=y` for every option that lists it).
    BuiltIn(String),
    /// Not at all (every option that lists it is unset or `n`).
    NotBuilt(Vec<String>),
    /// No kbuild Makefile of the source lists the module's object.
    Unknown,
}

/// The builders of `module` (`kernel/<dir>/<name>.ko`, the path below `lib/modules/<release>/`)
/// in the kernel source `src`: every module list of `<dir>`'s `Kbuild`/`Makefile` naming
/// `<name>.o`, and of its ancestors' naming `<subdir>/<name>.o`. Empty when none does.
pub fn module_builders(src: &Path, module: &str) -> std::io::Result<Vec<Builder>> {
    let rel = module.strip_prefix("kernel/").unwrap_or(module);
    let rel = rel.strip_suffix(".ko").unwrap_or(rel);
    let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    let mut out = Vec::new();
    let mut here = Path::new(dir);
    let mut object = format!("{name}.o");
    loop {
        for file in ["Kbuild", "Makefile"] {
            let path = src.join(here).join(file);
            match std::fs::read_to_string(&path) {
                Ok(text) => out.extend(builders_in(&text, &object)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
            }
        }
        let Some(parent) = here.parent() else { break };
        let Some(last) = here.file_name() else { break };
        object = format!("{}/{object}", last.to_string_lossy());
        here = parent;
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The builders of `object` in one Makefile's text: logical lines (continuations joined,
/// comments dropped) `obj-<x> +=|:=|= ... object ...`.
fn builders_in(text: &str, object: &str) -> Vec<Builder> {
    let joined = text.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        let Some(rest) = line.strip_prefix("obj-") else { continue };
        let Some((target, objects)) = split_assignment(rest) else { continue };
        if !objects.split_whitespace().any(|o| o == object) {
            continue;
        }
        let target = target.trim();
        if target == "m" {
            out.push(Builder::Always);
        } else if let Some(option) = target
            .strip_prefix("$(CONFIG_")
            .and_then(|t| t.strip_suffix(')'))
            .or_else(|| target.strip_prefix("${CONFIG_").and_then(|t| t.strip_suffix('}')))
        {
            out.push(Builder::Option(option.to_string()));
        }
    }
    out
}

/// `$(CONFIG_X) += a.o b.o` into (`$(CONFIG_X)`, `a.o b.o`), for `+=`, `:=` and `=`.
fn split_assignment(rest: &str) -> Option<(&str, &str)> {
    for op in ["+=", ":=", "="] {
        if let Some((target, objects)) = rest.split_once(op) {
            return Some((target, objects));
        }
    }
    None
}

/// How `config` builds a module whose builders are `builders` ([`module_builders`]).
pub fn built(builders: &[Builder], config: &Options) -> Built {
    if builders.is_empty() {
        return Built::Unknown;
    }
    let mut built_in = None;
    let mut unset = Vec::new();
    for b in builders {
        match b {
            Builder::Always => return Built::Module,
            Builder::Option(name) => match config.get(name).map(String::as_str) {
                Some("m") => return Built::Module,
                Some("y") => built_in = Some(name.clone()),
                _ => unset.push(name.clone()),
            },
        }
    }
    match built_in {
        Some(name) => Built::BuiltIn(name),
        None => Built::NotBuilt(unset),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    fn tree() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let w = |rel: &str, text: &str| {
            let p = tmp.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        w(
            "drivers/net/Makefile",
            "# a comment naming foo.o\nobj-$(CONFIG_FOO) += foo.o bar.o \\\n\tbaz.o\nobj-$(CONFIG_SUB) += sub/\n\
             obj-$(CONFIG_QUX_A) += sub/qux.o # listed from the parent\n",
        );
        w("drivers/net/sub/Kbuild", "obj-m := always.o\nobj-${CONFIG_QUX_B} += qux.o\nqux-y := a.o b.o\n");
        tmp
    }

    #[test]
    fn finds_the_options_of_a_module_in_its_directory_and_its_ancestors() {
        let t = tree();
        let b = |m: &str| module_builders(t.path(), m).unwrap();
        assert_eq!(b("kernel/drivers/net/baz.ko"), [Builder::Option("FOO".into())], "continued line");
        assert_eq!(b("kernel/drivers/net/sub/always.ko"), [Builder::Always]);
        assert_eq!(
            b("kernel/drivers/net/sub/qux.ko"),
            [Builder::Option("QUX_A".into()), Builder::Option("QUX_B".into())]
        );
        assert!(b("kernel/drivers/net/a.ko").is_empty(), "composite parts are not modules");
        assert!(b("kernel/drivers/gone/x.ko").is_empty());
    }

    #[test]
    fn a_configuration_builds_a_module_built_in_or_not() {
        let t = tree();
        let config = parse("CONFIG_FOO=y\n# CONFIG_QUX_A is not set\nCONFIG_QUX_B=m\n");
        let built_by = |m: &str| built(&module_builders(t.path(), m).unwrap(), &config);
        assert_eq!(built_by("kernel/drivers/net/foo.ko"), Built::BuiltIn("FOO".into()));
        assert_eq!(built_by("kernel/drivers/net/sub/qux.ko"), Built::Module, "either option as m");
        assert_eq!(built_by("kernel/drivers/net/sub/always.ko"), Built::Module);
        assert_eq!(built_by("kernel/drivers/gone/x.ko"), Built::Unknown);
        let unset = parse("CONFIG_QUX_A=n\n");
        assert_eq!(
            built(&module_builders(t.path(), "kernel/drivers/net/sub/qux.ko").unwrap(), &unset),
            Built::NotBuilt(vec!["QUX_A".into(), "QUX_B".into()])
        );
    }
}
