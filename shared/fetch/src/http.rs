//! HTTP downloads with ureq: timeouts, redirects, and retries with exponential backoff.
//!
//! Retried: connection failures, resets, timeouts, a body that breaks off mid-stream, 5xx, and
//! the two "try again later" client statuses 408 and 429. Not retried: any other 4xx, TLS and
//! URL errors, and checksum mismatches (the same bytes would come again). Each attempt starts
//! from byte 0 in a fresh temp file; there is no range resume.
//!
//! Bodies are requested with `Accept-Encoding: identity`, because the checksums are of the
//! bytes as published; a server that compresses anyway produces a checksum mismatch, not a
//! silently different file.

use std::io;
use std::path::Path;
use std::thread;
use std::time::Duration;

use tempfile::NamedTempFile;
use ureq::Agent;
use ureq::config::ConfigBuilder;
use ureq::typestate::AgentScope;

use crate::config::{FetchConfig, RetryPolicy};
use crate::error::FetchError;
use crate::reporter::Reporter;
use crate::verify::{Digests, ReceiveError, receive};

/// The result of a download that did not fail.
pub(crate) enum Fetched {
    /// The complete body, in a temp file, with its sums (not yet compared).
    File(NamedTempFile, Digests),
    /// The server says the file does not exist (404 or 410).
    Missing { status: u16, attempts: u32 },
}

/// Why one attempt failed.
enum AttemptError {
    Status(u16),
    /// Retryable when `retry` is set.
    Transport {
        error: io::Error,
        retry: bool,
    },
    Local(FetchError),
}

/// The machine's CA bundle: `SSL_CERT_FILE`, else Debian's `/etc/ssl/certs/ca-certificates.crt`;
/// `None` when neither exists or holds a certificate. Read once per process.
pub fn system_roots() -> Option<&'static ureq::tls::RootCerts> {
    static ROOTS: std::sync::OnceLock<Option<ureq::tls::RootCerts>> = std::sync::OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let path = std::env::var_os("SSL_CERT_FILE")
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "/etc/ssl/certs/ca-certificates.crt".into());
            let pem = std::fs::read(path).ok()?;
            let certs: Vec<_> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            (!certs.is_empty()).then(|| ureq::tls::RootCerts::new_with_certs(&certs))
        })
        .as_ref()
}

/// An agent configured from `cfg` (see [`agent_config`]).
pub(crate) fn agent(cfg: &FetchConfig) -> Agent {
    let user_agent = concat!("talos-ext-fetch/", env!("CARGO_PKG_VERSION"));
    Agent::new_with_config(agent_config(user_agent, cfg.connect_timeout, cfg.read_timeout).build())
}

/// The HTTP agent settings of every network client in the workspace (downloads here, the
/// registry client in `talos-ext-registry`): status codes as values rather than errors, up to
/// 10 redirects, `Accept-Encoding: identity` (content is hashed as sent), and `connect` as the
/// limit on resolving and connecting, `read` on waiting for a response and on each single read
/// or write, so a stalled transfer fails (and is retried) instead of hanging. A caller adds what
/// is its own before `build()`. TLS trusts the machine's CA bundle ([`system_roots`]) when it
/// has one, as curl, apt and the go command do, else the bundled Mozilla roots.
pub fn agent_config(user_agent: &str, connect: Duration, read: Duration) -> ConfigBuilder<AgentScope> {
    let tls = match system_roots() {
        Some(roots) => ureq::tls::TlsConfig::builder().root_certs(roots.clone()).build(),
        None => ureq::tls::TlsConfig::default(),
    };
    Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .max_redirects(10)
        .accept_encoding("identity")
        .user_agent(user_agent)
        .timeout_connect(Some(connect))
        .timeout_resolve(Some(connect))
        .timeout_recv_response(Some(read))
        .timeout_per_read(Some(read))
        .timeout_per_write(Some(read))
}

/// Downloads `url` into a temp file in `temp_dir`, retrying per `cfg.retry`.
pub(crate) fn download(
    agent: &Agent,
    cfg: &FetchConfig,
    url: &str,
    temp_dir: &Path,
    label: &str,
    reporter: &dyn Reporter,
) -> Result<Fetched, FetchError> {
    let max_attempts = cfg.retry.max_attempts.max(1);
    let mut attempt = 1;
    loop {
        let can_retry = attempt < max_attempts;
        match attempt_once(agent, url, temp_dir, label, reporter) {
            Ok((temp, digests)) => return Ok(Fetched::File(temp, digests)),
            Err(AttemptError::Status(status @ (404 | 410))) => {
                return Ok(Fetched::Missing { status, attempts: attempt });
            }
            Err(AttemptError::Status(status)) if can_retry && RetryPolicy::retries_status(status) => {}
            Err(AttemptError::Status(status)) => {
                return Err(FetchError::HttpStatus { url: url.to_string(), status, attempts: attempt });
            }
            Err(AttemptError::Transport { retry: true, .. }) if can_retry => {}
            Err(AttemptError::Transport { error, .. }) => {
                return Err(FetchError::Transport { url: url.to_string(), attempts: attempt, error });
            }
            Err(AttemptError::Local(e)) => return Err(e),
        }
        thread::sleep(cfg.retry.delay(attempt));
        attempt += 1;
    }
}

fn retryable_error(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::HostNotFound
            | ureq::Error::Protocol(_)
    )
}

fn attempt_once(
    agent: &Agent,
    url: &str,
    temp_dir: &Path,
    label: &str,
    reporter: &dyn Reporter,
) -> Result<(NamedTempFile, Digests), AttemptError> {
    let response = agent.get(url).call().map_err(|e| {
        let retry = retryable_error(&e);
        AttemptError::Transport { error: e.into_io(), retry }
    })?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(AttemptError::Status(status));
    }
    let body = response.into_body();
    let total = body.content_length();
    let mut reader = body.into_reader();
    let (temp, digests) = receive(&mut reader, temp_dir, label, total, reporter).map_err(|e| match e {
        ReceiveError::Read(error) => AttemptError::Transport { error, retry: true },
        ReceiveError::Local(e) => AttemptError::Local(e),
    })?;
    // ureq already fails a short length-delimited body; this guards the invariant regardless.
    if let Some(total) = total
        && total != digests.size
    {
        let msg = format!("body has {} bytes, Content-Length said {total}", digests.size);
        return Err(AttemptError::Transport { error: io::Error::new(io::ErrorKind::UnexpectedEof, msg), retry: true });
    }
    Ok((temp, digests))
}
