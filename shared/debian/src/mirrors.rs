//! [`Mirrors`]: which Debian archive to use, the one the machine's apt is configured with (a
//! snapshot mirror stays a snapshot mirror), read from its sources files.

use std::path::{Path, PathBuf};

/// The Debian archive used when the machine names none.
pub const DEFAULT_DEBIAN: &str = "http://deb.debian.org/debian";
/// The Debian security archive used when the machine names none.
pub const DEFAULT_SECURITY: &str = "http://deb.debian.org/debian-security";

/// Debian's release names and aliases; a suite is Debian's when it is one of these or one of
/// these followed by `-<something>` (`bookworm-security`), so `nodistro` or
/// `cloud-sdk-bookworm` of other vendors' sources never match.
const DEBIAN_SUITES: [&str; 14] = [
    "buster",
    "bullseye",
    "bookworm",
    "trixie",
    "forky",
    "duke",
    "sid",
    "oldoldstable",
    "oldstable",
    "stable",
    "testing",
    "unstable",
    "experimental",
    "rc-buggy",
];

/// The archive roots: the main archive, and the security archive (suites `*-security`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mirrors {
    /// `http://deb.debian.org/debian`, without a trailing `/`.
    pub debian: String,
    /// `http://deb.debian.org/debian-security`, without a trailing `/`.
    pub security: String,
}

impl Default for Mirrors {
    fn default() -> Mirrors {
        Mirrors { debian: DEFAULT_DEBIAN.into(), security: DEFAULT_SECURITY.into() }
    }
}

impl Mirrors {
    /// The archives the machine's apt sources name (`/etc/apt/sources.list.d/*.sources` and
    /// `*.list`, then `/etc/apt/sources.list`): the first `http(s)` URI of a Debian suite, and of
    /// a Debian `-security` suite; what is not named falls back to the security archive beside
    /// the main one (`…/debian` → `…/debian-security`) or to `deb.debian.org`.
    pub fn from_system() -> Mirrors {
        Mirrors::from_sources_dir(Path::new("/etc/apt"))
    }

    /// [`Mirrors::from_system`] with the configuration directory `etc_apt`.
    pub fn from_sources_dir(etc_apt: &Path) -> Mirrors {
        let mut files: Vec<PathBuf> = std::fs::read_dir(etc_apt.join("sources.list.d"))
            .map(|dir| dir.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|x| x == "sources" || x == "list"));
        files.sort();
        files.push(etc_apt.join("sources.list"));
        let mut entries = Vec::new();
        for path in files {
            if let Ok(text) = std::fs::read_to_string(&path) {
                let deb822 = path.extension().is_some_and(|x| x == "sources");
                entries.extend(if deb822 { parse_deb822(&text) } else { parse_one_line(&text) });
            }
        }
        Mirrors::from_entries(&entries)
    }

    /// The mirrors named by `(uri, suites)` entries, in order.
    fn from_entries(entries: &[(String, Vec<String>)]) -> Mirrors {
        let usable = |uri: &str| uri.starts_with("http://") || uri.starts_with("https://");
        let find = |security: bool| {
            entries
                .iter()
                .filter(|(uri, _)| usable(uri))
                .find(|(_, suites)| suites.iter().any(|s| is_debian_suite(s) && s.ends_with("-security") == security))
                .map(|(uri, _)| uri.trim_end_matches('/').to_string())
        };
        let debian = find(false).unwrap_or_else(|| DEFAULT_DEBIAN.to_string());
        let security = find(true).unwrap_or_else(|| match debian.strip_suffix("/debian") {
            Some(root) => format!("{root}/debian-security"),
            None => DEFAULT_SECURITY.to_string(),
        });
        Mirrors { debian, security }
    }

    /// The archive root of `suite`.
    pub fn uri_for(&self, suite: &str) -> &str {
        if suite.ends_with("-security") { &self.security } else { &self.debian }
    }
}

fn is_debian_suite(suite: &str) -> bool {
    let suite = suite.trim_end_matches('/');
    DEBIAN_SUITES
        .iter()
        .any(|name| suite == *name || suite.strip_prefix(name).is_some_and(|rest| rest.starts_with('-')))
}

/// `(uri, suites)` of each enabled `deb`/`deb-src` stanza of a deb822 sources file.
fn parse_deb822(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let stanzas = text
        .split("\n\n")
        .map(|s| s.lines().filter(|l| !l.trim_start().starts_with('#')).collect::<Vec<_>>().join("\n"));
    for stanza in stanzas {
        let fields = crate::index::fields(&stanza);
        let get = |key| crate::index::field(&fields, key).unwrap_or_default();
        if get("Enabled").eq_ignore_ascii_case("no") || !get("Types").split_whitespace().any(|t| t.starts_with("deb")) {
            continue;
        }
        let suites: Vec<String> = get("Suites").split_whitespace().map(str::to_string).collect();
        for uri in get("URIs").split_whitespace() {
            out.push((uri.to_string(), suites.clone()));
        }
    }
    out
}

/// `(uri, [suite])` of each `deb`/`deb-src` line of a one-line sources file.
fn parse_one_line(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for line in text.lines().map(|l| l.split('#').next().unwrap_or_default().trim()) {
        let Some(rest) = line.strip_prefix("deb-src ").or_else(|| line.strip_prefix("deb ")) else { continue };
        // Options in brackets may hold spaces: `[arch=amd64 signed-by=/k.gpg]`.
        let rest = match rest.trim_start().strip_prefix('[') {
            Some(options) => options.split_once(']').map_or("", |(_, after)| after),
            None => rest,
        };
        let mut words = rest.split_whitespace();
        if let (Some(uri), Some(suite)) = (words.next(), words.next()) {
            out.push((uri.to_string(), vec![suite.to_string()]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_debian_and_security_uris_of_deb822_and_one_line_sources() {
        let dir = tempfile::tempdir().unwrap();
        let parts = dir.path().join("sources.list.d");
        std::fs::create_dir_all(&parts).unwrap();
        std::fs::write(
            parts.join("a-nodesource.sources"),
            "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\nComponents: main\n",
        )
        .unwrap();
        std::fs::write(
            parts.join("debian.sources"),
            "Types: deb\n# http://snapshot.debian.org/archive/debian/20250520T000000Z\nURIs: http://mirror.example/debian/\n\
             Suites: bookworm bookworm-updates\nComponents: main\n\n\
             Types: deb\nURIs: http://mirror.example/security/\nSuites: bookworm-security\nComponents: main\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("sources.list"),
            "deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n",
        )
        .unwrap();
        let m = Mirrors::from_sources_dir(dir.path());
        assert_eq!(
            m,
            Mirrors {
                debian: "http://mirror.example/debian".into(),
                security: "http://mirror.example/security".into()
            }
        );
        assert_eq!(m.uri_for("bookworm-security"), "http://mirror.example/security");
        assert_eq!(m.uri_for("sid"), "http://mirror.example/debian");
    }

    #[test]
    fn falls_back_to_the_security_archive_beside_the_main_one_or_to_deb_debian_org() {
        let lines = parse_one_line(
            "# comment\ndeb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://snapshot.example/archive/debian trixie main\n\
             deb cdrom:[Debian 13]/ trixie main\n",
        );
        assert_eq!(lines[0], ("http://snapshot.example/archive/debian".to_string(), vec!["trixie".to_string()]));
        // The cdrom entry is not an archive that can be downloaded from.
        let m = Mirrors::from_entries(&lines[1..]);
        assert_eq!(m, Mirrors::default());
        let m = Mirrors::from_entries(&lines);
        assert_eq!(m.debian, "http://snapshot.example/archive/debian");
        assert_eq!(m.security, "http://snapshot.example/archive/debian-security");
        let disabled = parse_deb822("Enabled: no\nTypes: deb\nURIs: http://x/debian\nSuites: sid\n");
        assert!(disabled.is_empty());
        assert_eq!(Mirrors::from_entries(&[]), Mirrors::default());
        let none = tempfile::tempdir().unwrap();
        assert_eq!(Mirrors::from_sources_dir(none.path()), Mirrors::default());
    }
}
