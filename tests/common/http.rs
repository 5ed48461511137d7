//! A small real HTTP/1.1 file server on 127.0.0.1 for tests: GET, PUT (honouring
//! `If-None-Match: *`), DELETE, an optional bearer token for writes, and a switch that makes
//! it drop connections. Files live in memory.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

#[derive(Clone)]
pub struct FileServer {
    pub base: String,
    pub files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    pub drop_connections: Arc<AtomicBool>,
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
                let shared = shared.clone();
                let token = token.clone();
                thread::spawn(move || {
                    let _ = handle(stream, &shared, token.as_deref());
                });
            }
        });
        server
    }

    pub fn get(&self, path: &str) -> Option<Vec<u8>> {
        self.files.lock().expect("lock").get(path).cloned()
    }
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

fn handle(stream: TcpStream, server: &FileServer, token: Option<&str>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
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
    if server.drop_connections.load(Ordering::SeqCst) {
        return Ok(()); // close without answering
    }
    let authorized = token.is_none_or(|token| {
        headers
            .get("authorization")
            .is_some_and(|v| *v == format!("Bearer {token}"))
    });
    let (status, reply): (&str, Vec<u8>) = match method.as_str() {
        "GET" => match server.get(&path) {
            Some(bytes) => ("200 OK", bytes),
            None => ("404 Not Found", b"not found".to_vec()),
        },
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
    stream.flush()
}
