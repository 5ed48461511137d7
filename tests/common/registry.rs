//! A real OCI registry for tests: Debian's `docker-registry` (the CNCF `distribution`
//! registry 2.8) started on 127.0.0.1 with a temporary config and storage folder, no system
//! service. It runs without authentication, with htpasswd (basic auth), or with token
//! authentication whose token service runs here: it checks a user name and password and
//! signs JWTs (RS256, with `openssl`) that the registry verifies against a certificate made
//! for the test.
//!
//! Also a tiny plain-HTTP client for the tests' own requests to the registry (moving a tag,
//! reading a manifest), and where the registry keeps a blob on disk (to tamper with it).
//! A test fails with a message saying what to install when `docker-registry`, `htpasswd`
//! or `openssl` is missing; none of these tests passes without the real registry.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How the registry checks who is asking.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    /// htpasswd: the registry answers `WWW-Authenticate: Basic`.
    Htpasswd {
        user: String,
        password: String,
    },
    /// Token auth: the registry answers `WWW-Authenticate: Bearer realm=...`, and the token
    /// service here gives tokens to this user.
    Token {
        user: String,
        password: String,
    },
}

/// A running registry; stopped when dropped.
pub struct Registry {
    /// `127.0.0.1:<port>`.
    pub host: String,
    pub dir: tempfile::TempDir,
    child: Child,
    /// `Authorization` headers the token service received (`-` for none), in order.
    pub token_requests: Arc<Mutex<Vec<String>>>,
}

fn missing(tool: &str, package: &str) -> ! {
    panic!(
        "the OCI registry tests need `{tool}`: install it with `apt-get install -y {package}` (`.ci/run` does)"
    )
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

impl Registry {
    /// Starts a registry that allows deleting manifests.
    pub fn start(auth: Auth) -> Registry {
        Registry::start_with(auth, true)
    }

    /// Starts a registry; `delete` says whether it allows deleting manifests.
    pub fn start_with(auth: Auth, delete: bool) -> Registry {
        if !have("docker-registry") {
            missing("docker-registry", "docker-registry");
        }
        let dir = tempfile::Builder::new()
            .prefix("ocp-registry-")
            .tempdir()
            .expect("a temporary directory");
        let token_requests = Arc::new(Mutex::new(Vec::new()));
        let auth_section = match &auth {
            Auth::None => String::new(),
            Auth::Htpasswd { user, password } => {
                let output = Command::new("htpasswd")
                    .args(["-Bbn", user, password])
                    .output()
                    .unwrap_or_else(|_| missing("htpasswd", "apache2-utils"));
                assert!(output.status.success(), "htpasswd failed");
                std::fs::write(dir.path().join("htpasswd"), &output.stdout).expect("write");
                format!(
                    "auth:\n  htpasswd:\n    realm: ocp-test\n    path: {}\n",
                    dir.path().join("htpasswd").display()
                )
            }
            Auth::Token { user, password } => {
                let realm = start_token_service(
                    dir.path(),
                    user.clone(),
                    password.clone(),
                    token_requests.clone(),
                );
                format!(
                    "auth:\n  token:\n    realm: {realm}\n    service: ocp-test-registry\n    issuer: ocp-test-issuer\n    rootcertbundle: {}\n",
                    dir.path().join("token.crt").display()
                )
            }
        };
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .expect("bind")
                .local_addr()
                .expect("address")
                .port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: {delete}\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: ocp-test-secret\n{auth_section}",
                    dir.path().join("data").display()
                ),
            )
            .expect("write the registry config");
            let log = std::fs::File::create(dir.path().join("registry.log")).expect("log");
            let mut child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config)
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|_| missing("docker-registry", "docker-registry"));
            let host = format!("127.0.0.1:{port}");
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(15) {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // the port was taken meanwhile: try another
                }
                if let Ok((status, _, _)) = request(&host, "GET", "/v2/", &[], &[])
                    && (status == 200 || status == 401)
                {
                    return Registry {
                        host,
                        dir,
                        child,
                        token_requests,
                    };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "docker-registry did not start: {}",
            std::fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default()
        );
    }

    /// Where the registry keeps the blob with this sha256 (hex) on disk.
    pub fn blob_path(&self, hex: &str) -> PathBuf {
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// Everything the registry stores, for asserting that nothing was pushed.
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The manifest a tag or digest names, with its sha256 computed here.
    pub fn manifest(&self, repository: &str, reference: &str) -> Option<(String, Vec<u8>)> {
        let (status, _, body) = request(
            &self.host,
            "GET",
            &format!("/v2/{repository}/manifests/{reference}"),
            &[(
                "Accept",
                "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
            )],
            &[],
        )
        .expect("GET a manifest");
        (status == 200).then(|| (format!("sha256:{}", sha256_hex(&body)), body))
    }

    /// A blob's bytes.
    pub fn blob(&self, repository: &str, digest: &str) -> Vec<u8> {
        let (status, _, body) = request(
            &self.host,
            "GET",
            &format!("/v2/{repository}/blobs/{digest}"),
            &[],
            &[],
        )
        .expect("GET a blob");
        assert_eq!(status, 200, "GET blob {digest}");
        body
    }

    /// Uploads a blob (POST, then PUT) to a registry without authentication.
    pub fn push_blob(&self, repository: &str, bytes: &[u8]) -> String {
        let digest = format!("sha256:{}", sha256_hex(bytes));
        let (status, headers, _) = request(
            &self.host,
            "POST",
            &format!("/v2/{repository}/blobs/uploads/"),
            &[],
            &[],
        )
        .expect("POST an upload");
        assert_eq!(status, 202, "start an upload");
        let location = header(&headers, "location").expect("an upload location");
        let path = location
            .strip_prefix(&format!("http://{}", self.host))
            .unwrap_or(&location)
            .to_owned();
        let separator = if path.contains('?') { '&' } else { '?' };
        let (status, _, _) = request(
            &self.host,
            "PUT",
            &format!("{path}{separator}digest={digest}"),
            &[("Content-Type", "application/octet-stream")],
            bytes,
        )
        .expect("PUT a blob");
        assert_eq!(status, 201, "finish an upload");
        digest
    }

    /// Stores a manifest under a tag (what moving a tag takes).
    pub fn put_manifest(&self, repository: &str, tag: &str, manifest: &[u8]) {
        let (status, _, body) = request(
            &self.host,
            "PUT",
            &format!("/v2/{repository}/manifests/{tag}"),
            &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
            manifest,
        )
        .expect("PUT a manifest");
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    }

    /// The tags of a repository.
    pub fn tags(&self, repository: &str) -> Vec<String> {
        let (status, _, body) = request(
            &self.host,
            "GET",
            &format!("/v2/{repository}/tags/list"),
            &[],
            &[],
        )
        .expect("GET tags");
        if status != 200 {
            return Vec::new();
        }
        let value: serde_json::Value = serde_json::from_slice(&body).expect("json");
        let mut tags: Vec<String> = value["tags"]
            .as_array()
            .map(|tags| {
                tags.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        tags.sort();
        tags
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes))
}

fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.clone())
}

/// A response: its status, headers and body.
pub type Response = (u16, Vec<(String, String)>, Vec<u8>);

/// One plain HTTP/1.1 request to `host`; returns the status, headers and body.
pub fn request(
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
    let response_headers = read_headers(&mut reader)?;
    let mut body = Vec::new();
    if method != "HEAD" {
        match header(&response_headers, "content-length").and_then(|l| l.parse::<u64>().ok()) {
            Some(length) => {
                reader.take(length).read_to_end(&mut body)?;
            }
            None => {
                reader.read_to_end(&mut body)?;
            }
        }
    }
    Ok((status, response_headers, body))
}

/// Reads header lines up to the blank line that ends them.
fn read_headers(reader: &mut impl BufRead) -> std::io::Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            return Ok(headers);
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
}

/// base64url without padding, as JWTs write it.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn base64_standard_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for byte in text.bytes().filter(|b| *b != b'=') {
        let Some(value) = ALPHABET.iter().position(|a| *a == byte) else {
            continue;
        };
        buffer = (buffer << 6) | value as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// Makes a key and a self-signed certificate with `openssl`, writes the certificate where the
/// registry's config says, and serves `/token` on 127.0.0.1; returns the realm URL.
fn start_token_service(
    dir: &Path,
    user: String,
    password: String,
    requests: Arc<Mutex<Vec<String>>>,
) -> String {
    let key = dir.join("token.key");
    let certificate = dir.join("token.crt");
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=ocp-test-token-service", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&certificate)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|_| missing("openssl", "openssl"));
    assert!(status.success(), "openssl could not make a certificate");
    let der = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(&certificate)
        .output()
        .expect("openssl x509");
    assert!(der.status.success());
    let x5c = {
        // The x5c header holds standard base64 (not base64url) of the DER certificate.
        let url = base64url(&der.stdout);
        let mut standard: String = url
            .chars()
            .map(|c| match c {
                '-' => '+',
                '_' => '/',
                c => c,
            })
            .collect();
        while !standard.len().is_multiple_of(4) {
            standard.push('=');
        }
        standard
    };
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the token service");
    let realm = format!("http://{}/token", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let _ = serve_token(stream, &key, &x5c, &user, &password, &requests);
        }
    });
    realm
}

fn serve_token(
    stream: TcpStream,
    key: &Path,
    x5c: &str,
    user: &str,
    password: &str,
    requests: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let headers = read_headers(&mut reader)?;
    let authorization = header(&headers, "authorization").unwrap_or_else(|| "-".to_owned());
    let length = header(&headers, "content-length")
        .and_then(|l| l.parse::<u64>().ok())
        .unwrap_or(0);
    let mut body = Vec::new();
    reader.take(length).read_to_end(&mut body)?;
    if let Ok(mut log) = requests.lock() {
        log.push(authorization.clone());
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("");
    let query = target.split_once('?').map_or("", |(_, q)| q).to_owned();
    let pairs: Vec<(String, String)> = query
        .split('&')
        .chain(std::str::from_utf8(&body).unwrap_or("").split('&'))
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), percent_decode(v)))
        .collect();
    let credentials = authorization
        .strip_prefix("Basic ")
        .map(|encoded| String::from_utf8_lossy(&base64_standard_decode(encoded)).into_owned());
    let mut out = stream;
    if credentials.as_deref() != Some(&format!("{user}:{password}")) {
        let body =
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"wrong user name or password"}]}"#;
        return write!(
            out,
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
    let access: Vec<serde_json::Value> = pairs
        .iter()
        .filter(|(k, _)| k == "scope")
        .filter_map(|(_, scope)| {
            let mut parts = scope.splitn(3, ':');
            let kind = parts.next()?;
            let name = parts.next()?;
            let actions: Vec<&str> = parts.next()?.split(',').collect();
            Some(serde_json::json!({"type": kind, "name": name, "actions": actions}))
        })
        .collect();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [x5c]});
    let claims = serde_json::json!({
        "iss": "ocp-test-issuer",
        "sub": user,
        "aud": "ocp-test-registry",
        "exp": now + 600,
        "nbf": now - 60,
        "iat": now - 60,
        "jti": format!("{now}-{}", access.len()),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        base64url(header.to_string().as_bytes()),
        base64url(claims.to_string().as_bytes())
    );
    let mut openssl = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    openssl
        .stdin
        .take()
        .expect("stdin")
        .write_all(signing_input.as_bytes())?;
    let signature = openssl.wait_with_output()?.stdout;
    let token = format!("{signing_input}.{}", base64url(&signature));
    let body = serde_json::json!({"token": token, "expires_in": 600}).to_string();
    write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                index += 3;
            }
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
