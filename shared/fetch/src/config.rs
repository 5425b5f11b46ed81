//! What a fetch may use: the cache location, the mirrors, offline mode, timeouts and the retry
//! policy. [`FetchConfig`] is plain data; [`FetchConfig::from_env`] layers the `TALOS_EXT_*`
//! environment variables over a default cache path that the caller chooses.
//!
//! This module reads the environment only through the lookup function handed to
//! [`FetchConfig::from_vars`], so it can be tested without touching the process environment.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use talos_ext_model::Sha256;

use crate::error::FetchError;

/// Cache directory (absolute, or relative to the current directory). Overrides the default
/// cache path passed to [`FetchConfig::from_env`].
pub const ENV_CACHE: &str = "TALOS_EXT_CACHE";

/// Comma-separated list of mirrors tried in order before the upstream URL. Each is a directory,
/// a `file://` URL or an `http(s)://` URL prefix, laid out as `<mirror>/sha256/<hex>`; see
/// [`Mirror::parse`].
pub const ENV_MIRRORS: &str = "TALOS_EXT_MIRRORS";

/// `1` (or `true`, `yes`) forbids network access to upstream URLs: only the cache and the
/// mirrors are used. `0`, `false`, `no` or empty means online.
pub const ENV_OFFLINE: &str = "TALOS_EXT_OFFLINE";

/// The directory of the current source store, below the cache dir.
pub const SOURCES_BUCKET: &str = "sources-v1";

/// Every environment variable this crate reads, e.g. for `cargo:rerun-if-env-changed`.
pub const ENV_VARS: [&str; 3] = [ENV_CACHE, ENV_MIRRORS, ENV_OFFLINE];

/// Where and how sources are fetched.
///
/// There is deliberately no `Default`: the cache location is the caller's decision. Use
/// [`FetchConfig::new`] for the standard policy and adjust the public fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchConfig {
    /// The cache root. Sources live in `<cache_dir>/sources-v1/sha256/<hex>`, locks in
    /// `<cache_dir>/locks/`, in-progress downloads in `<cache_dir>/tmp/`.
    pub cache_dir: PathBuf,
    /// Tried in order after a cache miss and before the upstream URL.
    pub mirrors: Vec<Mirror>,
    /// Never contact upstream URLs; HTTP mirrors are still used.
    pub offline: bool,
    /// Retries of HTTP requests (upstream and HTTP mirrors).
    pub retry: RetryPolicy,
    /// Limit for establishing a TCP (and TLS) connection. Default 30 s.
    pub connect_timeout: Duration,
    /// Limit for a single read from the network, so a stalled transfer fails (and is retried)
    /// instead of hanging. It is not a limit on the whole download. Default 60 s.
    pub read_timeout: Duration,
}

/// How often and how patiently a network operation is retried: a download here, a registry
/// request in `talos-ext-registry` (the one retry policy of the workspace).
///
/// Attempt `n` (counting from 1) that fails with a retryable error (a connection failure, reset
/// or timeout, a broken body, or a status for which [`RetryPolicy::retries_status`] holds) is
/// followed by a pause of `initial_delay * 2^(n-1)`, capped at `max_delay`, then attempt `n + 1`,
/// up to `max_attempts`.
///
/// The default ([`RetryPolicy::default`]): 5 attempts, pausing 0.5 s, 1 s, 2 s and 4 s in between
/// (at most 8 s each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, including the first; at least 1 (0 counts as 1). Default 5.
    pub max_attempts: u32,
    /// The pause after the first failed attempt; it doubles after each further one. Default 500 ms.
    pub initial_delay: Duration,
    /// The longest single pause. Default 8 s.
    pub max_delay: Duration,
}

/// A place that may hold a copy of a source, addressed by its sha256: `<root>/sha256/<hex>`.
///
/// `<cache_dir>/sources-v1` of any cache (see [`FetchConfig::sources_dir`]) is a valid directory
/// mirror, and so is a directory filled by [`crate::mirror_into`]. Serving either directory over
/// HTTP makes it a valid HTTP mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mirror {
    /// A local directory (always absolute).
    Dir(PathBuf),
    /// An `http://` or `https://` URL prefix, without a trailing `/`.
    Http(String),
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy { max_attempts: 5, initial_delay: Duration::from_millis(500), max_delay: Duration::from_secs(8) }
    }
}

impl RetryPolicy {
    /// The pause after failed attempt `attempt` (counting from 1).
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        self.initial_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// Whether an HTTP response with this status is worth another attempt: a server error
    /// (5xx), `408 Request Timeout` or `429 Too Many Requests`. Every other status is final.
    pub fn retries_status(status: u16) -> bool {
        status >= 500 || status == 408 || status == 429
    }
}

impl FetchConfig {
    /// Online, no mirrors, [`RetryPolicy::default`], 30 s connect and 60 s read timeouts.
    pub fn new(cache_dir: PathBuf) -> FetchConfig {
        FetchConfig {
            cache_dir,
            mirrors: Vec::new(),
            offline: false,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
        }
    }

    /// [`FetchConfig::new`] with [`ENV_CACHE`], [`ENV_MIRRORS`] and [`ENV_OFFLINE`] applied.
    /// `default_cache` is used when [`ENV_CACHE`] is unset or empty.
    pub fn from_env(default_cache: PathBuf) -> Result<FetchConfig, FetchError> {
        Self::from_vars(default_cache, |name| std::env::var_os(name))
    }

    /// Like [`FetchConfig::from_env`], reading variables through `lookup` instead of the process
    /// environment.
    pub fn from_vars(
        default_cache: PathBuf,
        lookup: impl Fn(&str) -> Option<OsString>,
    ) -> Result<FetchConfig, FetchError> {
        let text = |var: &'static str| -> Result<Option<String>, FetchError> {
            match lookup(var) {
                None => Ok(None),
                Some(v) => match v.into_string() {
                    Ok(s) if s.trim().is_empty() => Ok(None),
                    Ok(s) => Ok(Some(s)),
                    Err(v) => Err(FetchError::InvalidEnv {
                        var,
                        value: v.to_string_lossy().into_owned(),
                        reason: "not valid UTF-8".into(),
                    }),
                },
            }
        };
        let cache_dir = match lookup(ENV_CACHE) {
            Some(dir) if !dir.is_empty() => absolute(Path::new(&dir)),
            _ => default_cache,
        };
        let mut cfg = FetchConfig::new(cache_dir);
        if let Some(list) = text(ENV_MIRRORS)? {
            cfg.mirrors = Mirror::parse_list(&list).map_err(|e| FetchError::InvalidEnv {
                var: ENV_MIRRORS,
                value: list.clone(),
                reason: e.to_string(),
            })?;
        }
        if let Some(flag) = text(ENV_OFFLINE)? {
            cfg.offline = match flag.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" => false,
                _ => {
                    return Err(FetchError::InvalidEnv {
                        var: ENV_OFFLINE,
                        value: flag,
                        reason: "expected `1` or `0`".into(),
                    });
                }
            };
        }
        Ok(cfg)
    }

    /// `<cache_dir>/sources-v1`: the content-addressed store, itself a valid [`Mirror::Dir`] root.
    pub fn sources_dir(&self) -> PathBuf {
        self.cache_dir.join(SOURCES_BUCKET)
    }

    /// Where the source with this sha256 is (or would be) cached:
    /// `<cache_dir>/sources-v1/sha256/<hex>`.
    pub fn cache_path(&self, sha256: &Sha256) -> PathBuf {
        self.sources_dir().join("sha256").join(sha256.as_str())
    }
}

/// A mirror string that is neither a directory, a `file://` URL nor an `http(s)://` URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{value}` is not a mirror: {reason}\nhint: a mirror is a directory, a `file://` URL or an `http(s)://` URL prefix"
)]
pub struct MirrorParseError {
    pub value: String,
    pub reason: String,
}

impl Mirror {
    /// Parses one mirror: `http://…` / `https://…` (an URL prefix), `file:///abs/dir`, or a
    /// directory path. Relative directories are made absolute against the current directory
    /// now, so a later change of directory does not move the mirror. `file://` URLs are not
    /// percent-decoded.
    pub fn parse(value: &str) -> Result<Mirror, MirrorParseError> {
        let err = |reason: &str| MirrorParseError { value: value.to_string(), reason: reason.to_string() };
        let v = value.trim();
        if v.is_empty() {
            return Err(err("empty"));
        }
        let lower = v.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let prefix = v.trim_end_matches('/');
            if prefix.split_once("://").is_none_or(|(_, rest)| rest.is_empty() || rest.starts_with('/')) {
                return Err(err("the URL has no host"));
            }
            return Ok(Mirror::Http(prefix.to_string()));
        }
        if let Some(path) = v.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(err("a `file://` URL needs an absolute path (`file:///dir`)"));
            }
            return Ok(Mirror::Dir(PathBuf::from(path)));
        }
        if v.contains("://") {
            return Err(err("unsupported URL scheme"));
        }
        Ok(Mirror::Dir(absolute(Path::new(v))))
    }

    /// Parses a comma-separated list, ignoring empty items.
    pub fn parse_list(list: &str) -> Result<Vec<Mirror>, MirrorParseError> {
        list.split(',').filter(|s| !s.trim().is_empty()).map(Mirror::parse).collect()
    }

    /// Where this mirror keeps the file with this sha256 (a path or an URL).
    pub fn location(&self, sha256: &Sha256) -> String {
        match self {
            Mirror::Dir(dir) => dir.join("sha256").join(sha256.as_str()).display().to_string(),
            Mirror::Http(prefix) => format!("{prefix}/sha256/{sha256}"),
        }
    }
}

impl fmt::Display for Mirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mirror::Dir(dir) => write!(f, "{}", dir.display()),
            Mirror::Http(url) => f.write_str(url),
        }
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mirrors() {
        assert_eq!(Mirror::parse("https://m.example/x/").unwrap(), Mirror::Http("https://m.example/x".into()));
        assert_eq!(Mirror::parse("file:///srv/mirror").unwrap(), Mirror::Dir("/srv/mirror".into()));
        assert_eq!(Mirror::parse("/srv/m").unwrap(), Mirror::Dir("/srv/m".into()));
        assert!(matches!(Mirror::parse("rel/dir").unwrap(), Mirror::Dir(p) if p.is_absolute()));
        assert!(Mirror::parse("ftp://x/y").is_err());
        assert!(Mirror::parse("file://rel").is_err());
        assert!(Mirror::parse("https://").is_err());
        let list = Mirror::parse_list(" /a , ,http://b:8080/c").unwrap();
        assert_eq!(list, vec![Mirror::Dir("/a".into()), Mirror::Http("http://b:8080/c".into())]);
    }

    #[test]
    fn mirror_locations() {
        let sha = Sha256::parse(&"ab".repeat(32)).unwrap();
        let hex = sha.as_str();
        assert_eq!(Mirror::Http("http://m".into()).location(&sha), format!("http://m/sha256/{hex}"));
        assert_eq!(Mirror::Dir("/m".into()).location(&sha), format!("/m/sha256/{hex}"));
    }

    #[test]
    fn reads_env_vars() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| OsString::from(v))
        };
        let cfg = FetchConfig::from_vars("/default".into(), vars(&[])).unwrap();
        assert_eq!(cfg, FetchConfig::new("/default".into()));
        let cfg = FetchConfig::from_vars(
            "/default".into(),
            vars(&[(ENV_CACHE, "/c"), (ENV_MIRRORS, "/m1,https://m2/"), (ENV_OFFLINE, "1")]),
        )
        .unwrap();
        assert_eq!(cfg.cache_dir, PathBuf::from("/c"));
        assert_eq!(cfg.mirrors, vec![Mirror::Dir("/m1".into()), Mirror::Http("https://m2".into())]);
        assert!(cfg.offline);
        assert!(!FetchConfig::from_vars("/d".into(), vars(&[(ENV_OFFLINE, "0")])).unwrap().offline);
        let e = FetchConfig::from_vars("/d".into(), vars(&[(ENV_OFFLINE, "maybe")])).unwrap_err();
        assert!(e.to_string().contains(ENV_OFFLINE), "{e}");
        let e = FetchConfig::from_vars("/d".into(), vars(&[(ENV_MIRRORS, "ftp://x")])).unwrap_err();
        assert!(e.to_string().contains("ftp://x"), "{e}");
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy {
            max_attempts: 9,
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(35),
        };
        let delays: Vec<_> = (1..=4).map(|n| p.delay(n).as_millis()).collect();
        assert_eq!(delays, [10, 20, 35, 35]);
    }

    #[test]
    fn default_policy_is_the_documented_one() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.max_attempts, 5);
        let delays: Vec<u128> = (1..=7).map(|n| policy.delay(n).as_millis()).collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 8000, 8000, 8000]);
        assert_eq!(policy.delay(0), Duration::from_millis(500));
        assert_eq!(policy.delay(100), Duration::from_secs(8));
        assert_eq!(FetchConfig::new("/c".into()).retry, policy);
    }

    #[test]
    fn retries_server_errors_timeouts_and_rate_limits_only() {
        for status in [500, 502, 503, 599, 408, 429] {
            assert!(RetryPolicy::retries_status(status), "{status}");
        }
        for status in [200, 301, 400, 401, 403, 404, 410, 499] {
            assert!(!RetryPolicy::retries_status(status), "{status}");
        }
    }
}
