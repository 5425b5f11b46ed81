//! A tiny loopback HTTP/1.1 server on real sockets for the tests: every connection carries one
//! request, answered by a handler as a [`Reply`], then closed. It counts connections and
//! records request paths, so tests can assert exactly how often the client came.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// How the server answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// `200 OK` with this body.
    Body(Vec<u8>),
    /// `200 OK`, sending half the body, pausing, then the rest (to make transfers overlap).
    Slow(Vec<u8>, Duration),
    /// `200 OK` announcing the full `Content-Length`, but closing after half the body.
    Truncated(Vec<u8>),
    /// An empty response with this status.
    Status(u16),
    /// `302 Found` to this location.
    Redirect(String),
}

type Handler = dyn Fn(usize, &str) -> Reply + Send + Sync;

pub struct Server {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    paths: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// Starts a server; `handler(n, path)` answers the `n`-th request (from 0) for `path`.
    pub fn start(handler: impl Fn(usize, &str) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let paths = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (conns, recorded, stopping) = (connections.clone(), paths.clone(), stop.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                conns.fetch_add(1, Ordering::SeqCst);
                let (handler, recorded) = (handler.clone(), recorded.clone());
                thread::spawn(move || serve(stream, &*handler, &recorded));
            }
        });
        Server { addr, connections, paths, stop }
    }

    /// Serves `body` at every path.
    pub fn serving(body: Vec<u8>) -> Server {
        Server::start(move |_, _| Reply::Body(body.clone()))
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Accepted TCP connections so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// The paths requested so far, in order.
    pub fn paths(&self) -> Vec<String> {
        self.paths.lock().expect("paths lock").clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(mut stream: TcpStream, handler: &Handler, paths: &Mutex<Vec<String>>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let n = {
        let mut paths = paths.lock().expect("paths lock");
        paths.push(path.clone());
        paths.len() - 1
    };
    let header = |status: &str, len: usize, extra: &str| {
        format!("HTTP/1.1 {status}\r\nContent-Length: {len}\r\nConnection: close\r\n{extra}\r\n")
    };
    let _ = match handler(n, &path) {
        Reply::Body(body) => {
            stream.write_all(header("200 OK", body.len(), "").as_bytes()).and_then(|()| stream.write_all(&body))
        }
        Reply::Slow(body, pause) => {
            let (a, b) = body.split_at(body.len() / 2);
            stream.write_all(header("200 OK", body.len(), "").as_bytes()).and_then(|()| {
                stream.write_all(a)?;
                stream.flush()?;
                thread::sleep(pause);
                stream.write_all(b)
            })
        }
        Reply::Truncated(body) => stream
            .write_all(header("200 OK", body.len(), "").as_bytes())
            .and_then(|()| stream.write_all(&body[..body.len() / 2])),
        Reply::Status(code) => stream.write_all(header(&format!("{code} Status"), 0, "").as_bytes()),
        Reply::Redirect(to) => stream.write_all(header("302 Found", 0, &format!("Location: {to}\r\n")).as_bytes()),
    };
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
}
