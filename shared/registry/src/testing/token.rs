//! A loopback token server for the distribution registry's `auth: token` mode, so tests exercise
//! the real bearer flow: the registry answers 401 with `WWW-Authenticate: Bearer realm=..`, the
//! client fetches a JWT here with basic credentials, and the registry verifies its signature.
//!
//! The signing key and a self-signed certificate (the registry's `rootcertbundle`) are made with
//! the `openssl` command line tool, and each token is signed with `openssl dgst -sha256 -sign`
//! (RS256), so no crypto crate is needed. The certificate travels in the JWT header (`x5c`).
//! Every scope asked for is granted to a client with the right credentials; anonymous or wrong
//! credentials get a 401. This is test support, not an authorization server.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use talos_ext_process::Command;

use crate::Credentials;

/// The `service` the registry and the token server agree on.
pub const TOKEN_SERVICE: &str = "talos-ext-test-registry";
/// The `iss` of every token.
pub const TOKEN_ISSUER: &str = "talos-ext-test-token-server";

/// A running token server; stops on drop.
#[derive(Debug)]
pub struct TokenServer {
    addr: SocketAddr,
    cert_path: PathBuf,
    issued: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl TokenServer {
    /// Makes a key and certificate in `dir` and listens on `127.0.0.1:<free port>`.
    pub fn start(dir: &Path, credentials: Credentials) -> io::Result<TokenServer> {
        let key_path = dir.join("token-key.pem");
        let cert_path = dir.join("token-cert.pem");
        Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2"])
            .args(["-subj", "/CN=talos-ext-test-token-server", "-keyout"])
            .arg(&key_path)
            .arg("-out")
            .arg(&cert_path)
            .hint("apt-get install openssl")
            .run()
            .map_err(|e| io::Error::other(e.to_string()))?;
        // The PEM body is the base64 of the DER certificate, which is what `x5c` holds.
        let pem = std::fs::read_to_string(&cert_path)?;
        let x5c: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();

        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let issued = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let signer = Signer { key_path, x5c, credentials };
        let (issued2, refused2, stop2) = (Arc::clone(&issued), Arc::clone(&refused), Arc::clone(&stop));
        let accept = thread::Builder::new().name("token-server".into()).spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let _ = serve(stream, &signer, &issued2, &refused2);
            }
        })?;
        Ok(TokenServer { addr, cert_path, issued, refused, stop, accept: Some(accept) })
    }

    /// `http://127.0.0.1:<port>/token`.
    pub fn realm(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    /// The certificate the registry trusts.
    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    /// Tokens issued so far.
    pub fn issued(&self) -> usize {
        self.issued.load(Ordering::SeqCst)
    }

    /// Requests refused so far (bad credentials, or broken requests).
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

struct Signer {
    key_path: PathBuf,
    x5c: String,
    credentials: Credentials,
}

impl Signer {
    fn token(&self, subject: &str, scopes: &[String]) -> io::Result<String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let access: Vec<serde_json::Value> = scopes
            .iter()
            .filter_map(|scope| {
                // `repository:<name>:<actions>`; names have no `:`.
                let (kind, rest) = scope.split_once(':')?;
                let (name, actions) = rest.rsplit_once(':')?;
                Some(serde_json::json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
            })
            .collect();
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5c": [self.x5c]});
        let claims = serde_json::json!({
            "iss": TOKEN_ISSUER, "sub": subject, "aud": TOKEN_SERVICE,
            "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("{now}-{}", std::process::id()),
            "access": access,
        });
        let signing_input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let output = Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(&self.key_path)
            .stdin_bytes(signing_input.as_bytes())
            .output()
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(output.stdout)))
    }
}

/// Answers one request, counting it as issued or refused *before* answering, so a client that
/// has its answer also sees the count.
fn serve(mut stream: TcpStream, signer: &Signer, issued: &AtomicUsize, refused: &AtomicUsize) -> io::Result<()> {
    let result = serve_inner(&mut stream, signer, issued);
    if result.is_err() {
        refused.fetch_add(1, Ordering::SeqCst);
    }
    match result {
        Ok(()) => Ok(()),
        Err(Refusal::Unauthorized) => {
            let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"invalid or missing credentials"}]}"#;
            respond(&mut stream, "401 Unauthorized", body)
        }
        Err(Refusal::Broken(e)) => Err(e),
    }
}

enum Refusal {
    Unauthorized,
    Broken(io::Error),
}

impl From<io::Error> for Refusal {
    fn from(e: io::Error) -> Refusal {
        Refusal::Broken(e)
    }
}

fn serve_inner(stream: &mut TcpStream, signer: &Signer, issued: &AtomicUsize) -> Result<(), Refusal> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(Refusal::Broken(io::ErrorKind::UnexpectedEof.into()));
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > 64 << 10 {
            return Err(Refusal::Broken(io::Error::other("request head too large")));
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = text.split("\r\n");
    let target = lines.next().and_then(|l| l.split(' ').nth(1)).unwrap_or("").to_string();
    let authorization = lines.find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim().eq_ignore_ascii_case("authorization").then(|| value.trim().to_string())
    });
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", signer.credentials.username(), signer.credentials.password()))
    );
    if authorization.as_deref() != Some(expected.as_str()) {
        return Err(Refusal::Unauthorized);
    }
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let scopes: Vec<String> = query
        .split('&')
        .filter_map(|kv| kv.strip_prefix("scope="))
        .map(percent_decode)
        .flat_map(|s| s.split(' ').map(str::to_string).collect::<Vec<_>>())
        .collect();
    let token = signer.token(signer.credentials.username(), &scopes)?;
    let body = serde_json::json!({"token": token, "access_token": token, "expires_in": 300}).to_string();
    issued.fetch_add(1, Ordering::SeqCst);
    respond(stream, "200 OK", &body)?;
    Ok(())
}

fn respond(stream: &mut TcpStream, status: &str, body: &str) -> io::Result<()> {
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => out.push(b),
                    None => out.extend_from_slice(&bytes[i..i + 3]),
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
