#![allow(dead_code)]

//! A real git server over HTTP for tests: `git http-backend` (git's own smart-HTTP CGI
//! program) behind a small HTTP/1.1 server on 127.0.0.1, serving the repositories in one
//! folder. Every request must carry HTTP Basic credentials whose password is the token, as a
//! git host that takes access tokens would require; anything else gets `401`. Each request is
//! logged with whether it was let in.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use base64::Engine;

/// Requests larger than this are refused: tests push a few small commits.
const MAX_BODY: usize = 64 * 1024 * 1024;

#[derive(Clone)]
pub struct GitHttpServer {
    /// `http://127.0.0.1:PORT`; a repository `x.git` in the root is at `{base}/x.git`.
    pub base: String,
    /// `METHOD path?query -> status` of every request, in order.
    pub log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl GitHttpServer {
    /// Serves the repositories under `root`, to clients whose Basic password is `token`.
    pub fn start(root: &Path, token: &str) -> GitHttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let server = GitHttpServer {
            base: format!("http://{}", listener.local_addr().expect("address")),
            log: Arc::new(Mutex::new(Vec::new())),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let shared = server.clone();
        let root = root.to_path_buf();
        let token = token.to_owned();
        thread::spawn(move || {
            for stream in listener.incoming() {
                if shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (shared, root, token) = (shared.clone(), root.clone(), token.clone());
                thread::spawn(move || {
                    let _ = handle(stream, &shared, &root, &token);
                });
            }
        });
        server
    }

    /// The log lines so far.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().expect("lock").clone()
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        if Arc::strong_count(&self.stop) <= 2 {
            self.stop.store(true, Ordering::SeqCst);
            let _ = TcpStream::connect(self.base.trim_start_matches("http://"));
        }
    }
}

struct Request {
    method: String,
    path: String,
    query: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

fn read_request(reader: &mut impl BufRead) -> std::io::Result<Request> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let (path, query) = target
        .split_once('?')
        .map_or((target.clone(), String::new()), |(p, q)| {
            (p.to_owned(), q.to_owned())
        });
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let mut body = Vec::new();
    if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(|_| std::io::Error::other("bad chunk size"))?;
            if size == 0 {
                let mut trailer = String::new();
                reader.read_line(&mut trailer)?;
                break;
            }
            if body.len() + size > MAX_BODY {
                return Err(std::io::Error::other("request too large"));
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf)?;
        }
    } else if let Some(length) = headers.get("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| std::io::Error::other("bad content length"))?;
        if length > MAX_BODY {
            return Err(std::io::Error::other("request too large"));
        }
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(Request {
        method,
        path,
        query,
        headers,
        body,
    })
}

/// The user name when the request's Basic credentials carry `token` as the password.
fn authorized(request: &Request, token: &str) -> Option<String> {
    let encoded = request
        .headers
        .get("authorization")?
        .strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    (password == token).then(|| user.to_owned())
}

fn handle(
    stream: TcpStream,
    server: &GitHttpServer,
    root: &Path,
    token: &str,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let request = read_request(&mut reader)?;
    let mut out = stream;
    let Some(user) = authorized(&request, token) else {
        log(server, &request, "401");
        return out.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"ocp index\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    };
    let Response {
        status,
        headers,
        body,
    } = cgi(root, &request, &user)?;
    log(server, &request, &status);
    write!(out, "HTTP/1.1 {status}\r\n")?;
    for (name, value) in &headers {
        write!(out, "{name}: {value}\r\n")?;
    }
    write!(
        out,
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    out.write_all(&body)?;
    out.flush()
}

fn log(server: &GitHttpServer, request: &Request, status: &str) {
    let query = if request.query.is_empty() {
        String::new()
    } else {
        format!("?{}", request.query)
    };
    server.log.lock().expect("lock").push(format!(
        "{} {}{query} -> {}",
        request.method,
        request.path,
        status.split_whitespace().next().unwrap_or_default()
    ));
}

/// What `git http-backend` answered.
struct Response {
    status: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Runs `git http-backend` for one request.
fn cgi(root: &Path, request: &Request, user: &str) -> std::io::Result<Response> {
    let mut command = Command::new("git");
    command
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", PathBuf::from(root))
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("REQUEST_METHOD", &request.method)
        .env("PATH_INFO", &request.path)
        .env("QUERY_STRING", &request.query)
        .env("REMOTE_USER", user)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", request.body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (header, variable) in [
        ("content-type", "CONTENT_TYPE"),
        ("content-encoding", "HTTP_CONTENT_ENCODING"),
        ("git-protocol", "HTTP_GIT_PROTOCOL"),
    ] {
        if let Some(value) = request.headers.get(header) {
            command.env(variable, value);
        }
    }
    let mut child = command.spawn()?;
    let mut stdin = child.stdin.take().expect("stdin");
    let body = request.body.clone();
    let writer = thread::spawn(move || stdin.write_all(&body));
    let output = child.wait_with_output()?;
    let _ = writer.join();
    let split = output
        .stdout
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| {
            output
                .stdout
                .windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| (i, 2))
        })
        .ok_or_else(|| std::io::Error::other("git http-backend printed no headers"))?;
    let head = String::from_utf8_lossy(&output.stdout[..split.0]).into_owned();
    let mut status = "200 OK".to_owned();
    let mut headers = Vec::new();
    for line in head.lines() {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("status") {
                status = value.trim().to_owned();
            } else {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
    }
    Ok(Response {
        status,
        headers,
        body: output.stdout[split.0 + split.1..].to_vec(),
    })
}
