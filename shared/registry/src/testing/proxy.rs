//! A fault-injecting loopback HTTP/1.1 proxy, thread per connection, for putting in front of a
//! [`super::TestRegistry`] (or any loopback server).
//!
//! Every request it forwards goes upstream with `Connection: close`, so one client connection
//! carries one request and "drop every Nth connection" means "drop every Nth request". Faults,
//! per [`FaultPlan`]: close a connection right after its request head arrived (the client sees
//! a reset or an empty response), answer a status (500) instead of forwarding, hold the
//! connection silently (the client times out), or flip the first body byte of a response (a
//! tampered blob). Every request is recorded in arrival order with
//! what was done to it and, when forwarded, the upstream status. The proxy does not rewrite
//! `Host` or `Location`: the registry builds upload URLs from `Host`, which already names the proxy.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Requests heads larger than this are refused.
const MAX_HEAD: usize = 64 << 10;
/// No socket waits longer than this for a byte.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Which requests a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMatch {
    /// `GET`, `PUT`, ...; `None` matches every method.
    pub method: Option<String>,
    /// A substring of the request target (path and query); `""` matches every path.
    pub path_contains: String,
}

impl RequestMatch {
    pub fn new(method: Option<&str>, path_contains: &str) -> RequestMatch {
        RequestMatch { method: method.map(str::to_string), path_contains: path_contains.into() }
    }

    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method)) && path.contains(&self.path_contains)
    }
}

/// What a [`FailRule`] does to a request instead of forwarding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status (with a distribution-style JSON error body).
    Status(u16),
    /// Close the connection without an answer.
    Drop,
    /// Say nothing for this long, then close (a client with a shorter timeout gives up first).
    Stall(Duration),
}

/// Apply `fault` to every `every_nth` request matching `on` (the Nth, 2Nth, ... of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailRule {
    pub on: RequestMatch,
    pub every_nth: usize,
    pub fault: Fault,
}

impl FailRule {
    /// Answer `status` to every `every_nth` request matching `on`.
    pub fn status(on: RequestMatch, every_nth: usize, status: u16) -> FailRule {
        FailRule { on, every_nth, fault: Fault::Status(status) }
    }
}

/// What the proxy does wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// Close every Nth connection (counted from 1 over all connections) after its request head.
    pub drop_every_nth_connection: Option<usize>,
    /// Status answers instead of forwarding; the first rule that fires wins.
    pub fail: Vec<FailRule>,
    /// Flip the first body byte of every `200` response to a matching request.
    pub tamper: Vec<RequestMatch>,
}

/// What happened to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Forwarded; the upstream status (0 if none arrived).
    Forwarded(u16),
    /// Forwarded, and the response body altered.
    Tampered(u16),
    /// The connection was closed without an answer.
    Dropped,
    /// Answered with this status by the proxy itself.
    Failed(u16),
    /// Held without an answer, then closed.
    Stalled,
}

/// One request as the proxy saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    /// The request target (path and query).
    pub path: String,
    pub action: Action,
}

#[derive(Debug, Default)]
struct Shared {
    plan: Mutex<FaultPlan>,
    connections: AtomicUsize,
    /// Per fail rule (by index in the plan), how many requests matched it.
    rule_hits: Mutex<Vec<usize>>,
    records: Mutex<Vec<RequestRecord>>,
    stop: AtomicBool,
}

/// A running proxy; stops accepting on drop.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Listens on `127.0.0.1:<free port>` and forwards to `upstream`.
    pub fn start(upstream: SocketAddr, plan: FaultPlan) -> io::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        *lock(&shared.plan) = plan;
        let accept_shared = Arc::clone(&shared);
        let accept = thread::Builder::new().name("fault-proxy".into()).spawn(move || {
            for stream in listener.incoming() {
                if accept_shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let shared = Arc::clone(&accept_shared);
                let _ = thread::Builder::new().name("fault-proxy-conn".into()).spawn(move || {
                    let _ = handle(stream, upstream, &shared);
                });
            }
        })?;
        Ok(FaultProxy { addr, shared, accept: Some(accept) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:<port>`, to use as the registry in references.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Replaces the plan (rule counters start again).
    pub fn set_plan(&self, plan: FaultPlan) {
        *lock(&self.shared.plan) = plan;
        lock(&self.shared.rule_hits).clear();
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.shared.records).clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.shared.records).clear();
    }

    /// How many requests matching `method` and `path_contains` arrived (whatever was done to them).
    pub fn count(&self, method: Option<&str>, path_contains: &str) -> usize {
        let m = RequestMatch::new(method, path_contains);
        lock(&self.shared.records).iter().filter(|r| m.matches(&r.method, &r.path)).count()
    }

    /// How many requests got a fault (dropped, failed or tampered).
    pub fn faults(&self) -> usize {
        lock(&self.shared.records).iter().filter(|r| !matches!(r.action, Action::Forwarded(_))).count()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A parsed request head, plus body bytes read past it.
struct Head {
    method: String,
    path: String,
    lines: Vec<String>,
    content_length: Option<u64>,
    rest: Vec<u8>,
}

fn read_head(stream: &mut TcpStream) -> io::Result<Option<Head>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(pos) = find(&buf, b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_HEAD {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "request head too large"));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let text = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = text.split("\r\n").map(str::to_string);
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let lines: Vec<String> = lines.collect();
    let content_length = lines.iter().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim().eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
    });
    Ok(Some(Head { method, path, lines, content_length, rest: buf[end + 4..].to_vec() }))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn record(shared: &Shared, head: &Head, action: Action) -> usize {
    let mut records = lock(&shared.records);
    records.push(RequestRecord { method: head.method.clone(), path: head.path.clone(), action });
    records.len() - 1
}

fn handle(mut client: TcpStream, upstream: SocketAddr, shared: &Shared) -> io::Result<()> {
    client.set_read_timeout(Some(IO_TIMEOUT))?;
    client.set_write_timeout(Some(IO_TIMEOUT))?;
    let Some(head) = read_head(&mut client)? else { return Ok(()) };
    let connection = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
    let plan = lock(&shared.plan).clone();

    if plan.drop_every_nth_connection.is_some_and(|n| n > 0 && connection.is_multiple_of(n)) {
        record(shared, &head, Action::Dropped);
        // Unread data makes close() send a reset, like a real connection drop.
        let _ = client.shutdown(Shutdown::Both);
        return Ok(());
    }
    let failing = {
        let mut hits = lock(&shared.rule_hits);
        hits.resize(plan.fail.len(), 0);
        let mut failing = None;
        for (i, rule) in plan.fail.iter().enumerate() {
            if rule.on.matches(&head.method, &head.path) {
                hits[i] += 1;
                if failing.is_none() && rule.every_nth > 0 && hits[i].is_multiple_of(rule.every_nth) {
                    failing = Some(rule.fault);
                }
            }
        }
        failing
    };
    match failing {
        None => {}
        Some(Fault::Drop) => {
            record(shared, &head, Action::Dropped);
            let _ = client.shutdown(Shutdown::Both);
            return Ok(());
        }
        Some(Fault::Stall(pause)) => {
            record(shared, &head, Action::Stalled);
            thread::sleep(pause);
            let _ = client.shutdown(Shutdown::Both);
            return Ok(());
        }
        Some(Fault::Status(status)) => return answer(client, shared, &head, status),
    }
    forward(client, upstream, shared, head, &plan)
}

/// Answers `status` itself, after reading the request body so the client sees the answer
/// rather than a reset.
fn answer(mut client: TcpStream, shared: &Shared, head: &Head, status: u16) -> io::Result<()> {
    record(shared, head, Action::Failed(status));
    if let Some(len) = head.content_length {
        let remaining = len.saturating_sub(head.rest.len() as u64);
        let _ = io::copy(&mut (&mut client).take(remaining), &mut io::sink());
    }
    let body = format!("{{\"errors\":[{{\"code\":\"UNKNOWN\",\"message\":\"injected {status} by the test proxy\"}}]}}");
    let response = format!(
        "HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(response.as_bytes())?;
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}

/// Forwards the request with `Connection: close` and copies the answer back.
fn forward(
    mut client: TcpStream,
    upstream: SocketAddr,
    shared: &Shared,
    head: Head,
    plan: &FaultPlan,
) -> io::Result<()> {
    let tamper = plan.tamper.iter().any(|m| m.matches(&head.method, &head.path));
    let index = record(shared, &head, Action::Forwarded(0));

    let mut server = TcpStream::connect(upstream)?;
    server.set_read_timeout(Some(IO_TIMEOUT))?;
    server.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut out = format!("{} {} HTTP/1.1\r\n", head.method, head.path);
    for line in &head.lines {
        let name = line.split(':').next().unwrap_or("").trim();
        if !name.eq_ignore_ascii_case("connection") && !name.eq_ignore_ascii_case("keep-alive") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    server.write_all(out.as_bytes())?;
    server.write_all(&head.rest)?;

    // The rest of the request body, client → server, until either side closes.
    let mut client_read = client.try_clone()?;
    let mut server_write = server.try_clone()?;
    let uploader = thread::spawn(move || {
        let _ = io::copy(&mut client_read, &mut server_write);
    });

    // The record is updated before the bytes reach the client, so a test that has its answer
    // also sees what the proxy did.
    let set_action = |action: Action| {
        if let Some(r) = lock(&shared.records).get_mut(index) {
            r.action = action;
        }
    };
    copy_response(&mut server, &mut client, tamper, set_action);
    let _ = client.shutdown(Shutdown::Both);
    let _ = server.shutdown(Shutdown::Both);
    let _ = uploader.join();
    Ok(())
}

/// Copies the response until the server closes, flipping the first body byte of a `200` if
/// `tamper`; reports the status (and the tampering) through `set_action` before forwarding.
fn copy_response(server: &mut TcpStream, client: &mut TcpStream, tamper: bool, set_action: impl Fn(Action)) {
    let mut head = Vec::new();
    let mut status = 0;
    let mut body_started = false;
    let mut tampered = false;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match server.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &mut buf[..n];
        let mut flip_at = None;
        if !body_started {
            head.extend_from_slice(chunk);
            if status == 0 {
                status = parse_status(&head).unwrap_or(0);
                if status != 0 {
                    set_action(Action::Forwarded(status));
                }
            }
            if let Some(end) = find(&head, b"\r\n\r\n") {
                body_started = true;
                let body_offset = end + 4 - (head.len() - n);
                if body_offset < n {
                    flip_at = Some(body_offset);
                }
            }
        } else if !chunk.is_empty() {
            flip_at = Some(0);
        }
        if let Some(at) = flip_at
            && tamper
            && status == 200
            && !tampered
        {
            chunk[at] ^= 0xff;
            tampered = true;
            set_action(Action::Tampered(status));
        }
        if client.write_all(chunk).is_err() {
            break;
        }
    }
}

fn parse_status(head: &[u8]) -> Option<u16> {
    let line_end = find(head, b"\r\n")?;
    let line = std::str::from_utf8(&head[..line_end]).ok()?;
    line.split(' ').nth(1)?.parse().ok()
}
