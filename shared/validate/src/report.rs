//! What validation produces: a [`Report`] of [`Finding`]s, each tagged with the [`Rule`] it breaks.
//!
//! Rule ids are stable kebab-case strings meant for logs, CI output and allow lists; the Talos
//! rules reproduce Talos and `extensions-validator` (including their error texts), the strict ones
//! are this project's additions and only run with `Options::strict`.

use std::fmt;

/// A validation rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Rule {
    /// Exactly a `manifest.yaml` file and a `rootfs/` directory at the top.
    Layout,
    /// `manifest.yaml` is readable YAML of the manifest's shape.
    ManifestParse,
    /// `version: v1alpha1`.
    ManifestVersion,
    /// `metadata.name` equals the package name, when one is given.
    PkgName,
    /// `metadata.version` matches one of extensions-validator's five patterns.
    VersionFormat,
    /// `metadata.compatibility.talos.version` parses.
    ConstraintInvalid,
    /// The compatibility constraint is satisfied by the Talos version.
    ConstraintUnsatisfied,
    /// Every `/usr/local/etc/containers/*.yaml` is a valid Talos service spec.
    ServiceSpec,
    /// No FIFOs, devices or sockets.
    SpecialFile,
    /// Every non-directory is under an allowed path (Talos' bare string-prefix match).
    PathNotAllowed,
    /// Strict: no world-writable files or directories (Talos' own check is dead code).
    WorldWritable,
    /// Strict: the allowed path must match on a path-component boundary (`/usr/localx` fails).
    AllowlistBoundary,
    /// Strict: no hardlinks (Talos' untar turns them into empty files).
    Hardlink,
    /// Strict: relative symlink targets stay inside the rootfs.
    SymlinkEscape,
    /// Strict: a symlink's target, absolute or relative, resolves inside the allowed paths (an
    /// absolute one would otherwise open a host path on the node).
    SymlinkTarget,
    /// Strict: no setuid or setgid files.
    Setuid,
    /// Strict: a tar stream names each path once.
    DuplicateEntry,
    /// Strict: `manifest.yaml` and the service specs use only the keys of Talos' schema (Talos
    /// silently ignores others, so a misspelt key drops its setting).
    UnknownKey,
    /// Strict: every `.ko` under `/usr/lib/modules` carries an appended signature.
    ModuleUnsigned,
    /// Strict: a module's appended signature is well-formed (not truncated, `id_type` 2, a sane
    /// `sig_len`, CMS that decodes), and its contents could be read.
    ModuleSignature,
    /// Strict: a module's vermagic release is the expected kernel release (or, without one, the
    /// release directory it is in).
    ModuleVermagic,
    /// Strict: modules sit in `/usr/lib/modules/<release>/`, the only directory Talos copies, and
    /// no other release directory exists.
    ModuleDirectory,
    /// Strict: modules are signed with the kernel's module signing key, when it is known.
    ModuleSigner,
    /// Strict: modules are plain `.ko`, not `.ko.xz`/`.ko.zst`/`.ko.gz`.
    ModuleCompressed,
    /// Strict: a module's ELF machine is the image's arch, when it is known.
    ModuleArch,
    /// Strict: a module built with modversions has its `__versions` section (a MODVERSIONS kernel
    /// refuses one without).
    ModuleVersions,
    /// Strict: every CRC in a module's `__versions` equals the kernel's for that symbol, when the
    /// kernel's Module.symvers is known ("disagrees about version of symbol" at load otherwise).
    ModuleCrc,
    /// Strict: every containerd CRI configuration part in `/etc/cri/conf.d/` is a `*.part` file
    /// of TOML that sets containerd plugin keys, each runtime it declares with a `runtime_type`
    /// (and an absolute `options.BinaryName` when it names one); see [`crate::cri`].
    CriPart,
}

impl Rule {
    /// Every rule, Talos rules first.
    pub const ALL: &[Rule] = &[
        Rule::Layout,
        Rule::ManifestParse,
        Rule::ManifestVersion,
        Rule::PkgName,
        Rule::VersionFormat,
        Rule::ConstraintInvalid,
        Rule::ConstraintUnsatisfied,
        Rule::ServiceSpec,
        Rule::SpecialFile,
        Rule::PathNotAllowed,
        Rule::WorldWritable,
        Rule::AllowlistBoundary,
        Rule::Hardlink,
        Rule::SymlinkEscape,
        Rule::SymlinkTarget,
        Rule::Setuid,
        Rule::DuplicateEntry,
        Rule::UnknownKey,
        Rule::ModuleUnsigned,
        Rule::ModuleSignature,
        Rule::ModuleVermagic,
        Rule::ModuleDirectory,
        Rule::ModuleSigner,
        Rule::ModuleCompressed,
        Rule::ModuleArch,
        Rule::ModuleVersions,
        Rule::ModuleCrc,
        Rule::CriPart,
    ];

    /// The stable kebab-case id.
    pub fn id(self) -> &'static str {
        match self {
            Rule::Layout => "layout",
            Rule::ManifestParse => "manifest-parse",
            Rule::ManifestVersion => "manifest-version",
            Rule::PkgName => "pkg-name",
            Rule::VersionFormat => "version-format",
            Rule::ConstraintInvalid => "constraint-invalid",
            Rule::ConstraintUnsatisfied => "constraint-unsatisfied",
            Rule::ServiceSpec => "service-spec",
            Rule::SpecialFile => "special-file",
            Rule::PathNotAllowed => "path-not-allowed",
            Rule::WorldWritable => "world-writable",
            Rule::AllowlistBoundary => "allowlist-boundary",
            Rule::Hardlink => "hardlink",
            Rule::SymlinkEscape => "symlink-escape",
            Rule::SymlinkTarget => "symlink-target",
            Rule::Setuid => "setuid",
            Rule::DuplicateEntry => "duplicate-entry",
            Rule::UnknownKey => "unknown-key",
            Rule::ModuleUnsigned => "module-unsigned",
            Rule::ModuleSignature => "module-signature",
            Rule::ModuleVermagic => "module-vermagic",
            Rule::ModuleDirectory => "module-directory",
            Rule::ModuleSigner => "module-signer",
            Rule::ModuleCompressed => "module-compressed",
            Rule::ModuleArch => "module-arch",
            Rule::ModuleVersions => "module-versions",
            Rule::ModuleCrc => "module-crc",
            Rule::CriPart => "cri-part",
        }
    }

    /// Whether the rule runs only in strict mode.
    pub fn is_strict_only(self) -> bool {
        matches!(
            self,
            Rule::WorldWritable
                | Rule::AllowlistBoundary
                | Rule::Hardlink
                | Rule::SymlinkEscape
                | Rule::SymlinkTarget
                | Rule::Setuid
                | Rule::DuplicateEntry
                | Rule::UnknownKey
                | Rule::ModuleUnsigned
                | Rule::ModuleSignature
                | Rule::ModuleVermagic
                | Rule::ModuleDirectory
                | Rule::ModuleSigner
                | Rule::ModuleCompressed
                | Rule::ModuleArch
                | Rule::ModuleVersions
                | Rule::ModuleCrc
                | Rule::CriPart
        )
    }

    /// The rule with this id.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|r| r.id() == id)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One broken rule at one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `manifest.yaml`, a top-level name, or an absolute in-rootfs path such as `/usr/local/bin/x`.
    pub path: String,
    pub rule: Rule,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} [{}]", self.path, self.message, self.rule)
    }
}

/// Every finding of one validation run, in rule order, then tree order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    /// No findings.
    pub fn is_ok(&self) -> bool {
        self.findings.is_empty()
    }

    /// The findings of one rule.
    pub fn of(&self, rule: Rule) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.rule == rule)
    }
}

impl fmt::Display for Report {
    /// One finding per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            writeln!(f, "{finding}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_round_trip() {
        for &rule in Rule::ALL {
            assert_eq!(Rule::from_id(rule.id()), Some(rule));
            assert!(rule.id().bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
        }
        assert_eq!(Rule::ALL.iter().filter(|r| r.is_strict_only()).count(), 18);
    }

    #[test]
    fn display_lists_every_finding() {
        let report = Report {
            findings: vec![
                Finding { path: "manifest.yaml".into(), rule: Rule::PkgName, message: "a".into() },
                Finding { path: "/x".into(), rule: Rule::PathNotAllowed, message: "b".into() },
            ],
        };
        assert_eq!(report.to_string(), "manifest.yaml: a [pkg-name]\n/x: b [path-not-allowed]\n");
        assert!(!report.is_ok());
        assert_eq!(report.of(Rule::PkgName).count(), 1);
    }
}
