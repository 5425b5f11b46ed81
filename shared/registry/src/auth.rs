//! Registry authentication: where credentials come from, how they are kept out of logs, and the
//! state of the challenge/response flow per registry.
//!
//! Credentials are looked up per registry host, in this order: credentials given explicitly,
//! then `TALOS_EXT_REGISTRY_USER`/`TALOS_EXT_REGISTRY_PASSWORD` (for every registry), then
//! `auths.<host>.auth` (base64 `user:password`, or `username` and `password`) in the Docker
//! config, `$DOCKER_CONFIG/config.json` or else `$HOME/.docker/config.json`. Docker credential
//! helpers (`credsStore`, `credHelpers`) and OAuth2 identity tokens are not supported.
//!
//! The flow itself is the distribution one: requests go out anonymously until a registry answers
//! 401; its `WWW-Authenticate` challenge then fixes the scheme for that registry. `Basic` sends
//! the credentials with every later request. `Bearer realm=..,service=..` fetches a token from the
//! realm (with the credentials as basic auth, if there are any) for the scopes the operation
//! needs, and caches it per scope set until it expires. The HTTP part lives in the client; this
//! module holds state and parsing only.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::RegistryError;

/// User name for every registry (with [`ENV_PASSWORD`]); overrides the Docker config.
pub const ENV_USER: &str = "TALOS_EXT_REGISTRY_USER";
/// Password or access token for every registry (with [`ENV_USER`]).
pub const ENV_PASSWORD: &str = "TALOS_EXT_REGISTRY_PASSWORD";
/// Directory holding the Docker `config.json` (default `$HOME/.docker`).
pub const ENV_DOCKER_CONFIG: &str = "DOCKER_CONFIG";
/// Every environment variable [`CredentialStore::from_env`] reads.
pub const ENV_VARS: [&str; 4] = [ENV_USER, ENV_PASSWORD, ENV_DOCKER_CONFIG, "HOME"];

/// A user name and password (or access token). `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    password: String,
}

impl Credentials {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials { username: username.into(), password: password.into() }
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    /// The secret. Handle with care: never log it.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The `Authorization` header value for basic auth.
    pub(crate) fn basic_header(&self) -> String {
        format!("Basic {}", STANDARD.encode(format!("{}:{}", self.username, self.password)))
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).field("password", &"<redacted>").finish()
    }
}

/// Where credentials come from, resolved once when the client is made.
#[derive(Debug, Clone, Default)]
pub struct CredentialStore {
    explicit: Option<Credentials>,
    env: Option<Credentials>,
    /// Host (normalised) → credentials, from the Docker config.
    docker: BTreeMap<String, Credentials>,
    docker_config: Option<PathBuf>,
}

impl CredentialStore {
    /// No credentials at all: every request is anonymous.
    pub fn anonymous() -> CredentialStore {
        CredentialStore::default()
    }

    /// The same credentials for every registry.
    pub fn with_credentials(credentials: Credentials) -> CredentialStore {
        CredentialStore { explicit: Some(credentials), ..CredentialStore::default() }
    }

    /// Reads [`ENV_USER`]/[`ENV_PASSWORD`] and the Docker config from the process environment.
    pub fn from_env() -> Result<CredentialStore, RegistryError> {
        CredentialStore::from_vars(|name| std::env::var(name).ok())
    }

    /// As [`CredentialStore::from_env`], with the environment given as a lookup function (tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<CredentialStore, RegistryError> {
        let nonempty = |name: &str| var(name).filter(|v| !v.is_empty());
        let env = match (nonempty(ENV_USER), nonempty(ENV_PASSWORD)) {
            (Some(user), Some(password)) => Some(Credentials::new(user, password)),
            (None, None) => None,
            (Some(_), None) | (None, Some(_)) => {
                return Err(RegistryError::InvalidEnv {
                    var: if nonempty(ENV_USER).is_some() { ENV_PASSWORD } else { ENV_USER },
                    reason: format!("`{ENV_USER}` and `{ENV_PASSWORD}` must be set together"),
                });
            }
        };
        let dir = nonempty(ENV_DOCKER_CONFIG)
            .map(PathBuf::from)
            .or_else(|| nonempty("HOME").map(|home| Path::new(&home).join(".docker")));
        let mut store = CredentialStore { env, ..CredentialStore::default() };
        if let Some(dir) = dir {
            let path = dir.join("config.json");
            match std::fs::read(&path) {
                Ok(bytes) => {
                    store.docker = parse_docker_config(&path, &bytes)?;
                    store.docker_config = Some(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(RegistryError::DockerConfig { path, message: e.to_string() }),
            }
        }
        Ok(store)
    }

    /// The credentials for `registry` (`host[:port]`), if any.
    pub fn lookup(&self, registry: &str) -> Option<&Credentials> {
        self.explicit.as_ref().or(self.env.as_ref()).or_else(|| self.docker.get(&normalise_host(registry)))
    }

    /// The Docker config file that was read, if one exists.
    pub fn docker_config(&self) -> Option<&Path> {
        self.docker_config.as_deref()
    }
}

/// `auths` keys may be `host`, `https://host`, `http://host/v1/`; Docker Hub has its own name.
fn normalise_host(key: &str) -> String {
    let key = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")).unwrap_or(key);
    let host = key.split('/').next().unwrap_or(key).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io".into(),
        _ => host,
    }
}

#[derive(serde::Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, DockerAuth>,
}

#[derive(serde::Deserialize)]
struct DockerAuth {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

fn parse_docker_config(path: &Path, bytes: &[u8]) -> Result<BTreeMap<String, Credentials>, RegistryError> {
    let bad = |message: String| RegistryError::DockerConfig { path: path.to_path_buf(), message };
    let config: DockerConfig = serde_json::from_slice(bytes).map_err(|e| bad(format!("invalid json: {e}")))?;
    let mut out = BTreeMap::new();
    for (key, entry) in config.auths {
        let credentials = match (entry.auth.filter(|a| !a.is_empty()), entry.username, entry.password) {
            (Some(auth), _, _) => {
                let decoded = STANDARD
                    .decode(auth.trim())
                    .ok()
                    .and_then(|d| String::from_utf8(d).ok())
                    .ok_or_else(|| bad(format!("`auths.\"{key}\".auth` is not base64 of `user:password`")))?;
                let (user, password) = decoded
                    .split_once(':')
                    .ok_or_else(|| bad(format!("`auths.\"{key}\".auth` is not base64 of `user:password`")))?;
                Credentials::new(user, password)
            }
            (None, Some(user), Some(password)) => Credentials::new(user, password),
            // An entry without a password (identity token, credential helper): not usable here.
            _ => continue,
        };
        out.insert(normalise_host(&key), credentials);
    }
    Ok(out)
}

/// One challenge of a `WWW-Authenticate` header: the scheme (lowercase) and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub scheme: String,
    pub params: BTreeMap<String, String>,
}

/// Parses `Bearer realm="https://x/token",service="x",scope="repository:a:pull,push"` (and
/// `Basic realm="x"`). Several challenges in one header are split at a scheme token.
pub(crate) fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut out: Vec<Challenge> = Vec::new();
    let mut rest = header.trim();
    while !rest.is_empty() {
        rest = rest.trim_start_matches([' ', ',']);
        // A token followed by `=` is a parameter of the current challenge; otherwise a new scheme.
        let end = rest.find([' ', '=', ',']).unwrap_or(rest.len());
        let token = &rest[..end];
        let after = rest[end..].trim_start_matches(' ');
        if let Some(value_part) = after.strip_prefix('=')
            && let Some(current) = out.last_mut()
        {
            let (value, remaining) = parse_value(value_part.trim_start());
            current.params.insert(token.to_ascii_lowercase(), value);
            rest = remaining;
        } else {
            if token.is_empty() {
                break;
            }
            out.push(Challenge { scheme: token.to_ascii_lowercase(), params: BTreeMap::new() });
            rest = after;
        }
    }
    out
}

/// A quoted string (with `\` escapes) or a token, and what follows it.
fn parse_value(s: &str) -> (String, &str) {
    if let Some(quoted) = s.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(escaped);
                    }
                }
                '"' => return (value, &quoted[i + 1..]),
                c => value.push(c),
            }
        }
        (value, "")
    } else {
        let end = s.find([',', ' ']).unwrap_or(s.len());
        (s[..end].to_string(), &s[end..])
    }
}

/// How a registry wants to be authenticated, learned from its first 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scheme {
    Basic,
    Bearer { realm: String, service: Option<String> },
}

impl Scheme {
    /// The first usable scheme among the challenges.
    pub(crate) fn from_challenges(challenges: &[Challenge]) -> Option<Scheme> {
        let bearer = challenges.iter().find(|c| c.scheme == "bearer").and_then(|c| {
            let realm = c.params.get("realm")?.clone();
            Some(Scheme::Bearer { realm, service: c.params.get("service").cloned() })
        });
        bearer.or_else(|| challenges.iter().any(|c| c.scheme == "basic").then_some(Scheme::Basic))
    }
}

/// Tokens are reused until shortly before they expire.
const TOKEN_MARGIN: Duration = Duration::from_secs(10);
/// The spec's default when the token server gives no `expires_in`.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

/// Learned schemes and cached tokens, shared by all threads using one client.
#[derive(Debug, Default)]
pub(crate) struct AuthState {
    schemes: Mutex<HashMap<String, Scheme>>,
    /// (registry, sorted scopes joined by ` `) → token and its expiry.
    tokens: Mutex<HashMap<(String, String), (String, Instant)>>,
}

impl AuthState {
    pub(crate) fn scheme(&self, registry: &str) -> Option<Scheme> {
        self.schemes.lock().ok().and_then(|s| s.get(registry).cloned())
    }

    pub(crate) fn set_scheme(&self, registry: &str, scheme: Scheme) {
        if let Ok(mut s) = self.schemes.lock() {
            s.insert(registry.into(), scheme);
        }
    }

    pub(crate) fn token(&self, registry: &str, scopes: &str) -> Option<String> {
        let tokens = self.tokens.lock().ok()?;
        let (token, expires) = tokens.get(&(registry.to_string(), scopes.to_string()))?;
        (Instant::now() < *expires).then(|| token.clone())
    }

    pub(crate) fn store_token(&self, registry: &str, scopes: &str, token: String, expires_in: Option<u64>) {
        let lifetime = expires_in.map(Duration::from_secs).unwrap_or(DEFAULT_TOKEN_LIFETIME);
        let expires = Instant::now() + lifetime.saturating_sub(TOKEN_MARGIN);
        if let Ok(mut t) = self.tokens.lock() {
            t.insert((registry.into(), scopes.into()), (token, expires));
        }
    }

    pub(crate) fn forget_token(&self, registry: &str, scopes: &str) {
        if let Ok(mut t) = self.tokens.lock() {
            t.remove(&(registry.to_string(), scopes.to_string()));
        }
    }
}

/// A token server's answer.
#[derive(serde::Deserialize)]
pub(crate) struct TokenResponse {
    pub token: Option<String>,
    pub access_token: Option<String>,
    pub expires_in: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_password() {
        let c = Credentials::new("alice", "s3cret");
        let shown = format!("{c:?} {:?}", CredentialStore::with_credentials(c.clone()));
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("alice") && shown.contains("<redacted>"), "{shown}");
        assert_eq!(c.basic_header(), "Basic YWxpY2U6czNjcmV0");
    }

    #[test]
    fn parses_challenges() {
        let c = parse_challenges(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(c[0].params["realm"], "https://auth.example/token");
        assert_eq!(c[0].params["service"], "registry.example");
        assert_eq!(c[0].params["scope"], "repository:a/b:pull,push");
        assert_eq!(
            Scheme::from_challenges(&c),
            Some(Scheme::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into())
            })
        );

        let c = parse_challenges(r#"Basic realm="my \"realm\"", Bearer realm=https://x/t"#);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].params["realm"], "my \"realm\"");
        assert_eq!(c[1].params["realm"], "https://x/t");
        assert_eq!(Scheme::from_challenges(&c[..1]), Some(Scheme::Basic));
        assert!(parse_challenges("").is_empty());
    }

    #[test]
    fn reads_docker_config_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let config = r#"{"auths": {
            "https://127.0.0.1:5000/v1/": {"auth": "YWxpY2U6czNjcmV0"},
            "ghcr.io": {"username": "bob", "password": "pw"},
            "quay.io": {"identitytoken": "x"},
            "https://index.docker.io/v1/": {"auth": "Y2Fyb2w6cHc="}
        }, "credsStore": "desktop"}"#;
        std::fs::write(dir.path().join("config.json"), config).unwrap();
        let home = dir.path().to_str().unwrap().to_string();

        let vars = |v: &[(&str, &str)]| {
            let map: BTreeMap<String, String> = v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            move |name: &str| map.get(name).cloned()
        };
        let store = CredentialStore::from_vars(vars(&[(ENV_DOCKER_CONFIG, &home)])).unwrap();
        assert_eq!(store.lookup("127.0.0.1:5000"), Some(&Credentials::new("alice", "s3cret")));
        assert_eq!(store.lookup("GHCR.io"), Some(&Credentials::new("bob", "pw")));
        assert_eq!(store.lookup("docker.io"), Some(&Credentials::new("carol", "pw")));
        assert_eq!(store.lookup("quay.io"), None);
        assert_eq!(store.docker_config(), Some(dir.path().join("config.json").as_path()));

        let store =
            CredentialStore::from_vars(vars(&[(ENV_DOCKER_CONFIG, &home), (ENV_USER, "env"), (ENV_PASSWORD, "pw2")]))
                .unwrap();
        assert_eq!(store.lookup("127.0.0.1:5000"), Some(&Credentials::new("env", "pw2")));

        // `$HOME/.docker` when DOCKER_CONFIG is unset; nothing there is not an error.
        let store = CredentialStore::from_vars(vars(&[("HOME", &home)])).unwrap();
        assert_eq!(store.lookup("ghcr.io"), None);

        let err = CredentialStore::from_vars(vars(&[(ENV_USER, "x")])).unwrap_err();
        assert!(err.to_string().contains(ENV_PASSWORD), "{err}");

        std::fs::write(dir.path().join("config.json"), r#"{"auths": {"x": {"auth": "!!"}}}"#).unwrap();
        let err = CredentialStore::from_vars(vars(&[(ENV_DOCKER_CONFIG, &home)])).unwrap_err();
        assert!(err.to_string().contains("is not base64"), "{err}");
    }
}
