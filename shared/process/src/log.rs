//! Log files of commands: numbered per directory, a header saying what ran, and their tails.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// How many lines of a failed command's output its error shows.
pub const TAIL_LINES: usize = 40;

/// Creates `<dir>/NN-<name>.log` with `NN` one more than the highest number there, so the logs
/// of a directory read in the order the commands ran.
pub(crate) fn create_numbered(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let safe: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '-' }).collect();
    let mut next = 1 + fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.split_once('-').and_then(|(n, _)| n.parse::<u32>().ok())
        })
        .max()
        .unwrap_or(0);
    loop {
        let path = dir.join(format!("{next:02}-{safe}.log"));
        match OpenOptions::new().append(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => next += 1,
            Err(e) => return Err(e),
        }
    }
}

/// The last `n` lines of a file from byte `from` on (reads at most the last 256 KiB).
pub(crate) fn file_tail(path: &Path, from: u64, n: usize) -> io::Result<String> {
    const MAX: u64 = 256 * 1024;
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(MAX).max(from)))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(text_tail(&bytes, n))
}

/// The last `n` lines of `bytes` (lossy UTF-8), each ending in a newline.
pub(crate) fn text_tail(bytes: &[u8], n: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    let mut tail = String::new();
    for line in &lines[lines.len().saturating_sub(n)..] {
        tail.push_str(line);
        tail.push('\n');
    }
    tail
}

/// Quotes an argument for a POSIX shell when it needs it (for logs and error messages).
pub fn shell_quote(arg: &OsStr) -> String {
    let s = arg.to_string_lossy();
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c)) {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote(OsStr::new("--prefix=/usr/local")), "--prefix=/usr/local");
        assert_eq!(shell_quote(OsStr::new("CC=gcc -specs x")), "'CC=gcc -specs x'");
        assert_eq!(shell_quote(OsStr::new("it's")), r"'it'\''s'");
        assert_eq!(shell_quote(OsStr::new("")), "''");
    }

    #[test]
    fn logs_are_numbered_in_order() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let (a, _) = create_numbered(dir.path(), "configure")?;
        let (b, _) = create_numbered(dir.path(), "make all/x")?;
        assert_eq!(a.file_name(), Some(OsStr::new("01-configure.log")));
        assert_eq!(b.file_name(), Some(OsStr::new("02-make-all-x.log")));
        Ok(())
    }

    #[test]
    fn tail_keeps_last_lines_after_the_start() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("log");
        fs::write(&path, (1..=100).map(|i| format!("line {i}\n")).collect::<String>())?;
        assert_eq!(file_tail(&path, 0, 3)?, "line 98\nline 99\nline 100\n");
        // Only what was written from `from` on (an appended log's earlier commands are not shown).
        let len = fs::metadata(&path)?.len();
        assert_eq!(file_tail(&path, len - "line 100\n".len() as u64, 3)?, "line 100\n");
        Ok(())
    }
}
