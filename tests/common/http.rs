//! A small real HTTP/1.1 file server on 127.0.0.1 for tests: GET, PUT (honouring
//! `If-None-Match: *`), DELETE, an optional bearer token for writes, and a switch that makes
//! it drop connections. Files live in memory.
//!
//! For download tests it also logs every request, can answer the next GETs with half the
//! body before closing the connection (`truncate_next`) or with 503 (`fail_next`), can wait
//! before answering a GET (`get_delay_ms`), and records the most GETs it served at once.
//! It serves a static site too (`serve_dir`), with the media type of each file.
//!
//! For credential tests it records every `Authorization` header it receives
//! (`authorizations`) and can answer writes with a `307` redirect to another URL
//! (`redirect_writes_to`).
//!
//! For an index read over HTTP it sends each file's `ETag` (from its contents) and answers a
//! GET whose `If-None-Match` names it with `304 Not Modified`, counting 200s and 304s
//! (`ok_answers`, `not_modified`); with `keep_alive` on it keeps connections open for the
//! next GET, and it counts the connections it accepted (`connections`).

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

#[derive(Clone)]
pub struct FileServer {
    pub base: String,
    pub files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    pub drop_connections: Arc<AtomicBool>,
    /// `METHOD path` of every request, in the order they arrived.
    pub log: Arc<Mutex<Vec<String>>>,
    /// How many of the next GETs announce the whole length, send half and close.
    pub truncate_next: Arc<AtomicUsize>,
    /// How many of the next GETs answer `503 Service Unavailable`.
    pub fail_next: Arc<AtomicUsize>,
    /// How long each GET waits before answering, in milliseconds.
    pub get_delay_ms: Arc<AtomicU64>,
    in_flight: Arc<AtomicUsize>,
    /// The most GETs that were being answered at the same moment.
    pub max_in_flight: Arc<AtomicUsize>,
    /// `METHOD path: <Authorization header>` of every request that carried one.
    pub authorizations: Arc<Mutex<Vec<String>>>,
    /// When set, PUT and DELETE are answered `307 Temporary Redirect` to this base URL.
    pub redirect_writes_to: Arc<Mutex<Option<String>>>,
    /// GETs answered `200 OK` with a body.
    pub ok_answers: Arc<AtomicUsize>,
    /// GETs answered `304 Not Modified`.
    pub not_modified: Arc<AtomicUsize>,
    /// Connections accepted.
    pub connections: Arc<AtomicUsize>,
    /// Keep a connection open after a GET, for the next request (HTTP/1.1 keep-alive).
    pub keep_alive: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl FileServer {
    /// Starts the server; writes need `Authorization: Bearer <token>` when `token` is set.
    pub fn start(token: Option<&str>) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let server = FileServer {
            base,
            files: Arc::new(Mutex::new(HashMap::new())),
            drop_connections: Arc::new(AtomicBool::new(false)),
            log: Arc::new(Mutex::new(Vec::new())),
            truncate_next: Arc::new(AtomicUsize::new(0)),
            fail_next: Arc::new(AtomicUsize::new(0)),
            get_delay_ms: Arc::new(AtomicU64::new(0)),
            in_flight: Arc::new(AtomicUsize::new(0)),
            max_in_flight: Arc::new(AtomicUsize::new(0)),
            authorizations: Arc::new(Mutex::new(Vec::new())),
            redirect_writes_to: Arc::new(Mutex::new(None)),
            ok_answers: Arc::new(AtomicUsize::new(0)),
            not_modified: Arc::new(AtomicUsize::new(0)),
            connections: Arc::new(AtomicUsize::new(0)),
            keep_alive: Arc::new(AtomicBool::new(false)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let shared = server.clone();
        let token = token.map(str::to_owned);
        thread::spawn(move || {
            for stream in listener.incoming() {
                if shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                // Answers are written in several small writes: without this, each waits for
                // the client's delayed ACK (about 40 ms on Linux) on a kept-alive connection.
                let _ = stream.set_nodelay(true);
                shared.connections.fetch_add(1, Ordering::SeqCst);
                let shared = shared.clone();
                let token = token.clone();
                thread::spawn(move || {
                    let _ = serve_connection(stream, &shared, token.as_deref());
                });
            }
        });
        server
    }

    pub fn get(&self, path: &str) -> Option<Vec<u8>> {
        self.files.lock().expect("lock").get(path).cloned()
    }

    /// Serves `bytes` at `path` and returns its URL.
    pub fn put_file(&self, path: &str, bytes: &[u8]) -> String {
        self.files
            .lock()
            .expect("lock")
            .insert(path.to_owned(), bytes.to_vec());
        format!("{}{path}", self.base)
    }

    /// Serves every file below `root` at `/<relative path>` (a static site).
    pub fn serve_dir(&self, root: &std::path::Path) {
        self.serve_below(root, |_| true);
    }

    /// Serves the files below `root` for which `keep` holds (asked of folders too).
    fn serve_below(&self, root: &std::path::Path, keep: impl Fn(&std::path::Path) -> bool) {
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read a directory") {
                let path = entry.expect("a directory entry").path();
                if !keep(&path) {
                    continue;
                }
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let relative = path.strip_prefix(root).expect("below the root");
                    let bytes = std::fs::read(&path).expect("read a file");
                    self.put_file(&format!("/{}", relative.to_string_lossy()), &bytes);
                }
            }
        }
    }

    /// Serves the files of an index checkout below `root` at `/<relative path>`, leaving out
    /// `.git`: what a static server of the checkout serves.
    pub fn serve_index(&self, root: &std::path::Path) {
        self.serve_below(root, |path| {
            path.file_name().is_none_or(|name| name != ".git")
        });
    }

    /// The paths of the GETs that arrived, in order.
    pub fn gets(&self) -> Vec<String> {
        self.log
            .lock()
            .expect("lock")
            .iter()
            .filter_map(|line| line.strip_prefix("GET ").map(str::to_owned))
            .collect()
    }

    /// Forgets the requests so far (the log and the 200/304 counts).
    pub fn reset_counts(&self) {
        self.log.lock().expect("lock").clear();
        self.ok_answers.store(0, Ordering::SeqCst);
        self.not_modified.store(0, Ordering::SeqCst);
        self.connections.store(0, Ordering::SeqCst);
    }

    /// How many GET requests arrived, for any path.
    pub fn get_count(&self) -> usize {
        self.log
            .lock()
            .expect("lock")
            .iter()
            .filter(|line| line.starts_with("GET "))
            .count()
    }
}

/// The media type a browser needs for a static site's files, by extension.
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, extension)| extension) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// Takes one from `counter` when it is above zero; true when it did.
fn take_one(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl Drop for FileServer {
    fn drop(&mut self) {
        if Arc::strong_count(&self.stop) <= 2 {
            self.stop.store(true, Ordering::SeqCst);
            // Wake the accept loop so it sees the flag.
            let _ = TcpStream::connect(self.base.trim_start_matches("http://"));
        }
    }
}

/// Answers the requests of one connection: one, or with `keep_alive` every GET until the
/// client closes it.
fn serve_connection(
    stream: TcpStream,
    server: &FileServer,
    token: Option<&str>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    while handle(&mut reader, stream.try_clone()?, server, token)? {}
    Ok(())
}

/// Answers one request; true when the connection stays open for another.
fn handle(
    reader: &mut BufReader<TcpStream>,
    stream: TcpStream,
    server: &FileServer,
    token: Option<&str>,
) -> std::io::Result<bool> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line)? == 0 {
        return Ok(false);
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut stream = stream;
    server
        .log
        .lock()
        .expect("lock")
        .push(format!("{method} {path}"));
    if let Some(authorization) = headers.get("authorization") {
        server
            .authorizations
            .lock()
            .expect("lock")
            .push(format!("{method} {path}: {authorization}"));
    }
    if server.drop_connections.load(Ordering::SeqCst) {
        return Ok(false); // close without answering
    }
    let redirect = server.redirect_writes_to.lock().expect("lock").clone();
    if let Some(base) = redirect.filter(|_| method == "PUT" || method == "DELETE") {
        write!(
            stream,
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: {base}{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?;
        return Ok(false);
    }
    if method == "GET" {
        let keep = server.keep_alive.load(Ordering::SeqCst)
            && !headers
                .get("connection")
                .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        answer_get(stream, server, &path, headers.get("if-none-match"), keep)?;
        return Ok(keep);
    }
    let authorized = token.is_none_or(|token| {
        headers
            .get("authorization")
            .is_some_and(|v| *v == format!("Bearer {token}"))
    });
    let (status, reply): (&str, Vec<u8>) = match method.as_str() {
        "PUT" | "DELETE" if !authorized => ("401 Unauthorized", b"token required".to_vec()),
        "PUT" => {
            let mut files = server.files.lock().expect("lock");
            if headers.get("if-none-match").is_some_and(|v| v == "*") && files.contains_key(&path) {
                ("412 Precondition Failed", Vec::new())
            } else {
                files.insert(path, body);
                ("201 Created", Vec::new())
            }
        }
        "DELETE" => {
            server.files.lock().expect("lock").remove(&path);
            ("204 No Content", Vec::new())
        }
        _ => ("405 Method Not Allowed", Vec::new()),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.len()
    )?;
    stream.write_all(&reply)?;
    stream.flush()?;
    Ok(false)
}

/// The `ETag` of a file: a hash of its contents, quoted.
fn etag(body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("\"{}\"", &hex::encode(Sha256::digest(body))[..16])
}

fn answer_get(
    mut stream: TcpStream,
    server: &FileServer,
    path: &str,
    if_none_match: Option<&String>,
    keep_alive: bool,
) -> std::io::Result<()> {
    let connection = if keep_alive { "keep-alive" } else { "close" };
    let now = server.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    server.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let delay = server.get_delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        thread::sleep(std::time::Duration::from_millis(delay));
    }
    let result = (|| {
        if take_one(&server.fail_next) {
            return write!(
                stream,
                "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
        let Some(body) = server.get(path) else {
            return write!(
                stream,
                "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: {connection}\r\n\r\nnot found"
            );
        };
        let tag = etag(&body);
        if if_none_match == Some(&tag) {
            server.not_modified.fetch_add(1, Ordering::SeqCst);
            return write!(
                stream,
                "HTTP/1.1 304 Not Modified\r\nETag: {tag}\r\nContent-Length: 0\r\nConnection: {connection}\r\n\r\n"
            );
        }
        server.ok_answers.fetch_add(1, Ordering::SeqCst);
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: {}\r\nETag: {tag}\r\nConnection: {connection}\r\n\r\n",
            body.len(),
            content_type(path)
        )?;
        if take_one(&server.truncate_next) {
            // Half the body, then the connection closes: a download that breaks half way.
            stream.write_all(&body[..body.len() / 2])?;
            stream.flush()?;
            return stream.shutdown(std::net::Shutdown::Both);
        }
        stream.write_all(&body)?;
        stream.flush()
    })();
    server.in_flight.fetch_sub(1, Ordering::SeqCst);
    result
}
