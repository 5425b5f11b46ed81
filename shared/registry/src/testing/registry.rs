//! [`TestRegistry`]: Debian's `docker-registry` (distribution 2.8) on `127.0.0.1:<free port>`,
//! filesystem storage in a temporary directory, optional htpasswd (bcrypt) or token auth, log
//! captured to a file, killed and reaped on drop (also when the test panics).
//!
//! The free port comes from binding port 0 and releasing it; if the registry then fails to bind
//! (another process took the port meanwhile) it is started again on a new port. Readiness is a
//! real `GET /v2/` answered with any HTTP status. The process runs through the workspace's runner
//! (`talos_ext_process`) with its clean environment, so stray `REGISTRY_*` variables cannot change
//! its config.

use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use talos_ext_process::{Command, Log, Spawned};

use super::token::{TOKEN_ISSUER, TOKEN_SERVICE, TokenServer};
use crate::{ClientConfig, CredentialStore, Credentials, Digest, Reference, Repository, RetryPolicy};

/// The registry binary to run; default `docker-registry` from `PATH`.
pub const ENV_REGISTRY_BIN: &str = "TALOS_EXT_TEST_REGISTRY_BIN";
const DEFAULT_BIN: &str = "docker-registry";
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// How the test registry authenticates clients.
#[derive(Debug, Clone, Default)]
pub enum TestAuth {
    /// Anonymous pull and push.
    #[default]
    None,
    /// `auth: htpasswd` with this one user (bcrypt).
    Basic(Credentials),
    /// `auth: token` with a loopback [`TokenServer`] that knows this one user.
    Token(Credentials),
}

/// A running registry; killed on drop.
#[derive(Debug)]
pub struct TestRegistry {
    // Killed and reaped when dropped, before the directory goes.
    _child: Spawned,
    addr: SocketAddr,
    log_path: PathBuf,
    storage: PathBuf,
    credentials: Option<Credentials>,
    token: Option<TokenServer>,
    // Last: removed after the process is gone.
    dir: tempfile::TempDir,
}

impl TestRegistry {
    /// An anonymous registry.
    pub fn start() -> io::Result<TestRegistry> {
        TestRegistry::start_with(TestAuth::None)
    }

    /// A registry with the given auth.
    pub fn start_with(auth: TestAuth) -> io::Result<TestRegistry> {
        let dir = tempfile::Builder::new().prefix("talos-ext-test-registry-").tempdir()?;
        let storage = dir.path().join("data");
        fs::create_dir_all(&storage)?;
        let (auth_yaml, credentials, token) = match &auth {
            TestAuth::None => (String::new(), None, None),
            TestAuth::Basic(c) => {
                let hash = bcrypt::hash(c.password(), 4).map_err(|e| io::Error::other(format!("bcrypt: {e}")))?;
                let htpasswd = dir.path().join("htpasswd");
                fs::write(&htpasswd, format!("{}:{hash}\n", c.username()))?;
                let yaml = format!(
                    "auth:\n  htpasswd:\n    realm: talos-ext-test\n    path: {}\n",
                    yaml_str(&htpasswd.display().to_string())
                );
                (yaml, Some(c.clone()), None)
            }
            TestAuth::Token(c) => {
                let server = TokenServer::start(dir.path(), c.clone())?;
                let yaml = format!(
                    "auth:\n  token:\n    realm: {}\n    service: {TOKEN_SERVICE}\n    issuer: {TOKEN_ISSUER}\n    rootcertbundle: {}\n",
                    yaml_str(&server.realm()),
                    yaml_str(&server.cert_path().display().to_string())
                );
                (yaml, Some(c.clone()), Some(server))
            }
        };
        let log_path = dir.path().join("registry.log");
        let mut last_error = None;
        for _ in 0..5 {
            let addr = free_port()?;
            let config = dir.path().join("config.yml");
            fs::write(&config, config_yaml(addr, &storage, &auth_yaml))?;
            let child = spawn(&config, &log_path)?;
            match wait_ready(&child, addr) {
                Ok(()) => {
                    return Ok(TestRegistry { _child: child, addr, log_path, storage, credentials, token, dir });
                }
                Err(e) => {
                    drop(child);
                    let log = fs::read_to_string(&log_path).unwrap_or_default();
                    if !log.contains("address already in use") {
                        return Err(io::Error::new(e.kind(), format!("{e}; registry log:\n{log}")));
                    }
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("no free port")))
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `<host>/<name>`.
    pub fn repository(&self, name: &str) -> Repository {
        Repository { registry: self.host(), name: name.into() }
    }

    /// `<host>/<name_and_tag>`, e.g. `reference("ext/hello:v1")`.
    pub fn reference(&self, name_and_tag: &str) -> Reference {
        format!("{}/{name_and_tag}", self.host())
            .parse()
            .unwrap_or_else(|e| panic!("bad test reference `{name_and_tag}`: {e}"))
    }

    /// The user the registry knows, for basic or token auth.
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// The token server, for token auth.
    pub fn token_server(&self) -> Option<&TokenServer> {
        self.token.as_ref()
    }

    /// A client config for this registry: its credentials (if any) and fast retries.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig {
            credentials: self.credentials.clone().map(CredentialStore::with_credentials).unwrap_or_default(),
            retry: fast_retry(),
            ..ClientConfig::default()
        }
    }

    /// The storage root (`rootdirectory`).
    pub fn storage_dir(&self) -> &Path {
        &self.storage
    }

    /// Where the registry keeps a blob's bytes (filesystem driver layout).
    pub fn blob_data_path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex().as_str();
        self.storage.join("docker/registry/v2/blobs/sha256").join(&hex[..2]).join(hex).join("data")
    }

    /// The scratch directory holding config, log and storage.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The registry's log so far (app log and access log).
    pub fn log(&self) -> String {
        fs::read(&self.log_path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
    }

    /// Requests in the access log (`"METHOD /path HTTP/1.1" status`) whose method is `method`
    /// (any if `None`) and whose target contains `path_contains`. The registry writes the line
    /// after the response, so a caller that just got its answer may have to wait a moment.
    pub fn count_requests(&self, method: Option<&str>, path_contains: &str) -> usize {
        self.log()
            .lines()
            .filter_map(access_log_request)
            .filter(|(m, p)| method.is_none_or(|want| want == *m) && p.contains(path_contains))
            .count()
    }

    /// Waits (up to [`READY_TIMEOUT`]) until the access log holds at least `n` requests that
    /// [`TestRegistry::count_requests`] counts: the registry logs a request just after answering
    /// it, so a client's last request may not be in the log yet when the client returns.
    pub fn wait_for_requests(&self, method: Option<&str>, path_contains: &str, n: usize) {
        let deadline = Instant::now() + READY_TIMEOUT;
        while self.count_requests(method, path_contains) < n {
            assert!(
                Instant::now() < deadline,
                "the registry logged {} of {n} `{} {path_contains}` requests in {READY_TIMEOUT:?}",
                self.count_requests(method, path_contains),
                method.unwrap_or("*")
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Short backoff for tests: 5 attempts, 10 ms doubling to 200 ms.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy { max_attempts: 5, initial_delay: Duration::from_millis(10), max_delay: Duration::from_millis(200) }
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.local_addr()
}

fn wait_ready(child: &Spawned, addr: SocketAddr) -> io::Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if !child.is_running() {
            return Err(io::Error::other("docker-registry exited at start"));
        }
        if probe(addr).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "docker-registry did not answer /v2/ in time"));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

fn config_yaml(addr: SocketAddr, storage: &Path, auth: &str) -> String {
    format!(
        "version: 0.1\n\
         log:\n  level: info\n  fields:\n    service: registry\n\
         storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false\n\
         http:\n  addr: {addr}\n  headers:\n    X-Content-Type-Options: [nosniff]\n\
         health:\n  storagedriver:\n    enabled: false\n\
         {auth}",
        yaml_str(&storage.display().to_string())
    )
}

/// Starts the registry in the background, its output appended to `log_path`.
fn spawn(config: &Path, log_path: &Path) -> io::Result<Spawned> {
    let bin = std::env::var(ENV_REGISTRY_BIN).unwrap_or_else(|_| DEFAULT_BIN.into());
    Command::new(&bin)
        .arg("serve")
        .arg(config)
        .log(Log::File(log_path.to_path_buf()))
        .hint("apt-get install docker-registry")
        .spawn()
        .map_err(|e| io::Error::other(e.to_string()))
}

/// `GET /v2/` over a raw socket; any HTTP status line means the registry is up.
fn probe(addr: SocketAddr) -> io::Result<()> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(b"GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    if head.starts_with(b"HTTP/1.") { Ok(()) } else { Err(io::Error::other("not an HTTP answer")) }
}

/// Method and target of an access-log line: `... "PUT /v2/a/manifests/v1 HTTP/1.1" 201 ...`.
fn access_log_request(line: &str) -> Option<(&str, &str)> {
    let start = line.find('"')? + 1;
    let rest = &line[start..];
    let end = rest.find('"')?;
    let mut parts = rest[..end].split(' ');
    let method = parts.next()?;
    let target = parts.next()?;
    let protocol = parts.next()?;
    protocol.starts_with("HTTP/").then_some((method, target))
}
