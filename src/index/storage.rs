//! Where tarballs live: inside the index repository, in a directory, on an HTTP server that
//! accepts `PUT`, or in an OCI registry. Storing is create-only: the same bytes already there
//! are a success, other bytes an error, and nothing is ever replaced (in a registry: a
//! version's tag never moves, see [`crate::oci::artifact`]). It tells the caller whether it
//! created the file, so a publish that fails later can take back only what it stored.
//! Fetching reads `file://`, `http://`, `https://`, `oci://` and index-relative paths.
//!
//! An upload token is a [`Credential`] from the user's own configuration: it names the one
//! host the token may be sent to, and an upload URL on any other host, or a redirect to one,
//! is refused before the token leaves the machine. Registry credentials are an
//! [`crate::oci::Login`], also from the user's configuration only; [`fetch`] (for `ocp index
//! verify` and `ocp index migrate`) reads the standard Docker and Helm files for it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::format::{IndexConfig, Storage};
use crate::model::Checksum;
use crate::oci;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(
        "a different tarball is already stored at `{location}` (sha256 {existing}), but the index has no entry for it"
    )]
    Conflict { location: String, existing: String },
    #[error("failed to write `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the server refused the upload to `{url}`: HTTP {status}{hint}")]
    Refused {
        url: String,
        status: u16,
        hint: &'static str,
    },
    #[error(
        "the index uploads to `{url}`, but your upload token is for `{allowed}` only, so ocp did not send it"
    )]
    WrongHost { url: String, allowed: String },
    #[error(
        "the upload to `{url}` was redirected to `{location}`, another host; ocp does not follow it with your token"
    )]
    Redirected { url: String, location: String },
    #[error("the request to `{url}` failed: {reason}")]
    Http { url: String, reason: String },
    #[error(
        "`{location}` is not a location ocp can read (use https://, http://, file:// or a path inside the index)"
    )]
    UnsupportedLocation { location: String },
    #[error("`{url}` answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error(transparent)]
    Oci(Box<oci::OciError>),
}

impl From<oci::OciError> for StorageError {
    fn from(error: oci::OciError) -> Self {
        StorageError::Oci(Box::new(error))
    }
}

impl StorageError {
    /// What the user can do about it, when the message alone does not say.
    pub fn help(&self) -> Option<String> {
        let fixed = match self {
            StorageError::Oci(error) => return error.help(),
            StorageError::WrongHost { .. } => Some(
                "if the index really moved its uploads, check that with its maintainers, then change `upload-host` under `[registries.NAME]` in `OCP_HOME/config.toml`",
            ),
            StorageError::Redirected { .. } => Some(
                "point the index's `upload` at the server that accepts the upload, or name that host as `upload-host`",
            ),
            StorageError::Conflict { .. } => Some(
                "a version's tarball never changes: publish a new version, or ask the index's maintainers about the stray file",
            ),
            _ => None,
        };
        fixed.map(str::to_owned)
    }
}

/// Whether [`store`] created the tarball or found the same bytes already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Created,
    AlreadyThere,
}

/// Where a tarball went: a path inside the index (to commit), a file, or a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredAt {
    /// Relative to the index root; the caller commits it with the entry.
    InIndex(String),
    File(PathBuf),
    Url(String),
    /// A manifest in an OCI registry, by digest.
    Oci(oci::Reference),
}

/// The user's credentials for storing tarballs: the upload token of HTTP storage, and the
/// registry login of OCI storage.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub upload: Option<Credential>,
    pub registry: oci::Login,
}

impl Credentials {
    /// The upload token and the registry login of the user's configuration: ocp's own
    /// credential first (for a registry on its `upload-host`, when it names a `username`),
    /// then Docker's and Helm's credential files, found through `env` and `home` as those
    /// tools find them.
    pub fn new(
        upload: Option<Credential>,
        env: &dyn Fn(&str) -> Option<String>,
        home: Option<&Path>,
    ) -> Credentials {
        let mut registry = oci::Login::from_files(oci::Login::standard_files(env, home));
        if let Some((host, username, token, origin)) = upload
            .as_ref()
            .and_then(|credential| credential.registry_login("ocp's `[registries.NAME]` settings"))
        {
            registry = registry.with_configured(host, username, token, origin);
        }
        Credentials { upload, registry }
    }
}

/// A bearer token for HTTP uploads and the one host it may be sent to, both resolved by the
/// caller from the user's configuration (never from the index).
#[derive(Clone)]
pub struct Credential {
    token: zeroize::Zeroizing<String>,
    host: String,
    port: Option<u16>,
    username: Option<String>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential(<hidden> for {})", self.host_text())
    }
}

impl Credential {
    /// A token for `host` (`files.example.com` or `127.0.0.1:8080`; without a port, the
    /// URL's scheme default). `None` when `host` is not a host name with an optional port.
    pub fn new(token: String, host: &str) -> Option<Credential> {
        let host = host.trim().trim_end_matches('/');
        let (name, port) = match host.rsplit_once(':') {
            Some((name, port)) if !name.contains(':') || name.starts_with('[') => {
                (name, Some(port.parse::<u16>().ok()?))
            }
            _ => (host, None),
        };
        let valid = !name.is_empty()
            && !host.contains("://")
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
        valid.then(|| Credential {
            token: zeroize::Zeroizing::new(token),
            host: name.to_ascii_lowercase(),
            port,
            username: None,
        })
    }

    /// The same token with the user name a registry knows it by (`[registries.NAME]
    /// username`).
    pub fn with_username(mut self, username: Option<String>) -> Credential {
        self.username = username.filter(|name| !name.is_empty());
        self
    }

    /// This token as the login for an OCI registry on its host, when it has a user name.
    /// `origin` says where it came from, for messages.
    pub fn registry_login(
        &self,
        origin: &str,
    ) -> Option<(oci::Registry, String, zeroize::Zeroizing<String>, String)> {
        let registry = oci::Registry::parse(&self.host_text()).ok()?;
        let username = self.username.clone()?;
        Some((
            registry,
            username.clone(),
            self.token.clone(),
            format!("the credentials of `{username}` from {origin}"),
        ))
    }

    fn host_text(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }

    /// Whether `url` is on the host this token belongs to (and on its port: the one
    /// configured, else the scheme's default).
    fn allows(&self, url: &reqwest::Url) -> bool {
        let port = self.port.or(match url.scheme() {
            "https" => Some(443),
            "http" => Some(80),
            _ => None,
        });
        url.host_str()
            .is_some_and(|host| host.eq_ignore_ascii_case(&self.host))
            && port.is_some()
            && url.port_or_known_default() == port
    }

    /// The token for a request to `url`, or an error when `url` is on another host.
    fn for_url(&self, url: &str) -> Result<&str, StorageError> {
        match reqwest::Url::parse(url) {
            Ok(parsed) if self.allows(&parsed) => Ok(self.token.as_str()),
            _ => Err(StorageError::WrongHost {
                url: url.to_owned(),
                allowed: self.host_text(),
            }),
        }
    }
}

/// Stores a version's tarball (with its minisign `signature`, which a registry keeps beside
/// it) as the index's storage says.
pub fn store(
    config: &IndexConfig,
    index_root: &Path,
    name: &str,
    version: &str,
    bytes: &[u8],
    signature: &str,
    credentials: &Credentials,
) -> Result<(StoredAt, Stored), StorageError> {
    let credential = credentials.upload.as_ref();
    match &config.storage {
        Storage::Index => {
            let relative = config.download_location(name, version);
            let outcome = store_file(&index_root.join(&relative), bytes)?;
            Ok((StoredAt::InIndex(relative), outcome))
        }
        Storage::Directory { path } => {
            let target = Path::new(path)
                .join(name)
                .join(super::format::tarball_file_name(name, version));
            let outcome = store_file(&target, bytes)?;
            Ok((StoredAt::File(target), outcome))
        }
        Storage::Http { upload } => {
            let url = super::format::expand(upload, name, version);
            let outcome = put(&url, bytes, credential)?;
            Ok((StoredAt::Url(url), outcome))
        }
        Storage::Oci { repository } => {
            let base = oci::Repository::parse(repository)?;
            let client = oci::Client::new(credentials.registry.clone())?;
            let file = super::format::tarball_file_name(name, version);
            let package = oci::artifact::Package {
                name,
                version,
                file: &file,
                tarball: bytes,
                signature,
            };
            let pushed = oci::artifact::push(&client, &base, &package)?;
            let outcome = if pushed.created {
                Stored::Created
            } else {
                Stored::AlreadyThere
            };
            Ok((StoredAt::Oci(pushed.reference), outcome))
        }
    }
}

/// Takes back a tarball that [`store`] created (after a publish that could not land). The
/// caller makes sure nobody else relies on it first.
pub fn unstore(at: &StoredAt, credentials: &Credentials) -> Result<(), StorageError> {
    let credential = credentials.upload.as_ref();
    match at {
        StoredAt::Oci(reference) => {
            let client = oci::Client::new(credentials.registry.clone())?;
            Ok(oci::artifact::remove(&client, reference)?)
        }
        StoredAt::InIndex(_) => Ok(()), // the caller resets the checkout
        StoredAt::File(path) => fs::remove_file(path).map_err(|source| StorageError::Write {
            path: path.clone(),
            source,
        }),
        StoredAt::Url(url) => {
            let client = upload_client(url)?;
            let mut request = client.delete(url);
            if let Some(credential) = credential {
                request = request.bearer_auth(credential.for_url(url)?);
            }
            let response = request.send().map_err(|error| http_error(url, &error))?;
            refuse_redirect(url, &response)?;
            if response.status().is_success() || response.status().as_u16() == 404 {
                Ok(())
            } else {
                Err(StorageError::Status {
                    url: url.clone(),
                    status: response.status().as_u16(),
                })
            }
        }
    }
}

fn store_file(path: &Path, bytes: &[u8]) -> Result<Stored, StorageError> {
    if let Some(existing) = read_if_exists(path)? {
        return same_or_conflict(&path.display().to_string(), &existing, bytes);
    }
    let directory = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(directory).map_err(|source| StorageError::Write {
        path: directory.to_path_buf(),
        source,
    })?;
    let write_error = |source| StorageError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".ocp-upload-")
        .tempfile_in(directory)
        .map_err(write_error)?;
    temp.write_all(bytes).map_err(write_error)?;
    temp.as_file().sync_all().map_err(write_error)?;
    match temp.persist_noclobber(path) {
        Ok(_) => Ok(Stored::Created),
        // Another publisher stored it between our check and our rename.
        Err(error) if error.error.kind() == std::io::ErrorKind::AlreadyExists => {
            let existing = read_if_exists(path)?.unwrap_or_default();
            same_or_conflict(&path.display().to_string(), &existing, bytes)
        }
        Err(error) => Err(write_error(error.error)),
    }
}

fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, StorageError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StorageError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn same_or_conflict(location: &str, existing: &[u8], bytes: &[u8]) -> Result<Stored, StorageError> {
    if existing == bytes {
        Ok(Stored::AlreadyThere)
    } else {
        Err(StorageError::Conflict {
            location: location.to_owned(),
            existing: Checksum::of_bytes(existing).to_hex(),
        })
    }
}

/// An HTTP client with ring as rustls's provider, timeouts, and ocp's user agent.
pub fn client(url: &str) -> Result<reqwest::blocking::Client, StorageError> {
    builder().build().map_err(|error| StorageError::Http {
        url: url.to_owned(),
        reason: error.to_string(),
    })
}

fn builder() -> reqwest::blocking::ClientBuilder {
    // The first call installs the provider; later calls find it installed, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .user_agent(concat!("ocp/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(15))
        .timeout(Duration::from_secs(300))
}

/// The client for requests that may carry a token: it follows redirects only on the same
/// scheme, host and port, and stops at any other, so the token never reaches another host.
fn upload_client(url: &str) -> Result<reqwest::blocking::Client, StorageError> {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt.previous().last().is_some_and(|previous| {
            previous.scheme() == attempt.url().scheme()
                && previous.host_str() == attempt.url().host_str()
                && previous.port_or_known_default() == attempt.url().port_or_known_default()
        });
        if !same_origin || attempt.previous().len() > 5 {
            attempt.stop()
        } else {
            attempt.follow()
        }
    });
    builder()
        .redirect(policy)
        .build()
        .map_err(|error| StorageError::Http {
            url: url.to_owned(),
            reason: error.to_string(),
        })
}

/// A redirect the upload client stopped at is an error that names where it pointed.
fn refuse_redirect(url: &str, response: &reqwest::blocking::Response) -> Result<(), StorageError> {
    if !response.status().is_redirection() {
        return Ok(());
    }
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("somewhere else")
        .to_owned();
    Err(StorageError::Redirected {
        url: url.to_owned(),
        location,
    })
}

fn http_error(url: &str, error: &reqwest::Error) -> StorageError {
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    StorageError::Http {
        url: url.to_owned(),
        reason,
    }
}

fn put(url: &str, bytes: &[u8], credential: Option<&Credential>) -> Result<Stored, StorageError> {
    // Checked before anything is sent: a token for another host means the index points
    // uploads somewhere the user did not agree to.
    let token = credential.map(|c| c.for_url(url)).transpose()?;
    // Create-only even on a server that ignores `If-None-Match`: look first.
    if let Some(existing) = get_if_exists(url)? {
        return same_or_conflict(url, &existing, bytes);
    }
    let client = upload_client(url)?;
    // `If-None-Match: *` asks the server not to replace an existing file, so two publishers
    // of one version cannot overwrite each other.
    let mut request = client
        .put(url)
        .header("If-None-Match", "*")
        .header("Content-Type", "application/gzip")
        .body(bytes.to_vec());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().map_err(|error| http_error(url, &error))?;
    refuse_redirect(url, &response)?;
    let status = response.status().as_u16();
    match status {
        200..=299 => Ok(Stored::Created),
        412 => {
            let existing = get(url)?;
            same_or_conflict(url, &existing, bytes)
        }
        401 | 403 => Err(StorageError::Refused {
            url: url.to_owned(),
            status,
            hint: " (give ocp the upload token in your own configuration: `token-env` and `upload-host` under `[registries.NAME]` in `OCP_HOME/config.toml`, or `OCP_REGISTRY_<NAME>_TOKEN`)",
        }),
        _ => Err(StorageError::Refused {
            url: url.to_owned(),
            status,
            hint: "",
        }),
    }
}

/// The object at `url` when the server has one, `None` when it answers 404 (or refuses to
/// show it without a token, in which case the upload decides).
fn get_if_exists(url: &str) -> Result<Option<Vec<u8>>, StorageError> {
    match get(url) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(StorageError::Status {
            status: 401 | 403 | 404 | 405,
            ..
        }) => Ok(None),
        Err(error) => Err(error),
    }
}

fn get(url: &str) -> Result<Vec<u8>, StorageError> {
    let client = client(url)?;
    let mut last = None;
    // Three tries, for a network that drops now and then.
    for attempt in 0..3u64 {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(200 * attempt));
        }
        match client.get(url).send() {
            Ok(response) if response.status().is_success() => {
                return response
                    .bytes()
                    .map(|b| b.to_vec())
                    .map_err(|error| http_error(url, &error));
            }
            Ok(response) if response.status().is_server_error() => {
                last = Some(StorageError::Status {
                    url: url.to_owned(),
                    status: response.status().as_u16(),
                });
            }
            Ok(response) => {
                return Err(StorageError::Status {
                    url: url.to_owned(),
                    status: response.status().as_u16(),
                });
            }
            Err(error) => last = Some(http_error(url, &error)),
        }
    }
    Err(last.unwrap_or_else(|| StorageError::Http {
        url: url.to_owned(),
        reason: "no answer".to_owned(),
    }))
}

/// A download location made concrete: a URL to GET, a file to read, or a package in an
/// OCI registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Url(String),
    File(PathBuf),
    Oci(oci::Reference),
}

/// Resolves a download location: `http(s)://` stays a URL, `oci://` becomes a registry
/// reference, `file://` and paths relative to `index_root` become files. A relative path may not leave the index (`..`, absolute).
pub fn locate(location: &str, index_root: &Path) -> Result<Source, StorageError> {
    if location.starts_with("http://") || location.starts_with("https://") {
        return Ok(Source::Url(location.to_owned()));
    }
    if location.starts_with("oci://") {
        return Ok(Source::Oci(oci::Reference::parse(location)?));
    }
    match location.strip_prefix("file://") {
        Some(path) => Ok(Source::File(PathBuf::from(path))),
        None if location.contains("://") => Err(StorageError::UnsupportedLocation {
            location: location.to_owned(),
        }),
        None => {
            let relative = Path::new(location);
            if relative.is_absolute()
                || relative
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
            {
                return Err(StorageError::UnsupportedLocation {
                    location: location.to_owned(),
                });
            }
            Ok(Source::File(index_root.join(relative)))
        }
    }
}

/// Reads a tarball from a download location: a URL, a registry reference (with the
/// credentials of the standard Docker and Helm files), or a path relative to the index root.
pub fn fetch(location: &str, index_root: &Path) -> Result<Vec<u8>, StorageError> {
    match locate(location, index_root)? {
        Source::Url(url) => get(&url),
        Source::File(path) => fs::read(&path).map_err(|source| StorageError::Read { path, source }),
        Source::Oci(reference) => {
            let client = oci::Client::new(oci::Login::from_environment())?;
            Ok(oci::artifact::pull(&client, &reference)?)
        }
    }
}

/// The digest of the manifest that the tag of `entry`'s version names now in the registry
/// its `download` points at: what `ocp index verify --fetch` compares with the digest the
/// entry records. `None` when the index does not download from a registry or the tag is gone.
pub fn oci_tag_digest(
    config: &IndexConfig,
    entry: &super::format::IndexEntry,
) -> Result<Option<oci::Digest>, StorageError> {
    let location = config.download_location(&entry.name, &entry.version);
    if !location.starts_with("oci://") {
        return Ok(None);
    }
    let tag = oci::Tag::for_version(&entry.version)?;
    let reference = oci::Reference::parse(&format!("{location}:{tag}"))?;
    let client = oci::Client::new(oci::Login::from_environment())?;
    Ok(oci::artifact::tag_digest(
        &client,
        &reference.repository,
        &tag,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(host: &str, url: &str) -> bool {
        Credential::new("t".to_owned(), host)
            .expect("a host")
            .for_url(url)
            .is_ok()
    }

    #[test]
    fn a_token_goes_to_its_host_and_port_only() {
        assert!(allows(
            "files.example.com",
            "https://files.example.com/ocp/x"
        ));
        assert!(allows(
            "FILES.example.com",
            "https://files.example.com:443/x"
        ));
        assert!(!allows(
            "files.example.com",
            "https://files.example.com:8443/x"
        ));
        assert!(!allows("files.example.com", "https://evil.example.com/x"));
        assert!(!allows(
            "files.example.com",
            "https://files.example.com.evil.test/x"
        ));
        assert!(allows("127.0.0.1:8080", "http://127.0.0.1:8080/x"));
        assert!(!allows("127.0.0.1:8080", "http://127.0.0.1:8081/x"));
        assert!(!allows("files.example.com", "file:///etc/passwd"));
        assert!(Credential::new("t".to_owned(), "https://files.example.com").is_none());
        assert!(Credential::new("t".to_owned(), "host:notaport").is_none());
    }
}
