//! Validation of archive entry names: the one place that decides whether a name stays inside the
//! destination.
//!
//! A name is accepted only if it is valid UTF-8 without NUL or control characters, is not
//! absolute, and has no `..` component; `.` and empty components (`a//b`, a trailing `/`) are
//! dropped. This is stricter than uv's depth counting (which allows `a/../b`): upstream source
//! archives never need `..`, so refusing it outright is simpler to reason about. This module does
//! no IO; whether a symlink on disk redirects a path is the business of `sink`.

use std::fmt;
use std::path::PathBuf;

/// Why an entry name (or a link target) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameProblem {
    /// The name is empty, or consists only of `.` and `/`.
    #[error("the name is empty")]
    Empty,
    /// The name contains a NUL byte.
    #[error("the name contains a NUL byte")]
    Nul,
    /// The name contains a control character (U+0001 to U+001F or U+007F).
    #[error("the name contains control character {byte:#04x}")]
    ControlCharacter {
        /// The offending byte.
        byte: u8,
    },
    /// The name is not valid UTF-8.
    #[error("the name is not valid UTF-8")]
    NotUtf8,
    /// The name starts with `/`.
    #[error("the path is absolute")]
    Absolute,
    /// The name has a `..` component.
    #[error("the path has a `..` component")]
    ParentDir,
}

/// A validated relative path: one or more components, none of them empty, `.` or `..`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnclosedPath {
    components: Vec<String>,
}

impl EnclosedPath {
    /// The path's components, first to last.
    pub fn components(&self) -> &[String] {
        &self.components
    }

    /// The first component (the top-level entry of an archive).
    pub fn first(&self) -> &str {
        // Invariant: `components` is never empty.
        self.components.first().map_or("", String::as_str)
    }

    /// The path without its first `n` components, or `None` if nothing would remain.
    pub fn strip(&self, n: usize) -> Option<EnclosedPath> {
        (self.components.len() > n).then(|| EnclosedPath { components: self.components[n..].to_vec() })
    }

    /// The path as a relative [`PathBuf`].
    pub fn to_path_buf(&self) -> PathBuf {
        self.components.iter().collect()
    }
}

impl fmt::Display for EnclosedPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.components.join("/"))
    }
}

/// Checks the characters of a raw name: non-empty, UTF-8, no NUL, no control characters.
pub(crate) fn check_characters(raw: &[u8]) -> Result<&str, NameProblem> {
    if raw.is_empty() {
        return Err(NameProblem::Empty);
    }
    if raw.contains(&0) {
        return Err(NameProblem::Nul);
    }
    if let Some(&byte) = raw.iter().find(|b| b.is_ascii_control()) {
        return Err(NameProblem::ControlCharacter { byte });
    }
    std::str::from_utf8(raw).map_err(|_| NameProblem::NotUtf8)
}

/// Validates a raw entry name, returning `Ok(None)` for a name that names the archive root
/// itself (such as `./`), which callers skip when it is a directory.
pub(crate) fn enclosed_or_root(raw: &[u8]) -> Result<Option<EnclosedPath>, NameProblem> {
    let name = check_characters(raw)?;
    if name.starts_with('/') {
        return Err(NameProblem::Absolute);
    }
    let mut components = Vec::new();
    for component in name.split('/') {
        match component {
            "" | "." => {}
            ".." => return Err(NameProblem::ParentDir),
            normal => components.push(normal.to_owned()),
        }
    }
    Ok((!components.is_empty()).then_some(EnclosedPath { components }))
}

/// Validates a raw archive entry name (see the module docs for the rules).
///
/// ```
/// use talos_ext_archive::{NameProblem, enclosed_name};
///
/// assert_eq!(enclosed_name(b"./pkg-1.0//src/main.c").unwrap().to_string(), "pkg-1.0/src/main.c");
/// assert_eq!(enclosed_name(b"pkg/../../etc/passwd"), Err(NameProblem::ParentDir));
/// assert_eq!(enclosed_name(b"/etc/passwd"), Err(NameProblem::Absolute));
/// ```
pub fn enclosed_name(raw: &[u8]) -> Result<EnclosedPath, NameProblem> {
    enclosed_or_root(raw)?.ok_or(NameProblem::Empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(raw: &[u8], expect: Result<&str, NameProblem>) {
        let actual = enclosed_name(raw).map(|p| p.to_string());
        assert_eq!(actual.as_deref().map_err(Clone::clone), expect, "name {:?}", String::from_utf8_lossy(raw));
    }

    #[test]
    fn hostile_and_benign_names() {
        use NameProblem::*;
        let table: &[(&[u8], Result<&str, NameProblem>)] = &[
            (b"pkg-1.0/README", Ok("pkg-1.0/README")),
            (b"pkg-1.0/", Ok("pkg-1.0")),
            (b"./pkg-1.0/./src//a.c", Ok("pkg-1.0/src/a.c")),
            (b"pkg/..hidden/...", Ok("pkg/..hidden/...")),
            (b"pkg/caf\xc3\xa9", Ok("pkg/caf\u{e9}")),
            (b"pkg/back\\slash", Ok("pkg/back\\slash")),
            (b"", Err(Empty)),
            (b".", Err(Empty)),
            (b"./", Err(Empty)),
            (b"//", Err(Absolute)),
            (b"/etc/passwd", Err(Absolute)),
            (b"..", Err(ParentDir)),
            (b"../x", Err(ParentDir)),
            (b"pkg/../x", Err(ParentDir)),
            (b"pkg/../../x", Err(ParentDir)),
            (b"pkg/..", Err(ParentDir)),
            (b"pkg\0/x", Err(Nul)),
            (b"pkg/\x1b[31mred", Err(ControlCharacter { byte: 0x1b })),
            (b"pkg/new\nline", Err(ControlCharacter { byte: b'\n' })),
            (b"pkg/tab\t", Err(ControlCharacter { byte: b'\t' })),
            (b"pkg/del\x7f", Err(ControlCharacter { byte: 0x7f })),
            (b"pkg/\xff\xfe", Err(NotUtf8)),
        ];
        for (raw, expect) in table {
            check(raw, expect.clone());
        }
    }

    #[test]
    fn strip_components() {
        let path = enclosed_name(b"pkg-1.0/src/a.c").unwrap();
        assert_eq!(path.first(), "pkg-1.0");
        assert_eq!(path.strip(0).map(|p| p.to_string()).as_deref(), Some("pkg-1.0/src/a.c"));
        assert_eq!(path.strip(1).map(|p| p.to_string()).as_deref(), Some("src/a.c"));
        assert_eq!(path.strip(2).map(|p| p.to_string()).as_deref(), Some("a.c"));
        assert_eq!(path.strip(3), None);
        assert_eq!(enclosed_or_root(b"./"), Ok(None));
    }
}
