//! The [`Client`]: its configuration, the HTTP transport (one ureq agent), authentication of each
//! request, and the retry loop every operation runs in.
//!
//! One request goes out as: the `Authorization` the registry is known to want (none until its
//! first 401), then, on a 401 with a new challenge, once more with fresh credentials or a token.
//! An operation (a manifest GET, a whole blob upload of POST + PUT) runs in [`Client::retrying`]:
//! connection failures, resets, timeouts, broken bodies, 5xx, 408 and 429 start the operation
//! again from scratch after an exponential backoff; every other status fails at once. This module
//! does not know which operations exist; `push` and `pull` do.

use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::Duration;

use talos_ext_fetch::RetryPolicy;
use talos_ext_model::Repository;
use ureq::http::{Method, Request, Response};
use ureq::{Agent, Body, SendBody};

use crate::auth::{AuthState, Challenge, CredentialStore, Credentials, Scheme, TokenResponse, parse_challenges};
use crate::error::RegistryError;
use crate::reporter::Reporter;

/// Default [`ClientConfig::connect_timeout`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Default [`ClientConfig::read_timeout`]: no byte for this long fails the attempt.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Error bodies are read up to this size for their message.
const MAX_ERROR_BODY: u64 = 64 << 10;

/// What a [`Client`] needs to know. Build with [`ClientConfig::from_env`] or
/// `ClientConfig { credentials, ..Default::default() }`.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Where credentials come from. Default: anonymous.
    pub credentials: CredentialStore,
    /// Use plain HTTP for every registry. Default `false`: plain HTTP only for loopback hosts
    /// (`127.0.0.0/8`, `localhost`, `[::1]`), HTTPS for everything else.
    pub insecure: bool,
    /// Retries of each operation (a whole blob upload restarts from a new session). Default
    /// [`RetryPolicy::default`].
    pub retry: RetryPolicy,
    /// Default [`DEFAULT_CONNECT_TIMEOUT`].
    pub connect_timeout: Duration,
    /// Default [`DEFAULT_READ_TIMEOUT`].
    pub read_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig {
            credentials: CredentialStore::anonymous(),
            insecure: false,
            retry: RetryPolicy::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
        }
    }
}

impl ClientConfig {
    /// Defaults, with credentials from the environment and the Docker config
    /// ([`CredentialStore::from_env`]).
    pub fn from_env() -> Result<ClientConfig, RegistryError> {
        Ok(ClientConfig { credentials: CredentialStore::from_env()?, ..ClientConfig::default() })
    }
}

/// A synchronous OCI distribution client. `Send + Sync`: share one between threads; learned auth
/// schemes and tokens are shared too.
#[derive(Debug)]
pub struct Client {
    agent: Agent,
    config: ClientConfig,
    auth: AuthState,
    retries: AtomicU32,
}

/// What one operation is: for error messages and for the token scopes it needs.
#[derive(Debug, Clone)]
pub(crate) struct Op<'a> {
    pub repo: &'a Repository,
    /// e.g. `blob upload`, `manifest get`.
    pub name: &'static str,
    /// Token scopes, e.g. `repository:a/b:pull,push`.
    pub scopes: Vec<String>,
}

impl<'a> Op<'a> {
    pub(crate) fn pull(repo: &'a Repository, name: &'static str) -> Op<'a> {
        Op { repo, name, scopes: vec![format!("repository:{}:pull", repo.name)] }
    }

    pub(crate) fn push(repo: &'a Repository, name: &'static str) -> Op<'a> {
        Op { repo, name, scopes: vec![format!("repository:{}:pull,push", repo.name)] }
    }

    fn scope_key(&self) -> String {
        let mut scopes = self.scopes.clone();
        scopes.sort();
        scopes.join(" ")
    }
}

/// A request body that can be sent again (a retry or an auth round trip re-reads it).
pub(crate) enum ReqBody<'a> {
    Empty,
    Bytes(&'a [u8]),
    /// A file streamed from the start, `size` bytes, with progress to a reporter.
    File {
        path: &'a Path,
        size: u64,
        progress: Option<(&'a dyn Reporter, usize)>,
    },
}

/// Why an attempt failed, and whether to try again.
pub(crate) enum Failure {
    Retry(RegistryError),
    Fatal(RegistryError),
}

impl From<RegistryError> for Failure {
    fn from(e: RegistryError) -> Failure {
        Failure::Fatal(e)
    }
}

/// A response and whether credentials were sent with it.
pub(crate) struct Sent {
    pub response: Response<Body>,
    pub authenticated: bool,
}

impl Client {
    pub fn new(config: ClientConfig) -> Client {
        let user_agent = concat!("talos-ext-registry/", env!("CARGO_PKG_VERSION"));
        let agent_config = talos_ext_fetch::agent_config(user_agent, config.connect_timeout, config.read_timeout)
            // Credentials follow a redirect only to the same host (blob storage elsewhere gets none).
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
            .build();
        Client {
            agent: Agent::new_with_config(agent_config),
            config,
            auth: AuthState::default(),
            retries: AtomicU32::new(0),
        }
    }

    /// The configuration this client was made with.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// How many attempts were retried so far, over all operations of this client.
    pub fn retries(&self) -> u32 {
        self.retries.load(Ordering::Relaxed)
    }

    /// `http://host[:port]` or `https://host[:port]`: plain HTTP only for loopback or `insecure`.
    pub fn base_url(&self, registry: &str) -> String {
        let scheme = if self.config.insecure || is_loopback(registry) { "http" } else { "https" };
        format!("{scheme}://{registry}")
    }

    /// `<base>/v2/<repo>/<rest>`.
    pub(crate) fn repo_url(&self, repo: &Repository, rest: &str) -> String {
        format!("{}/v2/{}/{rest}", self.base_url(&repo.registry), repo.name)
    }

    /// Resolves a `Location` header (absolute, or relative to the registry) to a URL.
    pub(crate) fn resolve_location(&self, repo: &Repository, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else if location.starts_with('/') {
            format!("{}{location}", self.base_url(&repo.registry))
        } else {
            format!("{}/{location}", self.base_url(&repo.registry))
        }
    }

    /// Runs `attempt` until it succeeds, fails fatally, or the retry budget is spent. It gets the
    /// attempt number (from 1) to put into errors.
    pub(crate) fn retrying<T>(&self, mut attempt: impl FnMut(u32) -> Result<T, Failure>) -> Result<T, RegistryError> {
        let max_attempts = self.config.retry.max_attempts.max(1);
        let mut n = 1;
        loop {
            match attempt(n) {
                Ok(value) => return Ok(value),
                Err(Failure::Retry(_)) if n < max_attempts => {
                    thread::sleep(self.config.retry.delay(n));
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
                Err(Failure::Retry(e) | Failure::Fatal(e)) => return Err(e),
            }
        }
    }

    /// Sends one request with authentication, answering one 401 challenge. Statuses are returned,
    /// not turned into errors (except that a token server's refusal is an error).
    pub(crate) fn send(
        &self,
        op: &Op<'_>,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: &ReqBody<'_>,
        attempt: u32,
    ) -> Result<Sent, Failure> {
        let registry = op.repo.registry.as_str();
        let mut answered_challenge = false;
        loop {
            let authorization = self.authorization(op, attempt)?;
            let response = self.send_raw(op, method.clone(), url, headers, authorization.as_deref(), body, attempt)?;
            let authenticated = authorization.is_some();
            if response.status().as_u16() != 401 || answered_challenge {
                return Ok(Sent { response, authenticated });
            }
            let challenges: Vec<Challenge> = response
                .headers()
                .get_all("www-authenticate")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(parse_challenges)
                .collect();
            let Some(scheme) = Scheme::from_challenges(&challenges) else {
                return Ok(Sent { response, authenticated });
            };
            let known = self.auth.scheme(registry);
            match &scheme {
                // Basic credentials were sent and refused, or there are none to send.
                Scheme::Basic if known == Some(Scheme::Basic) || self.credentials(registry).is_none() => {
                    return Ok(Sent { response, authenticated });
                }
                Scheme::Basic => {}
                // A cached token may have expired or lack a scope: fetch a fresh one.
                Scheme::Bearer { .. } => self.auth.forget_token(registry, &op.scope_key()),
            }
            self.auth.set_scheme(registry, scheme);
            answered_challenge = true;
        }
    }

    fn credentials(&self, registry: &str) -> Option<&Credentials> {
        self.config.credentials.lookup(registry)
    }

    /// The `Authorization` header for `op`, if the registry is known to want one.
    fn authorization(&self, op: &Op<'_>, attempt: u32) -> Result<Option<String>, Failure> {
        let registry = op.repo.registry.as_str();
        match self.auth.scheme(registry) {
            None => Ok(None),
            Some(Scheme::Basic) => Ok(self.credentials(registry).map(Credentials::basic_header)),
            Some(Scheme::Bearer { realm, service }) => {
                let key = op.scope_key();
                let token = match self.auth.token(registry, &key) {
                    Some(token) => token,
                    None => {
                        let (token, expires_in) = self.fetch_token(op, &realm, service.as_deref(), attempt)?;
                        self.auth.store_token(registry, &key, token.clone(), expires_in);
                        token
                    }
                };
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    /// `GET <realm>?service=..&scope=..` with basic credentials if there are any.
    fn fetch_token(
        &self,
        op: &Op<'_>,
        realm: &str,
        service: Option<&str>,
        attempt: u32,
    ) -> Result<(String, Option<u64>), Failure> {
        let registry = op.repo.registry.as_str();
        let credentials = self.credentials(registry);
        let mut url = realm.to_string();
        let mut sep = if realm.contains('?') { '&' } else { '?' };
        let mut push_param = |key: &str, value: &str| {
            url.push(sep);
            url.push_str(key);
            url.push('=');
            url.push_str(&percent_encode(value));
            sep = '&';
        };
        if let Some(service) = service {
            push_param("service", service);
        }
        for scope in &op.scopes {
            push_param("scope", scope);
        }
        if let Some(c) = credentials {
            push_param("account", c.username());
        }
        let token_error = |message: String| RegistryError::Token {
            registry: registry.into(),
            realm: realm.into(),
            scope: op.scopes.join(" "),
            authenticated: credentials.is_some(),
            message,
        };
        let mut request = Request::builder().method(Method::GET).uri(&url);
        if let Some(c) = credentials {
            request = request.header("authorization", c.basic_header());
        }
        let request = request.body(()).map_err(|e| token_error(format!("invalid realm url: {e}")))?;
        let mut response = self.agent.run(request).map_err(|e| self.transport_failure(op, e, attempt))?;
        let status = response.status().as_u16();
        if status != 200 {
            let detail = read_error_detail(&mut response).unwrap_or_default();
            let error = token_error(format!("status {status}{}", if detail.is_empty() { "" } else { ": " }) + &detail);
            return Err(if RetryPolicy::retries_status(status) {
                Failure::Retry(error)
            } else {
                Failure::Fatal(error)
            });
        }
        let bytes = response
            .body_mut()
            .with_config()
            .limit(MAX_ERROR_BODY)
            .read_to_vec()
            .map_err(|e| self.transport_failure(op, e, attempt))?;
        let parsed: TokenResponse =
            serde_json::from_slice(&bytes).map_err(|e| token_error(format!("invalid token response: {e}")))?;
        let token = parsed
            .token
            .or(parsed.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| token_error("the response holds no `token`".into()))?;
        Ok((token, parsed.expires_in))
    }

    #[allow(clippy::too_many_arguments)]
    fn send_raw(
        &self,
        op: &Op<'_>,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        authorization: Option<&str>,
        body: &ReqBody<'_>,
        attempt: u32,
    ) -> Result<Response<Body>, Failure> {
        let mut request = Request::builder().method(method).uri(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        let protocol = |message: String| RegistryError::Protocol {
            registry: op.repo.registry.clone(),
            repo: op.repo.name.clone(),
            operation: op.name,
            message,
        };
        let result = match body {
            ReqBody::Empty => {
                let request = request.body(()).map_err(|e| protocol(format!("invalid request: {e}")))?;
                self.agent.run(request)
            }
            ReqBody::Bytes(bytes) => {
                let request = request.body(*bytes).map_err(|e| protocol(format!("invalid request: {e}")))?;
                self.agent.run(request)
            }
            ReqBody::File { path, size, progress } => {
                let file = std::fs::File::open(path).map_err(RegistryError::io("open blob", *path))?;
                let mut reader = ProgressReader { inner: file.take(*size), progress: *progress };
                let request = request
                    .header("content-length", size.to_string())
                    .body(SendBody::from_reader(&mut reader))
                    .map_err(|e| protocol(format!("invalid request: {e}")))?;
                self.agent.run(request)
            }
        };
        result.map_err(|e| self.transport_failure(op, e, attempt))
    }

    /// A transport error as a failure: retryable unless it is about TLS, URLs or configuration.
    pub(crate) fn transport_failure(&self, op: &Op<'_>, e: ureq::Error, attempts: u32) -> Failure {
        let retry = matches!(
            e,
            ureq::Error::Io(_)
                | ureq::Error::Timeout(_)
                | ureq::Error::ConnectionFailed
                | ureq::Error::HostNotFound
                | ureq::Error::Protocol(_)
        );
        let error = RegistryError::Transport {
            registry: op.repo.registry.clone(),
            repo: op.repo.name.clone(),
            operation: op.name,
            attempts,
            error: e.into_io(),
        };
        if retry { Failure::Retry(error) } else { Failure::Fatal(error) }
    }

    /// A status the operation did not expect as a failure: 401/403 are auth errors, 5xx, 408
    /// and 429 are retried, the rest fail at once.
    pub(crate) fn status_failure(&self, op: &Op<'_>, sent: Sent, attempts: u32) -> Failure {
        let Sent { mut response, authenticated } = sent;
        let status = response.status().as_u16();
        let detail = read_error_detail(&mut response);
        let (registry, repo) = (op.repo.registry.clone(), op.repo.name.clone());
        match status {
            401 | 403 => Failure::Fatal(RegistryError::Unauthorized {
                registry,
                repo,
                operation: op.name,
                status,
                authenticated,
                detail,
            }),
            s => {
                let error = RegistryError::Status { registry, repo, operation: op.name, status, detail, attempts };
                if RetryPolicy::retries_status(s) { Failure::Retry(error) } else { Failure::Fatal(error) }
            }
        }
    }

    pub(crate) fn protocol_error(&self, op: &Op<'_>, message: impl Into<String>) -> RegistryError {
        RegistryError::Protocol {
            registry: op.repo.registry.clone(),
            repo: op.repo.name.clone(),
            operation: op.name,
            message: message.into(),
        }
    }
}

/// `errors[0]` of a distribution error body as `CODE: message`, or the body's first line.
fn read_error_detail(response: &mut Response<Body>) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        errors: Vec<ErrorItem>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorItem {
        code: Option<String>,
        message: Option<String>,
    }
    let bytes = response.body_mut().with_config().limit(MAX_ERROR_BODY).read_to_vec().ok()?;
    if let Ok(envelope) = serde_json::from_slice::<Envelope>(&bytes)
        && let Some(first) = envelope.errors.first()
    {
        return Some(match (&first.code, &first.message) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.clone(),
            (None, Some(message)) => message.clone(),
            (None, None) => return None,
        });
    }
    let text = String::from_utf8_lossy(&bytes);
    let line = text.lines().next().unwrap_or("").trim();
    (!line.is_empty()).then(|| line.chars().take(200).collect())
}

/// Counts bytes read from a blob file into a reporter.
struct ProgressReader<'a, R> {
    inner: R,
    progress: Option<(&'a dyn Reporter, usize)>,
}

impl<R: Read> Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some((reporter, id)) = self.progress {
            reporter.progress(id, n as u64);
        }
        Ok(n)
    }
}

/// Whether `registry` (`host[:port]`) is a loopback host: `localhost`, `127.0.0.0/8` or `[::1]`.
pub fn is_loopback(registry: &str) -> bool {
    let host = if let Some(rest) = registry.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        registry.rsplit_once(':').map_or(registry, |(host, _)| host)
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(IpAddr::V6(ip)) => ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4: Ipv4Addr| v4.is_loopback()),
        Err(_) => false,
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_get_plain_http() {
        for host in ["127.0.0.1:5000", "127.1.2.3", "localhost:5000", "LOCALHOST", "[::1]:5000", "[::1]"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["ghcr.io", "10.0.0.1:5000", "localhost.example.org", "[::2]:5000", "128.0.0.1"] {
            assert!(!is_loopback(host), "{host}");
        }
        let client = Client::new(ClientConfig::default());
        assert_eq!(client.base_url("127.0.0.1:5000"), "http://127.0.0.1:5000");
        assert_eq!(client.base_url("ghcr.io"), "https://ghcr.io");
        let client = Client::new(ClientConfig { insecure: true, ..ClientConfig::default() });
        assert_eq!(client.base_url("registry.lan:5000"), "http://registry.lan:5000");
    }

    #[test]
    fn encodes_query_values() {
        assert_eq!(percent_encode("repository:a/b:pull,push"), "repository%3Aa%2Fb%3Apull%2Cpush");
    }
}
