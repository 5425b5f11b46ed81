//! Talos compatibility constraints (`metadata.compatibility.talos.version`), parsed and checked
//! with exactly Talos' semantics (`pkg/machinery/extensions/validate.go`):
//!
//! 1. Talos' `trim` deletes every `v` that directly precedes a digit, anywhere in the string
//!    (`">= v1.6.0"` becomes `">= 1.6.0"`).
//! 2. The result goes through blang/semver v4 `ParseRange`, reproduced here with its quirks:
//!    `splitAndTrim` splits on spaces except right after `>`, `<` or `=` and silently drops
//!    one-character terms; `||` separates OR alternatives and may not lead or trail; terms
//!    containing `.x` are wildcard-expanded (`1.2.x` becomes `>=1.2.0 <1.3.0`, `<=1.x` becomes
//!    `<2.0.0`, an unknown operator before a wildcard silently becomes `=`, and `!=1.x` becomes
//!    the unsatisfiable `<1.0.0 >=2.0.0`); `! 1.0.0` with a space loses its one-character `!`;
//!    every version must be a strict `X.Y.Z[-pre][+build]` without leading zeros.
//! 3. The Talos version is `ParseTolerant(tag)` ([`TalosVersion`]) reduced to its `X.Y.Z` core, so
//!    `>= v1.14.0` is satisfied by `v1.14.0-beta.1` while `< 1.14.0` is not.
//!
//! Comparison is semver precedence without build metadata: numeric pre-release identifiers sort
//! numerically and before alphanumeric ones, which sort bytewise; a version with a pre-release sorts
//! before the same version without.
//!
//! One deliberate deviation: blang accepts an empty alternative (`1.0.0 || || 2.0.0`) and then
//! panics when the range is evaluated; here it is a parse error.
//!
//! ```
//! use talos_ext_model::constraint::{Constraint, TalosVersion};
//! let c = Constraint::parse(">= v1.14.0").unwrap();
//! let beta = TalosVersion::parse("v1.14.0-beta.1").unwrap();
//! assert!(c.satisfied_by(&beta));
//! assert!(!Constraint::parse("< 1.14.0").unwrap().satisfied_by(&beta));
//! assert_eq!(
//!     Constraint::parse(">= v1.15.0").unwrap().check(&beta).unwrap_err().to_string(),
//!     "version constraint >= v1.15.0 can't be satisfied with Talos version 1.14.0-beta.1",
//! );
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A parsed version range, e.g. `>= v1.9.0` or `>=1.8.0 <1.10.0 || 2.x`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    text: String,
    /// OR of ANDs.
    alternatives: Vec<Vec<Comparator>>,
}

/// A constraint that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("error parsing Talos version constraint `{text}`: {message}")]
pub struct ConstraintError {
    /// The constraint as written.
    pub text: String,
    /// What is wrong with it (blang's message, lower-cased).
    pub message: String,
}

/// A Talos version tag that `ParseTolerant` rejects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse Talos version `{tag}`: {message}")]
pub struct TalosVersionError {
    pub tag: String,
    pub message: String,
}

/// A constraint that the Talos version does not satisfy; displays Talos' own error text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("version constraint {constraint} can't be satisfied with Talos version {talos}")]
pub struct Unsatisfied {
    /// The constraint as written in the manifest.
    pub constraint: String,
    /// The Talos version as parsed (without `v`, pre-release kept), as Talos prints it.
    pub talos: String,
}

/// A Talos version as Talos tests it: `ParseTolerant(tag)` (leading `v`, missing patch and
/// leading zeros tolerated). Comparisons use only its `X.Y.Z` core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TalosVersion {
    version: Version,
}

impl TalosVersion {
    /// Parses a tag such as `v1.14.0-beta.1` with blang's `ParseTolerant`.
    pub fn parse(tag: &str) -> Result<TalosVersion, TalosVersionError> {
        parse_tolerant(tag)
            .map(|version| TalosVersion { version })
            .map_err(|message| TalosVersionError { tag: tag.to_string(), message })
    }

    /// The `(major, minor, patch)` core that constraints are checked against.
    pub fn core(&self) -> (u64, u64, u64) {
        (self.version.major, self.version.minor, self.version.patch)
    }
}

impl fmt::Display for TalosVersion {
    /// The full version without `v`, as Go's `semver.Version.String()` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.version.fmt(f)
    }
}

impl Constraint {
    /// Parses a constraint with Talos' `trim` followed by blang's `ParseRange`.
    ///
    /// The empty string is an error here, as in blang; Talos itself skips the check when the
    /// manifest's constraint is exactly `""`, which is the caller's decision.
    pub fn parse(text: &str) -> Result<Constraint, ConstraintError> {
        parse_range(&talos_trim(text))
            .map(|alternatives| Constraint { text: text.to_string(), alternatives })
            .map_err(|message| ConstraintError { text: text.to_string(), message })
    }

    /// The constraint as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the Talos version's `X.Y.Z` core satisfies the range.
    pub fn satisfied_by(&self, talos: &TalosVersion) -> bool {
        let core = Version { pre: Vec::new(), build: Vec::new(), ..talos.version.clone() };
        self.alternatives.iter().any(|all| all.iter().all(|c| c.matches(&core)))
    }

    /// [`Constraint::satisfied_by`] for a tag such as `v1.14.0-beta.1`.
    pub fn satisfied_by_talos(&self, talos_version: &str) -> Result<bool, TalosVersionError> {
        Ok(self.satisfied_by(&TalosVersion::parse(talos_version)?))
    }

    /// Like [`Constraint::satisfied_by`], but an unsatisfied constraint is an error carrying
    /// Talos' message.
    pub fn check(&self, talos: &TalosVersion) -> Result<(), Unsatisfied> {
        if self.satisfied_by(talos) {
            Ok(())
        } else {
            Err(Unsatisfied { constraint: self.text.clone(), talos: talos.to_string() })
        }
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Constraint {
    type Err = ConstraintError;

    fn from_str(s: &str) -> Result<Constraint, ConstraintError> {
        Constraint::parse(s)
    }
}

// ---------------------------------------------------------------------------------------------
// Talos' trim.

/// Deletes every `v` directly followed by an ASCII digit, with the same index arithmetic as Talos
/// (after a deletion the byte that moved into place is not re-examined).
fn talos_trim(constraint: &str) -> String {
    let mut bytes = constraint.as_bytes().to_vec();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'v' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            bytes.remove(i);
        }
        i += 1;
    }
    // Only ASCII bytes were removed, so the text is still UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

// ---------------------------------------------------------------------------------------------
// blang/semver v4 range.go.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Comparator {
    op: Op,
    version: Version,
}

impl Comparator {
    fn matches(&self, v: &Version) -> bool {
        let ord = v.compare(&self.version);
        match self.op {
            Op::Eq => ord == Ordering::Equal,
            Op::Ne => ord != Ordering::Equal,
            Op::Gt => ord == Ordering::Greater,
            Op::Ge => ord != Ordering::Less,
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
        }
    }
}

fn parse_range(s: &str) -> Result<Vec<Vec<Comparator>>, String> {
    let parts = split_and_trim(s);
    let or_parts = split_or_parts(&parts)?;
    let expanded = expand_wildcard_version(or_parts)?;
    let mut alternatives = Vec::with_capacity(expanded.len());
    for and_parts in expanded {
        if and_parts.is_empty() {
            // blang builds a nil function here and panics when the range is evaluated.
            return Err("empty range between '||' operators".to_string());
        }
        let mut all = Vec::with_capacity(and_parts.len());
        for ap in &and_parts {
            let (op, v) = split_comparator_version(ap)?;
            all.push(build_version_range(op, v).map_err(|e| format!("could not parse range {}: {e}", go_quote(ap)))?);
        }
        alternatives.push(all);
    }
    Ok(alternatives)
}

/// `splitAndTrim`: split on spaces not preceded (ignoring spaces) by `>`, `<` or `=`; terms of one
/// character are dropped (blang's `last < i-1` test); spaces inside a term are removed.
fn split_and_trim(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut result = Vec::new();
    let mut last: usize = 0;
    let mut last_char: u8 = 0;
    for i in 0..b.len() {
        if b[i] == b' ' && !matches!(last_char, b'>' | b'<' | b'=') {
            if last + 1 < i {
                result.push(s[last..i].to_string());
            }
            last = i + 1;
        } else if b[i] != b' ' {
            last_char = b[i];
        }
    }
    if last + 1 < b.len() {
        result.push(s[last..].to_string());
    }
    result.into_iter().map(|p| p.replace(' ', "")).collect()
}

fn split_or_parts(parts: &[String]) -> Result<Vec<Vec<String>>, String> {
    let mut or_parts = Vec::new();
    let mut last = 0;
    for (i, p) in parts.iter().enumerate() {
        if p == "||" {
            if i == 0 {
                return Err("first element in range is '||'".to_string());
            }
            or_parts.push(parts[last..i].to_vec());
            last = i + 1;
        }
    }
    if last == parts.len() {
        return Err("last element in range is '||'".to_string());
    }
    or_parts.push(parts[last..].to_vec());
    Ok(or_parts)
}

/// `splitComparatorVersion`: the operator is everything before the first digit.
fn split_comparator_version(s: &str) -> Result<(&str, &str), String> {
    match s.find(|c: char| c.is_ascii_digit()) {
        Some(i) => Ok((s[..i].trim(), &s[i..])),
        None => Err(format!("could not get version from string: {}", go_quote(s))),
    }
}

fn build_version_range(op_str: &str, v: &str) -> Result<Comparator, String> {
    let whole = go_quote(&format!("{op_str}{v}"));
    let op = match op_str {
        "" | "=" | "==" => Op::Eq,
        ">" => Op::Gt,
        ">=" => Op::Ge,
        "<" => Op::Lt,
        "<=" => Op::Le,
        "!" | "!=" => Op::Ne,
        _ => return Err(format!("could not parse comparator {} in {whole}", go_quote(op_str))),
    };
    let version = parse_strict(v).map_err(|e| format!("could not parse version {} in {whole}: {e}", go_quote(v)))?;
    Ok(Comparator { op, version })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wildcard {
    None,
    Major,
    Minor,
    Patch,
}

fn wildcard_type(v: &str) -> Wildcard {
    let parts: Vec<&str> = v.split('.').collect();
    if parts.last() != Some(&"x") {
        return Wildcard::None;
    }
    match parts.len() {
        1 => Wildcard::Major,
        2 => Wildcard::Minor,
        3 => Wildcard::Patch,
        _ => Wildcard::None,
    }
}

/// `createVersionFromWildcard`: `1.x.x` → `1.0.0`, `1.x` → `1.0.0`, `1.2.x` → `1.2.0`.
fn version_from_wildcard(v: &str) -> String {
    let v = v.replacen(".x.x", ".x", 1).replacen(".x", ".0", 1);
    if v.split('.').count() == 2 { format!("{v}.0") } else { v }
}

/// `incrementMajorVersion` / `incrementMinorVersion`, with Go's `strconv.Atoi` (sign allowed) and
/// wrapping `int` arithmetic. An error yields the empty string, as blang ignores it.
fn increment_part(v: &str, index: usize) -> String {
    let mut parts: Vec<String> = v.split('.').map(str::to_string).collect();
    let Some(part) = parts.get_mut(index) else {
        return String::new();
    };
    match part.parse::<i64>() {
        Ok(n) => *part = n.wrapping_add(1).to_string(),
        Err(_) => return String::new(),
    }
    parts.join(".")
}

fn expand_wildcard_version(parts: Vec<Vec<String>>) -> Result<Vec<Vec<String>>, String> {
    let mut expanded = Vec::with_capacity(parts.len());
    for p in parts {
        let mut new_parts = Vec::with_capacity(p.len());
        for ap in p {
            let (op, v) = split_comparator_version(&ap)?;
            if !ap.contains(".x") {
                new_parts.push(ap);
                continue;
            }
            let wildcard = wildcard_type(v);
            let flat = version_from_wildcard(v);
            let (result_op, increment) = match op {
                ">" => (">=", true),
                ">=" => (">=", false),
                "<" => ("<", false),
                "<=" => ("<", true),
                "" | "=" | "==" => {
                    new_parts.push(format!(">={flat}"));
                    ("<", true)
                }
                "!=" | "!" => {
                    new_parts.push(format!("<{flat}"));
                    (">=", true)
                }
                // blang's switch has no default: the operator is dropped.
                _ => ("", false),
            };
            let result_version = if increment {
                match wildcard {
                    Wildcard::Patch => increment_part(&flat, 1),
                    Wildcard::Minor => increment_part(&flat, 0),
                    Wildcard::None | Wildcard::Major => String::new(),
                }
            } else {
                flat
            };
            new_parts.push(format!("{result_op}{result_version}"));
        }
        expanded.push(new_parts);
    }
    Ok(expanded)
}

// ---------------------------------------------------------------------------------------------
// blang/semver v4 semver.go.

#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<Prerelease>,
    build: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Prerelease {
    Num(u64),
    Alpha(String),
}

impl Prerelease {
    fn compare(&self, other: &Prerelease) -> Ordering {
        match (self, other) {
            (Prerelease::Num(a), Prerelease::Num(b)) => a.cmp(b),
            (Prerelease::Num(_), Prerelease::Alpha(_)) => Ordering::Less,
            (Prerelease::Alpha(_), Prerelease::Num(_)) => Ordering::Greater,
            (Prerelease::Alpha(a), Prerelease::Alpha(b)) => a.as_bytes().cmp(b.as_bytes()),
        }
    }
}

impl Version {
    /// Semver precedence; build metadata is ignored.
    fn compare(&self, o: &Version) -> Ordering {
        let core = (self.major, self.minor, self.patch).cmp(&(o.major, o.minor, o.patch));
        if core != Ordering::Equal {
            return core;
        }
        match (self.pre.is_empty(), o.pre.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            (false, false) => {}
        }
        for (a, b) in self.pre.iter().zip(&o.pre) {
            let ord = a.compare(b);
            if ord != Ordering::Equal {
                return ord;
            }
        }
        self.pre.len().cmp(&o.pre.len())
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        for (i, p) in self.pre.iter().enumerate() {
            f.write_str(if i == 0 { "-" } else { "." })?;
            match p {
                Prerelease::Num(n) => write!(f, "{n}")?,
                Prerelease::Alpha(s) => f.write_str(s)?,
            }
        }
        if !self.build.is_empty() {
            write!(f, "+{}", self.build.join("."))?;
        }
        Ok(())
    }
}

fn is_numbers(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

fn is_alphanum(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn has_leading_zeroes(s: &str) -> bool {
    s.len() > 1 && s.starts_with('0')
}

/// Go's `strconv.ParseUint(s, 10, 64)` on a string already known to hold only digits.
fn parse_uint(s: &str) -> Result<u64, String> {
    if s.is_empty() {
        return Err(format!("strconv.ParseUint: parsing {}: invalid syntax", go_quote(s)));
    }
    s.parse::<u64>().map_err(|_| format!("strconv.ParseUint: parsing {}: value out of range", go_quote(s)))
}

fn parse_number(s: &str, what: &str) -> Result<u64, String> {
    if !is_numbers(s) {
        return Err(format!("invalid character(s) found in {what} number {}", go_quote(s)));
    }
    if has_leading_zeroes(s) {
        return Err(format!("{what} number must not contain leading zeroes {}", go_quote(s)));
    }
    parse_uint(s)
}

/// blang's strict `Parse`: `X.Y.Z[-pre][+build]`.
fn parse_strict(s: &str) -> Result<Version, String> {
    if s.is_empty() {
        return Err("version string empty".to_string());
    }
    let parts: Vec<&str> = s.splitn(3, '.').collect();
    let [major, minor, rest] = parts[..] else {
        return Err("no Major.Minor.Patch elements found".to_string());
    };
    let major = parse_number(major, "major")?;
    let minor = parse_number(minor, "minor")?;

    let mut patch = rest;
    let mut build: Vec<&str> = Vec::new();
    let mut pre: Vec<&str> = Vec::new();
    if let Some((p, b)) = patch.split_once('+') {
        build = b.split('.').collect();
        patch = p;
    }
    if let Some((p, r)) = patch.split_once('-') {
        pre = r.split('.').collect();
        patch = p;
    }
    let patch = parse_number(patch, "patch")?;

    let mut version = Version { major, minor, patch, pre: Vec::new(), build: Vec::new() };
    for p in pre {
        if p.is_empty() {
            return Err("prerelease is empty".to_string());
        }
        if is_numbers(p) {
            if has_leading_zeroes(p) {
                return Err(format!("numeric PreRelease version must not contain leading zeroes {}", go_quote(p)));
            }
            version.pre.push(Prerelease::Num(parse_uint(p)?));
        } else if is_alphanum(p) {
            version.pre.push(Prerelease::Alpha(p.to_string()));
        } else {
            return Err(format!("invalid character(s) found in prerelease {}", go_quote(p)));
        }
    }
    for b in build {
        if b.is_empty() {
            return Err("build meta data is empty".to_string());
        }
        if !is_alphanum(b) {
            return Err(format!("invalid character(s) found in build meta data {}", go_quote(b)));
        }
        version.build.push(b.to_string());
    }
    Ok(version)
}

/// blang's `ParseTolerant`: trims spaces and one leading `v`, strips leading zeros of each of the
/// first three dot-separated parts, and pads `X` or `X.Y` with `.0`.
fn parse_tolerant(s: &str) -> Result<Version, String> {
    let s = s.trim();
    let s = s.strip_prefix('v').unwrap_or(s);
    let mut parts: Vec<String> = s.splitn(3, '.').map(str::to_string).collect();
    for p in &mut parts {
        if p.len() > 1 {
            let trimmed = p.trim_start_matches('0');
            *p = if trimmed.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                trimmed.to_string()
            } else {
                format!("0{trimmed}")
            };
        }
    }
    if parts.len() < 3 {
        if parts.last().is_some_and(|p| p.contains(['+', '-'])) {
            return Err("short version cannot contain PreRelease/Build meta data".to_string());
        }
        parts.resize(3, "0".to_string());
    }
    parse_strict(&parts.join("."))
}

/// Go's `%q` for the strings quoted in Talos' and blang's messages (also used by the validator,
/// so its findings read like Talos' own).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BETA: &str = "v1.14.0-beta.1";

    /// (constraint, Talos tag, satisfied)
    const CASES: &[(&str, &str, bool)] = &[
        // Lower bounds, with and without `v`, with and without a space.
        (">= v1.14.0", BETA, true),
        (">= 1.14.0", BETA, true),
        (">=v1.14.0", BETA, true),
        (">=1.14.0", "v1.14.0", true),
        (">= v1.6.0", "v1.14.0", true),
        (">= v1.15.0", BETA, false),
        (">= v1.14.1", "v1.14.0", false),
        // Pre-releases of the Talos version are stripped.
        ("< 1.14.0", BETA, false),
        ("< 1.14.0", "v1.13.9", true),
        ("<= 1.14.0", BETA, true),
        ("= 1.14.0", BETA, true),
        ("1.14.0", BETA, true),
        ("== v1.14.0", BETA, true),
        ("!= 1.14.0", BETA, false),
        ("!1.14.0", "v1.13.0", true),
        // blang quirk: `!` followed by a space is a one-character term and is dropped.
        ("! 1.14.0", "v1.13.0", false),
        ("> 1.13.99", BETA, true),
        ("> 1.14.0", BETA, false),
        // Pre-releases in the constraint.
        (">=1.14.0-alpha.1", "v1.14.0", true),
        (">=1.14.0-alpha.1", BETA, true),
        ("<1.14.0-alpha.1", "v1.14.0", false),
        ("<=1.14.0-rc.0", BETA, false),
        ("> 1.14.0-beta.2", "v1.14.0", true),
        ("= 1.14.0+build.5", "v1.14.0", true),
        // AND and OR.
        (">=1.8.0 <1.10.0", "v1.9.3", true),
        (">=1.8.0 <1.10.0", "v1.10.0", false),
        ("<1.0.0 || >=1.14.0", BETA, true),
        ("<1.0.0 || >=1.15.0", BETA, false),
        (">1.0.0 <2.0.0 || >3.0.0 !4.2.1", "v4.2.1", false),
        (">1.0.0 <2.0.0 || >3.0.0 !4.2.1", "v3.1.1", true),
        ("> v1.0.0 < v2.0.0", "v1.5.0", true),
        // Wildcards.
        ("1.14.x", BETA, true),
        ("1.14.x", "v1.15.0", false),
        ("1.x", "v1.99.0", true),
        ("1.x", "v2.0.0", false),
        ("v1.x", "v1.2.3", true),
        (">=1.x", "v1.0.0", true),
        (">1.x", "v1.99.0", false),
        (">1.x", "v2.0.0", true),
        (">1.2.x", "v1.2.9", false),
        (">1.2.x", "v1.3.0", true),
        ("<=1.2.x", "v1.2.9", true),
        ("<=1.2.x", "v1.3.0", false),
        ("<1.2.x", "v1.1.9", true),
        ("<1.2.x", "v1.2.0", false),
        // blang quirk: `!=` before a wildcard expands to `<lo >=hi` ANDed, which nothing satisfies.
        ("!=1.x", "v1.5.0", false),
        ("!=1.x", "v2.5.0", false),
        ("!=1.x", "v0.5.0", false),
        ("!1.2.x", "v1.3.0", false),
        ("!1.2.x", "v1.2.5", false),
        // blang quirk: `1.x.x` is a patch wildcard of `1.0.0`.
        ("<=1.x.x", "v1.0.5", true),
        ("<=1.x.x", "v1.1.0", false),
        // blang quirk: an unknown operator before a wildcard becomes `=`.
        ("~1.x", "v1.0.0", true),
        ("~1.x", "v1.0.1", false),
        // Talos trim removes `v` before digits anywhere, not only at the start.
        (">=1.0.0-v1", "v1.0.0", true),
        // Whitespace between operator and version, and one-character terms, are tolerated.
        (">=   1.14.0", BETA, true),
        (">=1.14.0 |", BETA, true),
        ("  >=1.14.0  ", BETA, true),
        // Tolerant Talos versions.
        (">=1.14.0", "1.14", true),
        (">=1.14.0", " v01.014.00 ", true),
    ];

    #[test]
    fn satisfaction_table() {
        for &(constraint, tag, want) in CASES {
            let c = Constraint::parse(constraint).unwrap_or_else(|e| panic!("{constraint}: {e}"));
            let got = c.satisfied_by_talos(tag).unwrap_or_else(|e| panic!("{tag}: {e}"));
            assert_eq!(got, want, "`{constraint}` against {tag}");
        }
    }

    #[test]
    fn bad_constraints() {
        let cases: &[(&str, &str)] = &[
            ("", "last element in range is '||'"),
            (" ", "last element in range is '||'"),
            ("|| >=1.0.0", "first element in range is '||'"),
            (">=1.0.0 ||", "last element in range is '||'"),
            (">=1.0.0 || || <3.0.0", "empty range between '||' operators"),
            (">= 1.6", "no Major.Minor.Patch elements found"),
            (">= v1.6", "no Major.Minor.Patch elements found"),
            ("1.6", "no Major.Minor.Patch elements found"),
            ("~1.2.3", "could not parse comparator \"~\""),
            ("^1.2.3", "could not parse comparator \"^\""),
            ("=> 1.2.3", "could not parse comparator \"=>\""),
            (">= 01.2.3", "major number must not contain leading zeroes \"01\""),
            (">= 1.02.3", "minor number must not contain leading zeroes \"02\""),
            (">= 1.2.03", "patch number must not contain leading zeroes \"03\""),
            (">= 1.2.3-01", "numeric PreRelease version must not contain leading zeroes \"01\""),
            (">= 1.2.3-", "prerelease is empty"),
            (">= 1.2.3-a..b", "prerelease is empty"),
            (">= 1.2.3+", "build meta data is empty"),
            (">= 1.2.3+a_b", "invalid character(s) found in build meta data \"a_b\""),
            (">= 1.2.3-a_b", "invalid character(s) found in prerelease \"a_b\""),
            (">= 1.2.3.4", "invalid character(s) found in patch number \"3.4\""),
            (">= latest", "could not get version from string: \">=latest\""),
            ("latest", "could not get version from string: \"latest\""),
            (">= V1.2.3", "could not parse comparator \">=V\""),
            (">= 1.2.3 x.y", "could not get version from string: \"x.y\""),
            ("x", "last element in range is '||'"),
            ("1.2.3-beta.x", "could not get version from string: \"<\""),
            (">= 99999999999999999999.0.0", "value out of range"),
        ];
        for &(text, want) in cases {
            match Constraint::parse(text) {
                Ok(c) => panic!("`{text}` parsed as {c:?}"),
                Err(e) => {
                    assert_eq!(e.text, text);
                    assert!(e.message.contains(want), "`{text}`: got `{}`, want `{want}`", e.message);
                }
            }
        }
    }

    #[test]
    fn trim_matches_talos() {
        assert_eq!(talos_trim(">= v1.6.0"), ">= 1.6.0");
        assert_eq!(talos_trim("v1.0.0 || v2.0.0"), "1.0.0 || 2.0.0");
        assert_eq!(talos_trim("vv1"), "v1");
        assert_eq!(talos_trim("v"), "v");
        assert_eq!(talos_trim("vx"), "vx");
        assert_eq!(talos_trim("1.0.0-dev1"), "1.0.0-de1");
    }

    #[test]
    fn split_and_trim_matches_blang() {
        assert_eq!(split_and_trim(">= 1.0.0 <2.0.0"), [">=1.0.0", "<2.0.0"]);
        assert_eq!(split_and_trim("> 1.0.0 || < 3.0.0"), [">1.0.0", "||", "<3.0.0"]);
        assert_eq!(split_and_trim("1.0.0 a"), ["1.0.0"]);
        assert_eq!(split_and_trim("a 1.0.0"), ["1.0.0"]);
        assert!(split_and_trim("").is_empty());
    }

    #[test]
    fn wildcard_expansion_matches_blang() {
        let expand = |s: &str| expand_wildcard_version(vec![split_and_trim(s)]).unwrap().remove(0);
        assert_eq!(expand(">= 1.2.x"), [">=1.2.0"]);
        assert_eq!(expand("<= 1.2.x"), ["<1.3.0"]);
        assert_eq!(expand("> 1.2.x"), [">=1.3.0"]);
        assert_eq!(expand("< 1.2.x"), ["<1.2.0"]);
        assert_eq!(expand("!= 1.2.x"), ["<1.2.0", ">=1.3.0"]);
        assert_eq!(expand(">= 1.x"), [">=1.0.0"]);
        assert_eq!(expand("<= 1.x"), ["<2.0.0"]);
        assert_eq!(expand("> 1.x"), [">=2.0.0"]);
        assert_eq!(expand("!= 1.x"), ["<1.0.0", ">=2.0.0"]);
        assert_eq!(expand("1.2.x"), [">=1.2.0", "<1.3.0"]);
        assert_eq!(expand("1.x"), [">=1.0.0", "<2.0.0"]);
        assert_eq!(expand("1.x.x"), [">=1.0.0", "<1.1.0"]);
    }

    #[test]
    fn precedence() {
        let v = |s: &str| parse_strict(s).unwrap();
        let ordered = [
            "1.0.0-0",
            "1.0.0-1",
            "1.0.0-2",
            "1.0.0-10",
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "2.0.0",
        ];
        for pair in ordered.windows(2) {
            assert_eq!(v(pair[0]).compare(&v(pair[1])), Ordering::Less, "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(v("1.0.0+a").compare(&v("1.0.0+b")), Ordering::Equal);
    }

    #[test]
    fn talos_versions() {
        let show = |s: &str| TalosVersion::parse(s).map(|v| v.to_string());
        assert_eq!(show("v1.14.0-beta.1").unwrap(), "1.14.0-beta.1");
        assert_eq!(show("v1.14").unwrap(), "1.14.0");
        assert_eq!(show("1").unwrap(), "1.0.0");
        assert_eq!(show("v1.014.00").unwrap(), "1.14.0");
        assert_eq!(show(" v1.2.3+meta ").unwrap(), "1.2.3+meta");
        assert_eq!(TalosVersion::parse("v1.14.0-beta.1").unwrap().core(), (1, 14, 0));
        assert!(show("v1.14-beta.1").is_err());
        assert!(show("latest").is_err());
        assert!(show("").is_err());
        assert!(show("vv1.2.3").is_err());
        let c = Constraint::parse(">= v1.0.0").unwrap();
        assert!(c.satisfied_by_talos("main").is_err());
    }

    #[test]
    fn unsatisfied_message_is_talos_text() {
        let c = Constraint::parse("< 1.14.0").unwrap();
        let talos = TalosVersion::parse(BETA).unwrap();
        assert_eq!(
            c.check(&talos).unwrap_err().to_string(),
            "version constraint < 1.14.0 can't be satisfied with Talos version 1.14.0-beta.1"
        );
        assert!(Constraint::parse(">= 1.0.0").unwrap().check(&talos).is_ok());
        assert_eq!(c.as_str(), "< 1.14.0");
        assert_eq!(">=1.0.0".parse::<Constraint>().unwrap().to_string(), ">=1.0.0");
    }
}
